#!/usr/bin/env python3
"""Benchmark (not a test): what a big redirect map costs switchyard.

Measured with the release binary, as short CLI timings and RSS readings:

1. `switchyard validate` of a config whose rule reads a 100,000-entry map
   file (target: under 1 s);
2. `validate` of 42,000 redirects as one map against the same redirects as
   42,000 rules (target: the map at least 10x faster) — the size of
   gwern.net's nginx map that issue 13 started from;
3. the resident memory of `switchyard serve` with the 100,000-entry map
   against the same config without it (target: at most 25 MiB more).

The per-request CPU cost of the map is the `map-100k` scenario of run.py.

    python3 bench/map_scale.py [--entries 100000] [--rules 42000]
"""

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import map_entries  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PORT = 18093


def build():
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "switchyard"],
                   cwd=ROOT, check=True)
    return ROOT / "target" / "release" / "switchyard"


MAP_RULE = ('map legacy from "redirects.csv"\n\n'
            'rule legacy {\n    when path in $legacy\n    redirect 301 "{$legacy}"\n}\n')


def map_config(d, count):
    d.mkdir(parents=True, exist_ok=True)
    (d / "redirects.csv").write_text("".join(f"{k},{v}\n" for k, v in map_entries(count)))
    (d / "proxy.conf").write_text(MAP_RULE + 'rule tag {\n    response header set X-Seen "1"\n}\n')
    return d


def rules_config(d, count):
    d.mkdir(parents=True, exist_ok=True)
    (d / "proxy.conf").write_text("".join(
        f'rule r-{i} {{\n    when path == "{k}"\n    redirect 301 "{v}"\n}}\n'
        for i, (k, v) in enumerate(map_entries(count))))
    return d


def plain_config(d):
    d.mkdir(parents=True, exist_ok=True)
    (d / "proxy.conf").write_text('rule tag {\n    response header set X-Seen "1"\n}\n')
    return d


def validate_times(binary, d, tries=5):
    """Median wall and CPU seconds of `switchyard validate d` (after a warm-up)."""
    subprocess.run([binary, "validate", d], check=True)
    walls, cpus = [], []
    for _ in range(tries):
        start = time.monotonic()
        before = os.times()
        subprocess.run([binary, "validate", d], check=True)
        after = os.times()
        walls.append(time.monotonic() - start)
        cpus.append((after.children_user - before.children_user)
                    + (after.children_system - before.children_system))
    return statistics.median(walls), statistics.median(cpus), min(walls)


def size(d):
    return sum(f.stat().st_size for f in d.iterdir() if f.is_file())


def serve_rss_kib(binary, d, work):
    """VmRSS and VmHWM of `switchyard serve` once it answered a request."""
    env = dict(os.environ)
    env.update({
        "SWITCHYARD_LISTEN": f"127.0.0.1:{PORT}",
        "SWITCHYARD_UPSTREAM": "127.0.0.1:9",
        "SWITCHYARD_CONFIG_DIR": str(d),
        "SWITCHYARD_LOG_DIR": str(work / f"log-{d.name}"),
        "SWITCHYARD_RUN_DIR": str(work / f"run-{d.name}"),
    })
    proc = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", PORT), timeout=1) as s:
                    s.sendall(b"GET /archive/0/post-0.html HTTP/1.1\r\nHost: x\r\n"
                              b"Connection: close\r\n\r\n")
                    if s.recv(64).startswith(b"HTTP/1.1"):
                        break
            except OSError:
                time.sleep(0.05)
        time.sleep(0.5)
        fields = {}
        for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0])
        return fields
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=40)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=100_000)
    ap.add_argument("--rules", type=int, default=42_000)
    args = ap.parse_args()
    binary = build()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        big = map_config(work / "map-big", args.entries)
        wall, cpu, best = validate_times(binary, big)
        print(f"validate, {args.entries:,}-entry map ({size(big) / 2**20:.1f} MiB): "
              f"wall median {wall:.3f} s (best {best:.3f} s), CPU median {cpu:.3f} s (target < 1 s)")

        as_map = map_config(work / "map-42k", args.rules)
        as_rules = rules_config(work / "rules-42k", args.rules)
        map_wall, map_cpu, _ = validate_times(binary, as_map)
        print(f"validate, {args.rules:,} redirects as a map ({size(as_map) / 2**20:.1f} MiB): "
              f"wall median {map_wall:.3f} s, CPU median {map_cpu:.3f} s")
        if size(as_rules) > 4 * 2**20:
            print(f"  the same as {args.rules:,} rules is {size(as_rules) / 2**20:.1f} MiB, over the"
                  " 4 MiB cap: timed split into included files instead")
            text = (as_rules / "proxy.conf").read_text()
            chunks = text.split("\nrule ")
            (as_rules / "rules").mkdir()
            per = 8000
            for n in range(0, len(chunks), per):
                part = "\nrule ".join(chunks[n:n + per])
                if n:
                    part = "rule " + part
                (as_rules / "rules" / f"part-{n // per:02}.conf").write_text(part + "\n")
            (as_rules / "proxy.conf").write_text('include "rules/*.conf"\n')
        rules_wall, rules_cpu, _ = validate_times(binary, as_rules, tries=3)
        print(f"validate, the same {args.rules:,} redirects as rules: wall median "
              f"{rules_wall:.3f} s, CPU median {rules_cpu:.3f} s -> the map is "
              f"{rules_cpu / max(map_cpu, 1e-9):.1f}x faster in CPU (target >= 10x)")

        plain = plain_config(work / "plain")
        without = serve_rss_kib(binary, plain, work)
        with_map = serve_rss_kib(binary, big, work)
        added = (with_map["VmRSS"] - without["VmRSS"]) / 1024
        print(f"serve RSS: {without['VmRSS'] / 1024:.1f} MiB without the map, "
              f"{with_map['VmRSS'] / 1024:.1f} MiB with {args.entries:,} entries "
              f"(+{added:.1f} MiB, target <= 25 MiB); peak (VmHWM) "
              f"{without['VmHWM'] / 1024:.1f} / {with_map['VmHWM'] / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
