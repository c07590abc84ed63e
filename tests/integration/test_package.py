"""The Debian package (scripts/package) installed, used and purged in a scratch root.

The package is installed with dpkg into an overlay of this machine's root in a private mount and network
namespace, so the machine itself never sees it: everything dpkg and the maintainer scripts write lands in a
tmpfs that vanishes with the namespace, even when a step fails. In there:
- `dpkg -i` installs it (the service user, the state directories, conffiles);
- `streamgate --version`, `check-config` on the shipped configs (and on a broken one, which must name each
  problem's line and fail), `systemd-analyze verify` on the units, the man pages;
- the packaged gateway, started as the service user on the shipped gateway.toml, carries curl's request
  through SOCKS5 to a local HTTP server, and `socksify` finds the preload library in /usr/lib/streamgate;
- `dpkg -P` removes every file it installed and the state, leaving nothing behind.
The package file comes from SG_PACKAGE_DEB or build/<preset>/packages/ beside STREAMGATE_BIN.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import unittest
from pathlib import Path

from testnet import PYTHON, require_tools, streamgate_bin

HERE = Path(__file__).resolve()


def find_package() -> Path:
    if os.environ.get("SG_PACKAGE_DEB"):
        return Path(os.environ["SG_PACKAGE_DEB"])
    build_dir = Path(streamgate_bin()).resolve().parents[2]  # build/<preset>/src/app/streamgate
    debs = sorted((build_dir / "packages").glob("streamgate_*.deb"))
    if not debs:
        raise unittest.SkipTest(f"no package in {build_dir / 'packages'} (run scripts/package)")
    return debs[-1]


# ---------------------------------------------------------------------------------------------------------
# Inside the namespaces (this file re-executed with --inside): each step's exit status and output, as JSON.

BROKEN_CONFIG = '[gateway]\nsocks = ["127.0.0.1:1080"]\nallow = ["300.0.0.0/8"]\n[extra]\n'


def inside(deb: str) -> int:
    base = Path("/mnt")  # exists everywhere; the tmpfs mounted on it here is seen by this namespace only
    root = base / "root"
    steps: dict[str, dict] = {}
    gateway = None
    http = None

    def sh(*args: str, check: bool = True) -> None:
        subprocess.run(args, check=check)

    def in_root(name: str, command: str, timeout: float = 60) -> dict:
        try:
            done = subprocess.run(["chroot", str(root), "/bin/sh", "-c", command], capture_output=True,
                                  text=True, timeout=timeout)
            result = {"rc": done.returncode, "out": done.stdout + done.stderr}
        except subprocess.TimeoutExpired as exc:
            result = {"rc": -1, "out": f"timed out: {exc}"}
        steps[name] = result
        return result

    try:
        sh("mount", "-t", "tmpfs", "tmpfs", str(base))
        for d in ("upper", "work", "root"):
            (base / d).mkdir()
        sh("mount", "-t", "overlay", "overlay", "-o",
           f"lowerdir=/,upperdir={base}/upper,workdir={base}/work", str(root))
        for special in ("proc", "dev"):
            sh("mount", "--bind", f"/{special}", str(root / special))
        sh("ip", "link", "set", "lo", "up")
        (root / "tmp/streamgate.deb").write_bytes(Path(deb).read_bytes())
        (root / "tmp/broken.toml").write_text(BROKEN_CONFIG)
        (root / "tmp/www").mkdir()
        (root / "tmp/www/hello.txt").write_text("hello through the packaged gateway\n")

        in_root("install", "dpkg -i /tmp/streamgate.deb")
        in_root("version", "streamgate --version")
        in_root("check_shipped", "streamgate check-config /etc/streamgate/gateway.toml /etc/streamgate/relay.toml")
        in_root("check_broken", "streamgate check-config /tmp/broken.toml")
        in_root("verify_units", "systemd-analyze verify /lib/systemd/system/streamgate-gateway.service "
                "/lib/systemd/system/streamgate-relay.service /lib/systemd/system/streamgate-turn.service "
                "/lib/systemd/system/streamgate-serve@.service")
        in_root("man", "man -w streamgate streamgate-gateway streamgate-relay streamgate-check-config")
        in_root("user", "id -un streamgate && stat -c '%U %a' /var/lib/streamgate/recordings "
                "&& stat -c '%G %a' /etc/streamgate/turn.env")
        in_root("socksify", "streamgate socksify --proxy 127.0.0.1:1080 -- /bin/sh -c 'echo \"$LD_PRELOAD\"'")

        # The packaged gateway on its shipped configuration, as the service user, with curl through it.
        http = subprocess.Popen(["chroot", str(root), PYTHON, "-m", "http.server", "--bind", "127.0.0.1",
                                 "--directory", "/tmp/www", "8080"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        gateway = subprocess.Popen(["chroot", "--userspec=streamgate:streamgate", str(root), "/usr/bin/streamgate",
                                    "gateway", "--config", "/etc/streamgate/gateway.toml"],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(100):
            probe = in_root("curl", "curl -sS --max-time 5 --socks5-hostname 127.0.0.1:1080 "
                            "http://127.0.0.1:8080/hello.txt")
            if probe["rc"] == 0:
                break
            time.sleep(0.1)
        gateway.terminate()
        steps["gateway_log"] = {"rc": gateway.wait(timeout=10), "out": gateway.stdout.read()}
        gateway = None

        in_root("purge", "dpkg -P streamgate")
        in_root("leftovers", "ls -d /usr/bin/streamgate /usr/lib/streamgate /etc/streamgate /var/lib/streamgate "
                "/lib/systemd/system/streamgate-gateway.service /usr/share/man/man1/streamgate.1.gz "
                "/usr/share/doc/streamgate 2>/dev/null; dpkg-query -W -f='${Status}' streamgate 2>&1; true")
    finally:
        for proc in (gateway, http):
            if proc is not None:
                proc.kill()
                proc.wait()
    print(json.dumps(steps))
    return 0


# ---------------------------------------------------------------------------------------------------------


class Package(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools("unshare", "chroot", "dpkg", "systemd-analyze", "curl", "man")
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root (mount namespaces, dpkg in a scratch root)")
        deb = find_package()
        done = subprocess.run(["unshare", "--mount", "--net", "--propagation", "private", PYTHON, str(HERE),
                               "--inside", str(deb)], capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise AssertionError(f"the scratch-root run failed ({done.returncode}):\n{done.stderr}")
        cls.steps = json.loads(done.stdout.strip().splitlines()[-1])

    def step(self, name: str) -> dict:
        self.assertIn(name, self.steps, f"step {name} did not run")
        return self.steps[name]

    def assert_ok(self, name: str) -> str:
        result = self.step(name)
        self.assertEqual(result["rc"], 0, f"{name} failed:\n{result['out']}")
        return result["out"]

    def test_1_installs(self):
        self.assert_ok("install")
        self.assertRegex(self.assert_ok("version"), r"^streamgate \d+\.\d+\.\d+")

    def test_2_shipped_configs_are_valid(self):
        out = self.assert_ok("check_shipped")
        self.assertIn("/etc/streamgate/gateway.toml: ok", out)
        self.assertIn("/etc/streamgate/relay.toml: ok", out)

    def test_3_a_broken_config_names_each_line(self):
        result = self.step("check_broken")
        self.assertEqual(result["rc"], 1, result["out"])
        self.assertIn("/tmp/broken.toml:3: [gateway] allow: '300.0.0.0/8'", result["out"])
        self.assertIn("/tmp/broken.toml:4: unknown section 'extra'", result["out"])

    def test_4_units_and_man_pages(self):
        self.assert_ok("verify_units")
        out = self.assert_ok("man")
        self.assertIn("streamgate-check-config.1.gz", out)

    def test_5_service_user_and_permissions(self):
        out = self.assert_ok("user").split()
        self.assertEqual(out, ["streamgate", "streamgate", "750", "streamgate", "640"])

    def test_6_packaged_gateway_carries_curl(self):
        self.assertEqual(self.step("curl")["out"], "hello through the packaged gateway\n",
                         self.step("gateway_log")["out"])
        self.assertIn("/usr/lib/streamgate/libstreamgate-socksify.so", self.assert_ok("socksify"))

    def test_7_purge_leaves_nothing(self):
        self.assert_ok("purge")
        out = self.step("leftovers")["out"]
        self.assertNotIn("/", out, f"left behind:\n{out}")
        self.assertNotIn("installed", out.replace("not-installed", ""))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--inside":
        sys.exit(inside(sys.argv[2]))
    unittest.main()
