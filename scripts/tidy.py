#!/usr/bin/env python3
"""Runs clang-tidy-16 over the given sources, remembering which ones came out clean.

clang-tidy is the slowest step of CI (minutes per Asio-heavy file on two cores), and most commits touch few
files. A file is analysed again only when its analysis could differ: the cache key is the preprocessed
translation unit (every header it includes, after macro expansion, with the checkout's path mapped away so
that fresh clones share the cache), the compile flags, .clang-tidy and the clang-tidy version. Only clean
results are cached; a file with findings is analysed on every run, so nothing is ever hidden.

usage: tidy.py BUILD_DIR REPORT FILE...   exit 0 clean, 1 findings or errors, 124 out of time
"""

import concurrent.futures
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

TIDY = "clang-tidy-16"
# Asio 1.22 enables co_await under clang only with libc++; clang-tidy parses libstdc++ 12's coroutines fine.
EXTRA_ARGS = ["-extra-arg=-DASIO_HAS_CO_AWAIT=1", "-extra-arg=-DASIO_HAS_STD_COROUTINE=1"]
BUDGET_SECONDS = 2400
FINDING = re.compile(r"^([^ :]+):\d+:\d+: (warning|error):", re.MULTILINE)


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(base) / "streamgate" / "clang-tidy"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_key(entry: dict, root: str, salt: bytes) -> str | None:
    """Hash of what clang-tidy would see; None when the file cannot be preprocessed (then: no caching)."""
    argv = shlex.split(entry["command"]) if "command" in entry else list(entry["arguments"])
    # Drop the output and compile-only flags; preprocess to stdout without line markers.
    args, skip = [], False
    for a in argv[1:]:
        if skip:
            skip = False
            continue
        if a in ("-o", "-c", "-MF", "-MT", "-MQ"):
            skip = a != "-c"
            continue
        if a in ("-MD", "-MMD") or a == entry["file"]:
            continue
        args.append(a)
    cmd = [argv[0], *args, f"-fmacro-prefix-map={root}/=", "-E", "-P", entry["file"]]
    cp = subprocess.run(cmd, cwd=entry["directory"], capture_output=True)
    if cp.returncode != 0:
        return None
    h = hashlib.sha256(salt)
    h.update(" ".join(a.replace(root, ".") for a in args).encode())
    h.update(cp.stdout)
    return h.hexdigest()


def own_findings(output: str) -> list[str]:
    """Findings outside Asio's headers: there the analyzer misreads coroutine frames; not ours to fix."""
    lines = []
    for line in output.splitlines():
        m = FINDING.match(line)
        if m and not m.group(1).startswith("/usr/include/asio/"):
            lines.append(line)
    return lines


def main() -> int:
    build_dir, report_path, files = Path(sys.argv[1]).resolve(), Path(sys.argv[2]), sys.argv[3:]
    root = str(Path.cwd().resolve())
    entries = {e["file"]: e for e in json.loads((build_dir / "compile_commands.json").read_text())}
    version = subprocess.run([TIDY, "--version"], capture_output=True, text=True).stdout
    salt = (version + Path(".clang-tidy").read_text() + " ".join(EXTRA_ARGS)).encode()
    cache = cache_dir()
    jobs = os.cpu_count() or 1
    deadline = time.monotonic() + BUDGET_SECONDS

    paths = [str(Path(f).resolve()) for f in files]
    missing = [p for p in paths if p not in entries]
    if missing:
        print("clang-tidy: not in the compile database: " + " ".join(missing))
        return 1
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        keys = dict(zip(paths, pool.map(lambda p: cache_key(entries[p], root, salt), paths)))
    todo = [p for p in paths if keys[p] is None or not (cache / keys[p]).exists()]
    print(f"clang-tidy: {len(paths) - len(todo)} of {len(paths)} files unchanged since a clean analysis")

    def analyse(path: str) -> tuple[str, int, str]:
        left = deadline - time.monotonic()
        if left <= 0:
            return path, 124, ""
        try:
            cp = subprocess.run([TIDY, "-quiet", "-p", str(build_dir), *EXTRA_ARGS, path],
                                capture_output=True, text=True, timeout=left)
        except subprocess.TimeoutExpired:
            return path, 124, ""
        return path, cp.returncode, cp.stdout + cp.stderr

    status = 0
    with open(report_path, "w") as report, concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        for path, code, output in pool.map(analyse, todo):
            report.write(f"==== {path} (exit {code})\n{output}\n")
            if code == 124:
                print(f"clang-tidy: out of time ({BUDGET_SECONDS} s) before {path} was done")
                status = 124
                continue
            findings = own_findings(output)
            # clang-tidy exits non-zero on compile errors; findings in Asio alone do not count.
            failed = bool(findings) or "Error while processing" in output or "error: unable to" in output
            for line in findings:
                print(line)
            if failed:
                status = status or 1
            elif keys[path] is not None:
                (cache / keys[path]).touch()
    if status == 1:
        print(f"clang-tidy: findings above (full report: {report_path})")
    return status


if __name__ == "__main__":
    sys.exit(main())
