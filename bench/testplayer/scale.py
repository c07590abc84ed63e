#!/usr/bin/python3
"""TestPlayer's own cost per player at 1,000 and 10,000 concurrent players (issue 4), against serve.

Everything runs in a private network namespace (unshare --net; root), so the host's sysctls stay untouched:
loopback, net.ipv4.ip_local_port_range 40000-65535 for the players (serve's RTP ports are 10000-39999),
net.core.somaxconn 65535. The origin is `streamgate serve --loop` with a tiny clip made by ffmpeg (128x96
H.264 at 1 frame/s, one track), cheap enough for 10,000 sessions on two shared cores: the point is what each
*player* costs, not the origin's throughput. A serve session holds its file open besides its sockets, so
10,000 sessions need more descriptors than one process may have where the hard RLIMIT_NOFILE cannot be
raised (a container without CAP_SYS_RESOURCE): --origins K serve processes share the one URL through an
nftables DNAT rule that deals the RTSP connections out in turn.

For every transport and player count: fresh origins, `streamgate testplayer -n N --ramp R --duration S`
(one process, or the fewest the hard descriptor limit allows, started together and summed), its CPU time
(user+sys) and peak RSS from wait4's rusage, the peak of concurrent sessions the origins reported on
/metrics (sampled each second), and the origins' own CPU. The peer at a small N: N `ffmpeg -c copy -f null`
processes (one process per player, no decoding, as testplayer), same clip, same duration; a thousand or ten
thousand of them do not fit on this machine.

usage: bench/testplayer/scale.py [--build-dir DIR] [--players 1000,10000] [--transports udp,tcp]
                                 [--duration S] [--ramp R] [--timeout S] [--peer N] [--origins K]
                                 [--json FILE]
"""

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RTSP_PORT = 8554
ADMIN_PORT = 9554


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build-dir", default=os.path.join(REPO, "build", "release"))
    p.add_argument("--players", default="1000,10000", help="comma-separated player counts")
    p.add_argument("--transports", default="udp,tcp")
    p.add_argument("--duration", type=float, default=120, help="seconds each player plays")
    p.add_argument("--ramp", type=float, default=100, help="players started per second")
    p.add_argument("--peer", type=int, default=20, help="ffmpeg processes (and testplayer players) "
                   "for the same-N comparison; 0 skips it")
    p.add_argument("--timeout", type=float, default=30, help="testplayer --timeout: the origins answer "
                   "slowly while thousands of sessions start")
    p.add_argument("--origins", type=int, default=3, help="serve processes behind the one URL")
    p.add_argument("--json", help="write every step's figures here")
    return p.parse_args()


def enter_namespace():
    """Re-runs this script in a new network namespace with loopback up and the port ranges set."""
    if os.environ.get("SG_SCALE_NETNS") == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        for key, value in (("net.ipv4.ip_local_port_range", "40000 65535"), ("net.core.somaxconn", "65535")):
            subprocess.run(["sysctl", "-q", "-w", f"{key}={value}"], check=True)
        return
    if os.geteuid() != 0:
        sys.exit("scale.py needs root (a network namespace, serve's descriptor limit)")
    env = dict(os.environ, SG_SCALE_NETNS="1")
    os.execvpe("unshare", ["unshare", "--net", "--", sys.executable, *sys.argv], env)


def make_clip(directory):
    path = os.path.join(directory, "tiny.mp4")
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc=size=128x96:rate=1", "-t", "60", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                    "-g", "10", "-bf", "0", path], check=True)
    return path


def proc_cpu_s(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def proc_peak_rss_kib(pid):
    match = re.search(r"VmHWM:\s+(\d+) kB", open(f"/proc/{pid}/status").read())
    return int(match.group(1)) if match else 0


class Origins:
    """K fresh `streamgate serve` processes behind one address: an nftables DNAT rule spreads the RTSP
    connections to 127.0.0.1:RTSP_PORT over them in turn (each gets its own RTP port range, so media and
    RTCP bypass the NAT). Several because a serve session holds a descriptor for its file besides its
    sockets, and without CAP_SYS_RESOURCE one process cannot have more than the hard RLIMIT_NOFILE."""

    def __init__(self, binary, media_dir, work, count):
        ports = ", ".join(f"{i} : {RTSP_PORT + 1 + i}" for i in range(count))
        rules = (f"table ip sgbench {{\n chain out {{\n  type nat hook output priority -100;\n"
                 f"  ip daddr 127.0.0.1 tcp dport {RTSP_PORT} dnat to 127.0.0.1 : numgen inc mod {count} "
                 f"map {{ {ports} }}\n }}\n}}\n")
        subprocess.run(["nft", "-f", "-"], input=rules.encode(), check=True)
        self.log = open(os.path.join(work, "serve.log"), "ab")
        self.procs = []
        span = (39999 - 10000 + 1) // count // 2 * 2
        for i in range(count):
            first = 10000 + i * span
            self.procs.append(subprocess.Popen(
                [binary, "serve", media_dir, "--listen", f"127.0.0.1:{RTSP_PORT + 1 + i}", "--rtp-ports",
                 f"{first}-{first + span - 1}", "--admin", f"127.0.0.1:{ADMIN_PORT + i}", "--log-level", "warn",
                 "--loop"], stdout=self.log, stderr=self.log))
        self.peak_sessions = 0
        self._stop = threading.Event()
        deadline = time.monotonic() + 10
        while self.sessions() is None:
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.procs):
                self.stop()
                raise RuntimeError("serve did not start; see serve.log")
            time.sleep(0.1)
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def sessions(self):
        """Live sessions over every origin, or None while one does not answer."""
        total = 0
        for i in range(len(self.procs)):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{ADMIN_PORT + i}/metrics", timeout=5) as reply:
                    text = reply.read().decode()
            except OSError:
                return None
            match = re.search(r"^streamgate_serve_sessions (\S+)$", text, re.M)
            if not match:
                return None
            total += int(float(match.group(1)))
        return total

    def _sample(self):
        while not self._stop.wait(1.0):
            value = self.sessions()
            if value is not None:
                self.peak_sessions = max(self.peak_sessions, value)

    def stop(self):
        """Returns the origins' CPU seconds and summed peak RSS, then ends them."""
        self._stop.set()
        if hasattr(self, "_sampler"):
            self._sampler.join()
        cpu = rss = 0
        for proc in self.procs:
            if proc.poll() is None:
                cpu += proc_cpu_s(proc.pid)
                rss += proc_peak_rss_kib(proc.pid)
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        subprocess.run(["nft", "delete", "table", "ip", "sgbench"], check=False)
        self.log.close()
        return cpu, rss


def wait_rusage(proc):
    """wait4 on a Popen child: (exit status, CPU seconds, peak RSS KiB)."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def processes_needed(players, transport):
    """testplayer processes the hard descriptor limit allows for `players` of the one-track clip: a UDP
    player holds its RTSP connection and an RTP/RTCP socket pair, a TCP player the connection only."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    per_player = 3 if transport == "udp" else 1
    if hard == resource.RLIM_INFINITY:
        return 1
    fit = max((hard - 64) // per_player, 1)
    return -(-players // fit)


def run_testplayer(binary, url, players, transport, args, work):
    """One testplayer process for `players`, or the fewest that fit the hard descriptor limit, started
    together with the ramp split between them; their figures are summed."""
    count = processes_needed(players, transport)
    procs = []
    for i in range(count):
        share = players // count + (i < players % count)
        name = os.path.join(work, f"testplayer-{transport}-{players}-{i}")
        command = [binary, "testplayer", url, "-n", str(share), "--ramp", str(args.ramp / count),
                   "--duration", str(args.duration), "--transport", transport, "--timeout", str(args.timeout),
                   "--json", name + ".json"]
        with open(name + ".log", "wb") as err:
            procs.append((subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err), name))
    result = {"tool": "testplayer", "transport": transport, "players": players, "processes": count,
              "exit": 0, "succeeded": 0, "failed": 0, "errors": {}, "rtp_packets": 0, "rtp_lost": 0,
              "peak_active": 0, "cpu_s": 0.0, "peak_rss_kib": 0, "notes": []}
    for proc, name in procs:
        rc, cpu, rss = wait_rusage(proc)
        text = open(name + ".log").read()
        data = json.load(open(name + ".json"))
        result["exit"] = max(result["exit"], rc)
        for key in ("succeeded", "failed", "rtp_packets", "rtp_lost"):
            result[key] += data[key]
        for reason, n in data["errors"].items():
            result["errors"][reason] = result["errors"].get(reason, 0) + n
        result["peak_active"] += max((int(m) for m in re.findall(r"active (\d+)", text)), default=0)
        result["cpu_s"] += cpu
        result["peak_rss_kib"] += rss
        result["notes"] += [line for line in text.splitlines()
                            if not re.search(r"testplayer: +[0-9.]+ s ", line)]
    return result


def run_ffmpeg_peers(url, players, transport, args, work):
    """`players` ffmpeg processes copying the stream to nowhere; CPU summed, peak RSS per process summed."""
    procs = []
    for i in range(players):
        log = open(os.path.join(work, f"ffmpeg-{transport}-{i}.log"), "wb")
        procs.append(subprocess.Popen(
            ["ffmpeg", "-nostdin", "-loglevel", "error", "-rtsp_transport", transport, "-i", url, "-t",
             str(args.duration), "-c", "copy", "-f", "null", "-"], stdout=log, stderr=log))
        log.close()
        time.sleep(1 / args.ramp)
    failed, cpu, rss = 0, 0.0, 0
    for proc in procs:
        rc, c, r = wait_rusage(proc)
        failed += rc != 0
        cpu += c
        rss += r
    return {"tool": "ffmpeg", "transport": transport, "players": players, "succeeded": players - failed,
            "failed": failed, "cpu_s": cpu, "peak_rss_kib": rss}


def step(binary, media_dir, work, origins, run):
    serve = Origins(binary, media_dir, work, origins)
    try:
        result = run()
    finally:
        serve_cpu, serve_rss = serve.stop()
    result.update(origins=origins, serve_peak_sessions=serve.peak_sessions, serve_cpu_s=serve_cpu,
                  serve_peak_rss_kib=serve_rss)
    return result


def describe(r):
    n = r["players"]
    line = (f"{r['tool']:10} {r['transport']} N={n:6} ({r.get('processes', n)} processes): "
            f"ok {r['succeeded']} failed {r['failed']}  "
            f"CPU {r['cpu_s']:.2f} s ({1000 * r['cpu_s'] / n:.2f} ms/player)  "
            f"RSS {r['peak_rss_kib'] / 1024:.1f} MiB ({r['peak_rss_kib'] / n:.1f} KiB/player)  "
            f"serve x{r['origins']}: peak {r['serve_peak_sessions']} sessions, CPU {r['serve_cpu_s']:.1f} s, "
            f"RSS {r['serve_peak_rss_kib'] / 1024:.0f} MiB")
    if r["tool"] == "testplayer":
        line += f"  peak active {r['peak_active']}  RTP {r['rtp_packets']} lost {r['rtp_lost']}"
        if r["errors"]:
            line += f"  errors {r['errors']}"
    return line


def main():
    args = parse_args()
    enter_namespace()
    binary = os.path.join(args.build_dir, "src", "app", "streamgate")
    if not os.access(binary, os.X_OK):
        sys.exit(f"build streamgate first (no {binary})")
    work = tempfile.mkdtemp(prefix="sg-bench-tpscale.")
    results = []
    try:
        media_dir = os.path.join(work, "media")
        os.mkdir(media_dir)
        make_clip(media_dir)
        url = f"rtsp://127.0.0.1:{RTSP_PORT}/tiny.mp4"
        print(f"testplayer scale run: duration {args.duration:g} s, ramp {args.ramp:g}/s, "
              f"soft/hard RLIMIT_NOFILE of this shell {resource.getrlimit(resource.RLIMIT_NOFILE)}", flush=True)
        for transport in args.transports.split(","):
            counts = [int(n) for n in args.players.split(",")]
            plan = []
            if args.peer > 0:
                plan.append(lambda t=transport: run_ffmpeg_peers(url, args.peer, t, args, work))
                counts.insert(0, args.peer)
            plan += [lambda n=n, t=transport: run_testplayer(binary, url, n, t, args, work) for n in counts]
            for run in plan:
                result = step(binary, media_dir, work, args.origins, run)
                results.append(result)
                print(describe(result), flush=True)
                for note in result.get("notes", []):
                    print(f"    {note}", flush=True)
    finally:
        if args.json:
            with open(args.json, "w") as out:
                json.dump(results, out, indent=2)
        shutil.rmtree(work, ignore_errors=True)
    ok = all(r["failed"] == 0 for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
