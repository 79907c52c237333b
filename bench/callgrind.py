#!/usr/bin/env python3
"""Instructions per proxied request, counted by callgrind: the steady measure
of a change on this noisy VM (wall-clock figures move by ±20 % between runs;
instruction counts of one binary agree within about 0.2 %).

The server runs under valgrind with the bench's configs (the same as
`bench/run.py`'s scenarios), behind the same nginx origin. After a warm-up the
counters are zeroed (`callgrind_control -z`), wrk loads it for a few seconds,
and the instructions counted are divided by the access-log lines gained in
that window. Usage:

    python3 bench/callgrind.py                       # main scenario, 4 and 64 clients
    python3 bench/callgrind.py --binary OTHER/switchyard --scenario rules-1000
    python3 bench/callgrind.py --conns 64 --repeat 3

Needs valgrind, nginx and wrk (Debian packages). Builds the release binary
unless --binary or --no-build is given.
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402  (the side-by-side bench: configs, origin, wrk)


def access_lines(log_dir):
    path = log_dir / "access.log"
    return sum(1 for _ in path.open("rb")) if path.exists() else 0


def total_instructions(out_file):
    """The `summary:` / `totals:` line of a callgrind dump: Ir of the process."""
    for line in out_file.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {out_file}")


def measure(binary, scenario, conns, seconds, out):
    n, path, proto, _ = run.SCENARIOS[scenario]
    confdir = run.write_configs(out, n, run.MAP_ENTRIES.get(scenario, 0), run.EXTRA_RULES.get(scenario))
    procs = run.Procs()
    env = run.switchyard_env(out, confdir / "switchyard")
    log_dir = Path(env["SWITCHYARD_LOG_DIR"])
    dump = out / f"callgrind.{scenario}.{conns}.out"
    try:
        run.start_origin(procs, out)
        procs.start("switchyard", ["valgrind", "--tool=callgrind", f"--callgrind-out-file={dump}",
                                   "--dump-instr=no", str(binary), "serve"],
                    run.PROXY_CORE, env=env)
        run.wait_ready(run.PORTS["switchyard"], timeout=60)
        run.wrk(run.PORTS["switchyard"], path, proto, 2, conns)  # warm-up
        pid = procs.procs["switchyard"].pid
        subprocess.run(["callgrind_control", "-z", str(pid)], check=True, capture_output=True)
        before = access_lines(log_dir)
        figures = run.wrk(run.PORTS["switchyard"], path, proto, seconds, conns)
        time.sleep(0.1)  # the access-log writer's tick
        subprocess.run(["callgrind_control", "-d", str(pid)], check=True, capture_output=True)
        requests = access_lines(log_dir) - before
        dumps = sorted(out.glob(f"callgrind.{scenario}.{conns}.out*"), key=lambda p: p.stat().st_mtime)
        instructions = total_instructions(dumps[-1])
    finally:
        procs.stop()
    return instructions, requests, figures["requests"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", type=Path)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--scenario", default="main", choices=list(run.SCENARIOS))
    ap.add_argument("--conns", type=int, nargs="+", default=[4, 64])
    ap.add_argument("--seconds", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    binary = args.binary
    if binary is None:
        if not args.no_build:
            subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=run.ROOT, check=True)
        binary = run.ROOT / "target" / "release" / "switchyard"
    out = run.ROOT / "bench" / "out" / ("callgrind-" + time.strftime("%Y%m%d-%H%M%S"))
    for d in ("www", "nginx-tmp", "origin-tmp", "logs", "switchyard-log", "switchyard-run"):
        (out / d).mkdir(parents=True, exist_ok=True)
    (out / "www" / "index.txt").write_text("hello from the origin\n")
    for conns in args.conns:
        for _ in range(args.repeat):
            ir, logged, sent = measure(binary.resolve(), args.scenario, conns, args.seconds, out)
            print(f"{args.scenario} -c{conns}: {ir / max(logged, 1) / 1000:.1f}k instructions "
                  f"per request ({ir:,} over {logged:,} logged requests; wrk counted {sent:,})",
                  flush=True)


if __name__ == "__main__":
    main()
