"""Integration test network: hosts in network namespaces around one dual-stack gateway.

Every integration test builds a fresh, private network with TestNetwork (a context manager):

    client4 (IPv4 only) ---- link 1 ----+
    client6 (IPv6 only) ---- link 2 ----+-- gw (dual-stack, forwarding OFF)
    origin4 (IPv4 only) ---- link 3 ----+
    origin6 (IPv6 only) ---- link 4 ----+

Link N uses 198.18.N.0/24 and/or 2001:2:0:N::/64 (benchmarking ranges, RFC 2544 / RFC 5180): the gateway
is .1 / ::1, the leaf is .2 / ::2. Because the gateway does not forward, leaves can only talk to each other
through a proxy running on gw, which is exactly what the streamgate tests need. Names (origin4.test, ...)
come from a per-namespace /etc/hosts (iproute2 bind-mounts /etc/netns/<ns>/hosts on `ip netns exec`).

Everything is named with a random per-run tag, so concurrent runs never collide, and torn down (processes
killed, namespaces and /etc/netns/<ns> removed) on normal exit, on exceptions, on SIGINT/SIGTERM and at
interpreter exit. A run killed with SIGKILL leaves its namespaces behind; the next TestNetwork (or
`testnet.py cleanup`) reaps them, because every run registers its owner pid in /run/sg-testnet/.

Python 3 standard library only; run with /usr/bin/python3. See docs/testing.md.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ipaddress
import os
import queue
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

PYTHON = "/usr/bin/python3"  # Debian's interpreter: it has python3-gi (the pyenv one does not)
IP = shutil.which("ip") or "/usr/sbin/ip"
HERE = Path(__file__).resolve().parent
PEERS = HERE / "peers"

NS_PREFIX = "sgt"  # namespace names: sgt<tag>-<host>
REGISTRY_DIR = Path("/run/sg-testnet")  # one file per live run: "<owner pid> <owner start time>"
NETNS_ETC = Path("/etc/netns")
_TAG_RE = re.compile(r"^" + NS_PREFIX + r"([0-9a-f]{6})-")


@dataclass(frozen=True)
class Leaf:
    name: str
    link: int  # link number N: 198.18.N.0/24, 2001:2:0:N::/64
    family: int  # 4 or 6


LEAVES: tuple[Leaf, ...] = (
    Leaf("client4", 1, 4),
    Leaf("client6", 2, 6),
    Leaf("origin4", 3, 4),
    Leaf("origin6", 4, 6),
)
GW = "gw"
HOSTS: tuple[str, ...] = (GW,) + tuple(leaf.name for leaf in LEAVES)
_LEAF = {leaf.name: leaf for leaf in LEAVES}
# gw has one address per link; the one on the first link of a family is its "primary" (gw.test) address.
_GW_PRIMARY = {4: "client4", 6: "client6"}
LEAF_IFNAME = "eth0"  # leaf side of its veth; the gw side is "to-<leaf>"


def _v4(link: int, host: int) -> str:
    return f"198.18.{link}.{host}"


def _v6(link: int, host: int) -> str:
    return f"2001:2:0:{link}::{host}"


class NetworkUnavailable(unittest.SkipTest):
    """This machine cannot build the test network (not root, no CAP_SYS_ADMIN/CAP_NET_ADMIN, no iproute2)."""


class CommandFailed(subprocess.CalledProcessError):
    """CalledProcessError whose message includes where it ran and what it printed."""

    def __init__(self, host: str, cp: subprocess.CompletedProcess):
        super().__init__(cp.returncode, cp.args, cp.stdout, cp.stderr)
        self.host = host

    def __str__(self) -> str:
        def tail(data) -> str:
            if data is None:
                return ""
            if isinstance(data, bytes):
                data = data.decode(errors="replace")
            return data[-2000:].strip()

        argv = self.cmd
        if isinstance(argv, list) and argv[:3] == [IP, "netns", "exec"]:
            argv = argv[4:]
        return (f"[{self.host}] {argv!r} exited with {self.returncode}\n"
                f"--- stdout ---\n{tail(self.stdout)}\n--- stderr ---\n{tail(self.stderr)}")


class Peer:
    """A long-running process started with TestNetwork.start_peer(); its output goes to a log file."""

    def __init__(self, net: "TestNetwork", host: str, name: str, proc: subprocess.Popen, log_path: Path):
        self.net, self.host, self.name, self.proc, self.log_path = net, host, name, proc, log_path
        self.ready_line = ""
        self._lines: "queue.Queue[str | None]" = queue.Queue()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, timeout: float = 5.0) -> int:
        return self.net.stop(self.proc, timeout=timeout)

    def __repr__(self) -> str:
        return f"Peer({self.name!r} on {self.host}, pid {self.proc.pid})"


# ---------------------------------------------------------------------------------------------------------
# Process-wide bookkeeping: live networks, signal handling, atexit.

_live: "set[TestNetwork]" = set()
_lock = threading.RLock()
_prev_handlers: dict = {}
_defer_depth = 0
_pending_signals: list = []
_HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _teardown_all() -> None:
    for net in list(_live):
        net.close()


def _on_signal(signum, frame) -> None:
    if _defer_depth > 0:
        # Setup/teardown is in flight (an `ip` child may be creating a namespace right now): finish it
        # first so the teardown sees everything, then act on the signal.
        _pending_signals.append(signum)
        return
    _deliver(signum, frame)


def _deliver(signum, frame) -> None:
    print(f"testnet: signal {signum}: tearing down {len(_live)} test network(s)", file=sys.stderr, flush=True)
    prev = _prev_handlers.get(signum, signal.SIG_DFL)  # read first: the last close() restores them
    _teardown_all()
    if callable(prev):
        prev(signum, frame)  # e.g. SIGINT's default handler raises KeyboardInterrupt
        return
    if prev == signal.SIG_IGN:
        return
    # Die of the same signal so the parent (CTest, a shell) sees what happened.
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


@contextlib.contextmanager
def _signals_deferred():
    global _defer_depth
    _defer_depth += 1
    try:
        yield
    finally:
        _defer_depth -= 1
        if _defer_depth == 0 and _pending_signals:
            signum = _pending_signals[0]
            _pending_signals.clear()
            _deliver(signum, None)


def _install_handlers() -> None:
    if _prev_handlers or threading.current_thread() is not threading.main_thread():
        return
    for sig in _HANDLED_SIGNALS:
        prev = signal.getsignal(sig)
        if prev == signal.SIG_IGN:  # e.g. SIGINT for a background job of a non-interactive shell
            continue
        _prev_handlers[sig] = prev
        signal.signal(sig, _on_signal)


def _restore_handlers() -> None:
    if not _prev_handlers or threading.current_thread() is not threading.main_thread():
        return
    for sig, prev in _prev_handlers.items():
        signal.signal(sig, prev if prev is not None else signal.SIG_DFL)
    _prev_handlers.clear()


atexit.register(_teardown_all)


# ---------------------------------------------------------------------------------------------------------
# Low-level helpers.

def _ip(*args: str, check: bool = True, input: str | None = None, timeout: float = 20.0):
    cp = subprocess.run([IP, *args], input=input, capture_output=True, text=True, timeout=timeout,
                        stdin=None if input is not None else subprocess.DEVNULL)
    if check and cp.returncode != 0:
        raise CommandFailed("root", cp)
    return cp


def _list_netns() -> list[str]:
    cp = _ip("netns", "list", check=False)
    return [line.split()[0] for line in cp.stdout.splitlines() if line.strip()]


def _netns_pids(ns: str) -> list[int]:
    cp = _ip("netns", "pids", ns, check=False)
    return [int(tok) for tok in cp.stdout.split() if tok.isdigit()]


def _proc_start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()
    return fields[19] if len(fields) > 19 else None  # field 22 of stat(5); fields[0] is field 3


def _owner_alive(tag: str) -> bool:
    try:
        pid_text, start = (REGISTRY_DIR / tag).read_text().split()
        pid = int(pid_text)
    except (OSError, ValueError):
        return False
    return _proc_start_time(pid) == start


def _kill_netns_processes(ns: str, deadline: float) -> None:
    while True:
        pids = [p for p in _netns_pids(ns) if p != os.getpid()]
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        if time.monotonic() > deadline:
            return
        time.sleep(0.05)


def _remove_tag(tag: str) -> None:
    """Deletes everything a run with this tag may have created (idempotent, ignores errors)."""
    prefix = f"{NS_PREFIX}{tag}-"
    for ns in (n for n in _list_netns() if n.startswith(prefix)):
        _kill_netns_processes(ns, time.monotonic() + 2.0)
        _ip("netns", "del", ns, check=False)
    if NETNS_ETC.is_dir():
        for d in NETNS_ETC.glob(prefix + "*"):
            shutil.rmtree(d, ignore_errors=True)
    for d in Path(tempfile.gettempdir()).glob(prefix + "*"):
        shutil.rmtree(d, ignore_errors=True)
    with contextlib.suppress(OSError):
        (REGISTRY_DIR / tag).unlink()


def reap_stale() -> list[str]:
    """Removes the leftovers of runs whose owner process is gone (e.g. killed with SIGKILL)."""
    tags: set[str] = set()
    for ns in _list_netns():
        m = _TAG_RE.match(ns)
        if m:
            tags.add(m.group(1))
    if NETNS_ETC.is_dir():
        for d in NETNS_ETC.iterdir():
            m = _TAG_RE.match(d.name)
            if m:
                tags.add(m.group(1))
    if REGISTRY_DIR.is_dir():
        tags.update(f.name for f in REGISTRY_DIR.iterdir() if re.fullmatch(r"[0-9a-f]{6}", f.name))
    stale = sorted(t for t in tags if not _owner_alive(t))
    for tag in stale:
        _remove_tag(tag)
    return stale


try:  # resolved now: no dlopen in a child forked from a threaded parent
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _prctl = None


def _set_pdeathsig() -> None:
    # Children die with the test process even when it is SIGKILLed (e.g. by a CTest timeout).
    # `ip netns exec` execs the command in place, so the setting reaches the real program.
    if _prctl is not None:
        PR_SET_PDEATHSIG = 1
        _prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)


def _is_permission_error(exc: CommandFailed) -> bool:
    text = (exc.stderr or "") if isinstance(exc.stderr, str) else ""
    return "Operation not permitted" in text or "Permission denied" in text


# ---------------------------------------------------------------------------------------------------------

_PROBE_SRC = r"""
import errno, socket, sys
host, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
try:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
except socket.gaierror:
    print("unresolved"); sys.exit(0)
fam, typ, proto, _, addr = infos[0]
try:
    s = socket.socket(fam, typ, proto)
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno))); sys.exit(0)
s.settimeout(timeout)
try:
    s.connect(addr)
    print("connected")
except socket.timeout:
    print("timeout")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
"""

REACHABLE = ("connected", "ECONNREFUSED")  # a refusal is an RST from the target: the path works


class TestNetwork:
    """The five-host test network. Use as a context manager; see the module docstring."""

    __test__ = False  # not a test class, whatever unittest/pytest discovery thinks of the name

    def __init__(self, tag: str | None = None, keep_tmp: bool | None = None):
        if tag is not None and not re.fullmatch(r"[0-9a-f]{6}", tag):
            raise ValueError("tag must be 6 lowercase hex digits")
        self._fixed_tag = tag is not None
        self.tag = tag or secrets.token_hex(3)
        self.keep_tmp = bool(os.environ.get("SG_TESTNET_KEEP")) if keep_tmp is None else keep_tmp
        self._procs: list[subprocess.Popen] = []
        self._peers: list[Peer] = []
        self._extra_names: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = []
        self._extra_hosts: dict[str, tuple[int, ...]] = {}  # add_host(): name -> address families
        self._tmpdir: Path | None = None
        self._started = False
        self._closed = False

    # ----- lifecycle -----

    def __enter__(self) -> "TestNetwork":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> "TestNetwork":
        if self._started:
            return self
        if os.geteuid() != 0:
            raise NetworkUnavailable("the integration test network needs root (network namespaces, veth)")
        if not Path(IP).exists():
            raise NetworkUnavailable("iproute2 (`ip`) is not installed")
        with _lock, _signals_deferred():
            reap_stale()
            self._claim_tag()
            self._started = True
            _live.add(self)
            _install_handlers()
            try:
                self._build()
            except CommandFailed as exc:
                self.close()
                if _is_permission_error(exc):
                    raise NetworkUnavailable(
                        "cannot build network namespaces here (needs root with CAP_SYS_ADMIN and "
                        f"CAP_NET_ADMIN): {(exc.stderr or '').strip()}") from None
                raise
            except BaseException:
                self.close()
                raise
        return self

    def _claim_tag(self) -> None:
        # The registry file is created exclusively and before any namespace, so two runs never share a
        # tag and the reaper never mistakes a run that is still being built for a dead one.
        REGISTRY_DIR.mkdir(parents=True, exist_ok=True)
        owner = f"{os.getpid()} {_proc_start_time(os.getpid())}\n"
        for _ in range(20):
            taken = any(ns.startswith(f"{NS_PREFIX}{self.tag}-") for ns in _list_netns())
            if not taken:
                try:
                    fd = os.open(REGISTRY_DIR / self.tag, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                except FileExistsError:
                    pass
                else:
                    with os.fdopen(fd, "w") as f:
                        f.write(owner)
                    return
            if self._fixed_tag:
                raise RuntimeError(f"test network tag {self.tag} is in use")
            self.tag = secrets.token_hex(3)
        raise RuntimeError("could not find a free test network tag")

    def close(self) -> None:
        """Kills the run's processes, deletes its namespaces, /etc/netns/<ns> and temp dir. Idempotent."""
        with _lock, _signals_deferred():
            if not self._started or self._closed:
                return
            self._closed = True
            self._stop_tracked(timeout=3.0)
            if self.keep_tmp and self._tmpdir is not None:
                kept = Path(tempfile.gettempdir()) / f"kept-{self._tmpdir.name}"
                with contextlib.suppress(OSError):
                    self._tmpdir.rename(kept)
                    print(f"testnet: kept temp dir {kept}", file=sys.stderr)
            _remove_tag(self.tag)
            _live.discard(self)
            if not _live:
                _restore_handlers()

    def _build(self) -> None:
        for host in HOSTS:
            _ip("netns", "add", self.ns(host))
        for host in HOSTS:
            self._write_etc(host)
        for host in HOSTS:
            self._sysctl(host, self._base_sysctls(host))
        for leaf in LEAVES:
            _ip("link", "add", "name", f"to-{leaf.name}", "netns", self.ns(GW), "type", "veth",
                "peer", "name", LEAF_IFNAME, "netns", self.ns(leaf.name))
        # The gw end of an IPv4-only link gets no IPv6 (not even link-local), like the leaf.
        self._sysctl(GW, [f"net.ipv6.conf.to-{leaf.name}.disable_ipv6=1"
                          for leaf in LEAVES if leaf.family == 4])
        gw_cmds = ["link set lo up"]
        for leaf in LEAVES:
            dev = f"to-{leaf.name}"
            if leaf.family == 4:
                gw_cmds.append(f"address add {_v4(leaf.link, 1)}/24 dev {dev}")
            else:
                gw_cmds.append(f"address add {_v6(leaf.link, 1)}/64 dev {dev} nodad")
            gw_cmds.append(f"link set {dev} up")
        self._ip_batch(GW, gw_cmds)
        for leaf in LEAVES:
            cmds = ["link set lo up"]
            if leaf.family == 4:
                cmds += [f"address add {_v4(leaf.link, 2)}/24 dev {LEAF_IFNAME}",
                         f"link set {LEAF_IFNAME} up",
                         f"route add 0.0.0.0/0 via {_v4(leaf.link, 1)}"]
            else:
                cmds += [f"address add {_v6(leaf.link, 2)}/64 dev {LEAF_IFNAME} nodad",
                         f"link set {LEAF_IFNAME} up",
                         f"route add ::/0 via {_v6(leaf.link, 1)}"]
            self._ip_batch(leaf.name, cmds)
        self._wait_links_up()

    def _wait_links_up(self, timeout: float = 10.0) -> None:
        # A veth passes traffic only once linkwatch has activated its qdisc (operstate UP), which happens
        # asynchronously, up to a second after `link set up`: packets sent before that are dropped.
        self._wait_up([(GW, f"to-{leaf.name}") for leaf in LEAVES] + [(leaf.name, LEAF_IFNAME) for leaf in LEAVES],
                      timeout)

    def _wait_up(self, pending: list[tuple[str, str]], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while pending:
            pending = [(h, dev) for h, dev in pending
                       if "state UP" not in _ip("-n", self.ns(h), "-o", "link", "show", "dev", dev).stdout]
            if not pending:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"links did not come up within {timeout}s: {pending}")
            time.sleep(0.05)

    @staticmethod
    def _base_sysctls(host: str) -> list[str]:
        keys = ["net.ipv4.ip_forward=0", "net.ipv4.conf.all.forwarding=0",
                "net.ipv4.conf.default.forwarding=0"]
        family = _LEAF[host].family if host in _LEAF else None
        if family == 4:
            keys += ["net.ipv6.conf.default.disable_ipv6=1", "net.ipv6.conf.all.disable_ipv6=1",
                     "net.ipv6.conf.lo.disable_ipv6=1"]
        else:
            keys += ["net.ipv6.conf.all.forwarding=0", "net.ipv6.conf.default.forwarding=0"]
        return keys

    def _sysctl(self, host: str, assignments: Sequence[str]) -> None:
        if assignments:
            self.run(host, ["sysctl", "-q", "-w", *assignments], timeout=20)

    def _ip_batch(self, host: str, commands: Sequence[str]) -> None:
        _ip("-n", self.ns(host), "-batch", "-", input="\n".join(commands) + "\n")

    # ----- names -----

    def _hosts_text(self, host: str) -> str:
        has6 = host == GW or (host in _LEAF and _LEAF[host].family == 6) or 6 in self._extra_hosts.get(host, ())
        lines = [f"# streamgate test network {self.tag}: /etc/hosts of {host}", "127.0.0.1\tlocalhost"]
        if has6:
            lines.append("::1\tlocalhost")
        for leaf in LEAVES:
            lines.append(f"{self.addr(leaf.name, leaf.family)}\t{self.name(leaf.name)}")
        for family in (4, 6):
            lines.append(f"{self._gw_addr_for(host, family)}\t{self.name(GW)}")
        for name, addrs, hosts in self._extra_names:
            if host in hosts:
                lines += [f"{a}\t{name}" for a in addrs]
        return "\n".join(lines) + "\n"

    def _gw_addr_for(self, host: str, family: int) -> str:
        leaf = _LEAF.get(host)
        if leaf is not None and leaf.family == family:
            return self.addr(GW, family, peer=host)
        return self.addr(GW, family)

    def _write_etc(self, host: str) -> None:
        d = NETNS_ETC / self.ns(host)
        d.mkdir(parents=True, exist_ok=True)
        # Rewritten in place (same inode): `ip netns exec` bind-mounts the file, so processes that are
        # already running see names added later.
        with open(d / "hosts", "w") as f:
            f.write(self._hosts_text(host))
        if Path("/etc/resolv.conf").exists() and not (d / "resolv.conf").exists():
            # Unknown names fail at once on the namespace's own loopback instead of timing out.
            (d / "resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")

    def add_name(self, name: str, addrs: str | Iterable[str], hosts: Iterable[str] | None = None) -> None:
        """Adds `name` -> addrs (one hosts line each, any family) to the /etc/hosts of `hosts` (default all).

        Takes effect at once, even for running processes. Example, a dual-stack name whose IPv6 address is a
        silent blackhole (Happy Eyeballs): net.blackhole("gw", "2001:2:0:99::/64");
        net.add_name("dual.test", ["2001:2:0:99::1", net.addr("origin4", 4)], hosts=["gw"]).
        """
        addr_list = (addrs,) if isinstance(addrs, str) else tuple(addrs)
        for a in addr_list:
            ipaddress.ip_address(a)  # reject typos early
        host_list = tuple(HOSTS if hosts is None else hosts)
        for h in host_list:
            self._check_host(h)
        self._extra_names.append((name, addr_list, host_list))
        for h in host_list:
            self._write_etc(h)

    def blackhole(self, host: str, cidr: str) -> None:
        """Makes traffic from `host` to `cidr` vanish silently (no ICMP, no local error), so connects hang
        until their own timeout. The prefix is routed to a neighbour that does not forward (gw routes it to
        origin4/origin6, a leaf to gw): with forwarding off, Linux drops such packets without a word."""
        net = ipaddress.ip_network(cidr, strict=False)
        if host == GW:
            via = self.addr("origin4" if net.version == 4 else "origin6", net.version)
        else:
            if _LEAF[self._checked(host)].family != net.version:
                raise ValueError(f"{host} has no IPv{net.version} at all; nothing to blackhole")
            via = self.addr(GW, net.version, peer=host)
        _ip("-n", self.ns(host), "route", "add", str(net), "via", via)

    # ----- addressing -----

    def _check_host(self, host: str) -> None:
        if host not in HOSTS and host not in self._extra_hosts:
            raise ValueError(f"unknown host {host!r}; hosts are {', '.join((*HOSTS, *self._extra_hosts))}")

    # ----- extra hosts (topologies beyond the five fixed hosts) -----

    def add_host(self, name: str, families: Sequence[int] = (4, 6), forwarding: bool = False) -> None:
        """Adds a namespace `name` to this run (torn down with it): loopback up, IPv6 off unless 6 is in
        `families`, IP forwarding on only with `forwarding` (a router). Connect it with add_link(); it can
        then be used with run(), popen(), start_peer(), ip_batch() and nft() like the fixed hosts."""
        if not re.fullmatch(r"[a-z][a-z0-9]{0,9}", name) or name in HOSTS or name in self._extra_hosts:
            raise ValueError(f"bad or duplicate host name {name!r}")
        if not set(families) <= {4, 6} or not families:
            raise ValueError("families must be a non-empty subset of (4, 6)")
        with _lock, _signals_deferred():
            self._extra_hosts[name] = tuple(families)
            _ip("netns", "add", self.ns(name))
            self._write_etc(name)
            on = "1" if forwarding else "0"
            keys = [f"net.ipv4.ip_forward={on}", f"net.ipv4.conf.all.forwarding={on}"]
            if 6 in families:
                keys += [f"net.ipv6.conf.all.forwarding={on}", f"net.ipv6.conf.default.forwarding={on}",
                         "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"]
            else:
                keys += ["net.ipv6.conf.default.disable_ipv6=1", "net.ipv6.conf.all.disable_ipv6=1",
                         "net.ipv6.conf.lo.disable_ipv6=1"]
            self._sysctl(name, keys)
            self.ip_batch(name, ["link set lo up"])

    def add_link(self, host_a: str, dev_a: str, host_b: str, dev_b: str) -> None:
        """A veth pair between two hosts (fixed or added), both ends up and passing traffic on return.
        Addresses and routes are the caller's: ip_batch(host, ["address add ... dev DEV", ...])."""
        self._check_host(host_a)
        self._check_host(host_b)
        _ip("link", "add", "name", dev_a, "netns", self.ns(host_a), "type", "veth",
            "peer", "name", dev_b, "netns", self.ns(host_b))
        self.ip_batch(host_a, [f"link set {dev_a} up"])
        self.ip_batch(host_b, [f"link set {dev_b} up"])
        self._wait_up([(host_a, dev_a), (host_b, dev_b)])

    def ip_batch(self, host: str, commands: Sequence[str]) -> None:
        """Runs `ip` commands (without the leading `ip`) in `host`, e.g. ["address add 10.0.0.1/24 dev e0"]."""
        self._ip_batch(self._checked(host), commands)

    def nft(self, host: str, ruleset: str) -> None:
        """Loads an nftables ruleset (nft -f syntax) into `host`."""
        self.run(host, ["nft", "-f", "-"], input=ruleset, timeout=20)

    def _checked(self, host: str) -> str:
        self._check_host(host)
        return host

    def ns(self, host: str) -> str:
        """The network namespace name of `host` (for `ip netns exec`, `ip -n`)."""
        self._check_host(host)
        return f"{NS_PREFIX}{self.tag}-{host}"

    def name(self, host: str) -> str:
        """The DNS-style name of `host`, resolvable inside every namespace (e.g. origin4.test)."""
        self._check_host(host)
        return f"{host}.test"

    def addr(self, host: str, family: int, peer: str | None = None) -> str:
        """The IPv`family` address of `host`. gw has one per link: `peer` picks the link to that leaf;
        without it you get gw's primary address (on the client4 link for IPv4, client6 link for IPv6)."""
        self._check_host(host)
        if family not in (4, 6):
            raise ValueError("family must be 4 or 6")
        if host == GW:
            if peer is not None and peer not in _LEAF:
                raise ValueError(f"peer must be a leaf ({', '.join(_LEAF)}), not {peer!r}")
            leaf = _LEAF[peer] if peer is not None else _LEAF[_GW_PRIMARY[family]]
            if leaf.family != family:
                raise ValueError(f"the gw link to {leaf.name} has no IPv{family}")
            return _v4(leaf.link, 1) if family == 4 else _v6(leaf.link, 1)
        if peer is not None:
            raise ValueError("peer only applies to gw")
        leaf = _LEAF[host]
        if leaf.family != family:
            raise ValueError(f"{host} is IPv{leaf.family}-only")
        return _v4(leaf.link, 2) if family == 4 else _v6(leaf.link, 2)

    def url_host(self, host: str, family: int, peer: str | None = None) -> str:
        """addr() in URL form: IPv6 literals in brackets."""
        a = self.addr(host, family, peer)
        return f"[{a}]" if family == 6 else a

    # ----- processes -----

    def _wrap(self, host: str, argv: Sequence[str]) -> list[str]:
        if isinstance(argv, (str, bytes)):
            raise TypeError("argv must be a sequence of arguments, not a string")
        if not self._started or self._closed:
            raise RuntimeError("the test network is not running")
        return [IP, "netns", "exec", self.ns(host), *[os.fspath(a) for a in argv]]

    def run(self, host: str, argv: Sequence[str], timeout: float = 30.0, check: bool = True,
            **kw) -> subprocess.CompletedProcess:
        """Runs argv inside `host` and waits. Output is captured as text unless you pass stdout/stderr/text.
        Raises CommandFailed (a CalledProcessError with the output in its message) when check and rc != 0,
        subprocess.TimeoutExpired (after killing it) when it takes longer than `timeout` seconds."""
        if "stdout" not in kw and "stderr" not in kw and "capture_output" not in kw:
            kw["capture_output"] = True
        kw.setdefault("text", True)
        if "input" not in kw:
            kw.setdefault("stdin", subprocess.DEVNULL)
        cp = subprocess.run(self._wrap(host, argv), timeout=timeout, **kw)
        if check and cp.returncode != 0:
            raise CommandFailed(host, cp)
        return cp

    def popen(self, host: str, argv: Sequence[str], **kw) -> subprocess.Popen:
        """Starts argv inside `host` without waiting; the process is tracked and killed at teardown.
        It runs in its own session (so its whole process group can be signalled) and is SIGKILLed if the
        test process dies. Keyword arguments go to subprocess.Popen (stdin defaults to /dev/null)."""
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("start_new_session", True)
        user_preexec = kw.pop("preexec_fn", None)
        main_thread = threading.current_thread() is threading.main_thread()

        def preexec() -> None:
            if main_thread:  # PDEATHSIG follows the forking *thread*; only safe from the main one
                _set_pdeathsig()
            if user_preexec is not None:
                user_preexec()

        proc = subprocess.Popen(self._wrap(host, argv), preexec_fn=preexec, **kw)
        self._procs.append(proc)
        return proc

    def start_peer(self, host: str, argv: Sequence[str], name: str | None = None, ready: str | None = "READY",
                   timeout: float = 15.0, env: Mapping[str, str] | None = None) -> Peer:
        """Starts a long-running peer and waits until it prints a line starting with `ready` (None: don't
        wait). stdout and stderr go to <tmpdir>/logs/<name>.log. Raises RuntimeError with the log if the
        peer exits or stays silent for `timeout` seconds."""
        name = name or Path(os.fspath(argv[0])).name
        logs = self.tmpdir / "logs"
        logs.mkdir(exist_ok=True)
        log_path = logs / f"{name}.log"
        n = 1
        while log_path.exists():
            n += 1
            log_path = logs / f"{name}-{n}.log"
        with open(log_path, "ab") as err:
            proc = self.popen(host, argv, stdout=subprocess.PIPE, stderr=err, env=env)
        peer = Peer(self, host, name, proc, log_path)
        self._peers.append(peer)

        def drain() -> None:
            with open(log_path, "ab", buffering=0) as log:
                for raw in iter(proc.stdout.readline, b""):
                    log.write(raw)
                    peer._lines.put(raw.decode(errors="replace").rstrip("\r\n"))
            peer._lines.put(None)

        threading.Thread(target=drain, name=f"drain-{name}", daemon=True).start()
        if ready is None:
            return peer
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.stop(proc)
                raise RuntimeError(f"{name} on {host} did not print {ready!r} within {timeout}s; "
                                   f"log:\n{peer.log_text()}")
            try:
                line = peer._lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if line is None:
                rc = proc.wait(timeout=5)
                raise RuntimeError(f"{name} on {host} exited with {rc} before {ready!r}; "
                                   f"log:\n{peer.log_text()}")
            if line.startswith(ready):
                peer.ready_line = line
                return peer

    def stop(self, proc: subprocess.Popen, timeout: float = 5.0) -> int:
        """SIGTERM to the process group, SIGKILL after `timeout` s; returns the exit status."""
        if proc.poll() is None:
            _signal_proc(proc, signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _signal_proc(proc, signal.SIGKILL)
                proc.wait()
        return proc.returncode

    def _stop_tracked(self, timeout: float) -> None:
        live = [p for p in self._procs if p.poll() is None]
        for p in live:
            _signal_proc(p, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for p in live:
            try:
                p.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_proc(p, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(timeout=2.0)
        for p in self._procs:
            for stream in (p.stdout, p.stderr, p.stdin):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()

    # ----- waiting and probing -----

    def wait_port(self, host: str, addr: str | None, port: int, proto: str = "tcp",
                  timeout: float = 10.0) -> None:
        """Polls `ss` inside `host` until a socket listens on addr:port (tcp) or is bound there (udp).
        addr None matches any local address; a wildcard listener (0.0.0.0, ::, *) matches its family."""
        if proto not in ("tcp", "udp"):
            raise ValueError("proto must be tcp or udp")
        want = ipaddress.ip_address(addr) if addr is not None else None
        deadline = time.monotonic() + timeout
        while True:
            cp = self.run(host, ["ss", "-H", "-n", "-l", "-t" if proto == "tcp" else "-u"], timeout=10)
            for line in cp.stdout.splitlines():
                cols = line.split()
                if len(cols) >= 4 and _local_matches(cols[3], want, port):
                    return
            if time.monotonic() >= deadline:
                raise TimeoutError(f"nothing listens on {addr}:{port}/{proto} in {host} after {timeout}s; "
                                   f"ss says:\n{cp.stdout}")
            time.sleep(0.1)

    def tcp_probe(self, host: str, target: str, port: int, timeout: float = 2.0) -> str:
        """Tries one TCP connect from `host` to target (name or address): returns "connected", an errno
        name ("ECONNREFUSED", "ENETUNREACH", "EHOSTUNREACH", ...), "timeout" or "unresolved".
        `result in testnet.REACHABLE` means a packet got there and back."""
        cp = self.run(host, [PYTHON, "-c", _PROBE_SRC, target, str(port), str(timeout)], timeout=timeout + 15)
        return cp.stdout.strip()

    def peer_logs(self) -> str:
        """All peers' logs, for failure messages."""
        return "\n".join(f"===== {p.name} on {p.host} (pid {p.pid}) =====\n{p.log_text()}"
                         for p in self._peers)

    def wait_until(self, predicate, what: str, timeout: float = 20.0, interval: float = 0.2):
        """Polls predicate() until it returns something truthy and returns that; on timeout raises
        AssertionError (a test failure, not an error) naming `what`, with the tail of the peers' logs."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise AssertionError(f"timed out after {timeout:g} s waiting for {what}\n{self.peer_logs()[-3000:]}")
            time.sleep(interval)

    def curl_via_socks(self, host: str, socks: str, url: str, max_time: float = 120) -> subprocess.Popen:
        """Starts curl on `host` fetching url through the SOCKS5 server at socks ("addr:port" or "[v6]:port"),
        discarding the body; stderr is piped for failure messages."""
        return self.popen(host, ["curl", "-sS", "--max-time", f"{max_time:g}", "-o", "/dev/null", "--socks5", socks,
                                 url], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    # ----- files -----

    @property
    def tmpdir(self) -> Path:
        """A private temp dir for this run (configs, logs); removed at teardown unless SG_TESTNET_KEEP=1."""
        if self._tmpdir is None:
            self._tmpdir = Path(tempfile.mkdtemp(prefix=f"{NS_PREFIX}{self.tag}-"))
        return self._tmpdir

    def write_file(self, relpath: str, content: str | bytes, mode: int | None = None) -> Path:
        """Writes content to tmpdir/relpath (creating directories) and returns the path."""
        path = self.tmpdir / relpath
        if self.tmpdir.resolve() not in path.resolve().parents:
            raise ValueError("relpath must stay inside the temp dir")
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        if mode is not None:
            path.chmod(mode)
        return path

    def make_dir(self, relpath: str, files: Mapping[str, str | bytes] | None = None) -> Path:
        """Creates tmpdir/relpath with the given {name: content} files; returns the directory."""
        d = self.tmpdir / relpath
        d.mkdir(parents=True, exist_ok=True)
        for fname, content in (files or {}).items():
            self.write_file(f"{relpath}/{fname}", content)
        return d


def _signal_proc(proc: subprocess.Popen, sig: int) -> None:
    """Signals the process group when the process leads one (popen's default), else just the process."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if proc.poll() is not None:
            return
        if os.getpgid(proc.pid) == proc.pid:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)


def _local_matches(local: str, want, port: int) -> bool:
    host, _, port_text = local.rpartition(":")
    if port_text != str(port):
        return False
    host = host.split("%", 1)[0].strip("[]")
    if want is None or host == "*":
        return True
    try:
        have = ipaddress.ip_address(host)
    except ValueError:
        return False
    if have.is_unspecified:
        return have.version == want.version or have.version == 6  # [::] usually accepts IPv4 too
    return have == want


# ---------------------------------------------------------------------------------------------------------
# Helpers for test modules.

def make_certificate(directory, name: str, addresses: list[str]) -> tuple[str, str]:
    """A self-signed P-256 certificate for these IP addresses (its own CA); returns (certificate, key)."""
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    san = ",".join(f"IP:{a}" for a in addresses)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={name}",
                    "-addext", f"subjectAltName={san}"], check=True, capture_output=True, timeout=60)
    return str(cert), str(key)


def make_test_clip(path: Path, seconds: float, fps: int = 25, size: str = "320x240", audio: bool = True,
                   gop: int | None = None) -> Path:
    """Encodes a test pattern (H.264, a key frame every `gop` frames, one second by default) with a 440 Hz AAC
    tone unless audio=False into path (an .mp4), for servers to play; returns path."""
    video = ["-f", "lavfi", "-i", f"testsrc=size={size}:rate={fps}:duration={seconds:g}"]
    tone = ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds:g}"] if audio else []
    codecs = ["-c:v", "libx264", "-preset", "ultrafast", "-g", str(gop or fps), "-pix_fmt", "yuv420p"]
    codecs += ["-c:a", "aac", "-shortest"] if audio else []
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *video, *tone, *codecs,
                    str(path)], check=True, timeout=120)
    return path


def skips_fail() -> bool:
    """True in CI (CI=true, or SG_NO_SKIP=1): there a skipped test hides a broken machine or a missing install
    step, so run.py and this module's commands fail instead of reporting "Not Run"."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes") or os.environ.get("SG_NO_SKIP") == "1"


def require_tools(*tools: str) -> None:
    """Raises unittest.SkipTest naming the tools that are missing from PATH."""
    missing = [t for t in tools if shutil.which(t) is None and not Path(t).exists()]
    if missing:
        raise unittest.SkipTest(f"missing tools: {', '.join(missing)}")


def streamgate_bin() -> str:
    """The streamgate executable under test (CTest sets STREAMGATE_BIN); SkipTest when it is not built."""
    path = os.environ.get("STREAMGATE_BIN", "")
    if not path:
        raise unittest.SkipTest("STREAMGATE_BIN is not set (run through CTest, or export it)")
    if not os.access(path, os.X_OK):
        raise unittest.SkipTest(f"STREAMGATE_BIN={path} is not an executable (build the streamgate target)")
    return path


def check_available() -> str | None:
    """None when this machine can build the network, else the reason why not."""
    try:
        with TestNetwork():
            return None
    except unittest.SkipTest as exc:
        return str(exc)


def main(argv: Sequence[str]) -> int:
    usage = "usage: testnet.py check | cleanup | shell [HOST]"
    if len(argv) < 2:
        print(usage, file=sys.stderr)
        return 2
    if argv[1] == "check":
        reason = check_available()
        print("ok" if reason is None else f"unavailable: {reason}")
        return 0 if reason is None else (1 if skips_fail() else 77)
    if argv[1] == "cleanup":
        if os.geteuid() != 0:
            print("not root: nothing to clean up")
            return 1 if skips_fail() else 77
        print("reaped:", " ".join(reap_stale()) or "nothing")
        return 0
    if argv[1] == "shell":
        # Interactive debugging: builds a network and opens a shell in one host until you exit it.
        host = argv[2] if len(argv) > 2 else GW
        with TestNetwork() as net:
            print(f"tag {net.tag}; namespaces: {', '.join(net.ns(h) for h in HOSTS)}")
            print(f"other hosts: ip netns exec {net.ns('client4')} bash ...")
            return subprocess.call(net._wrap(host, [os.environ.get("SHELL", "/bin/bash")]))
    print(usage, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
