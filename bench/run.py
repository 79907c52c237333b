#!/usr/bin/env python3
"""Side-by-side benchmark: origin direct, nginx, HAProxy and switchyard.

Every target does the same work (bench/conf/*: the 27-rule workload, or the
same with 1,000 regex redirects), behind the same origin, measured by the same
load tool (wrk) in alternating rounds. Each proxy is pinned to core 0; wrk and
the origin share core 1. The script prints Markdown tables of medians and
ratios and writes every raw figure to bench/out/<stamp>/results.json.

Needs Debian's nginx, haproxy and wrk (and taskset from util-linux). Usage:

    python3 bench/run.py                 # everything, ~20 minutes
    python3 bench/run.py --quick         # 1 round of 3 s each, to try it out
    python3 bench/run.py --only main     # one scenario (see SCENARIOS)
    python3 bench/run.py --only tests    # 1,000 .test tests over 1,000 rules (tests_1k.py)
    python3 bench/run.py --only main --only map-100k   # the cost of a 100,000-entry map
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import tests_1k  # bench/tests_1k.py: 1,000 tests over 1,000 rules

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "bench" / "conf"
ORIGIN_PORT = 18080
PORTS = {"direct": ORIGIN_PORT, "nginx": 18081, "haproxy": 18082, "switchyard": 18083,
         "switchyard-plain": 18084}
PROXIES = ["nginx", "haproxy", "switchyard"]
TARGETS = ["direct"] + PROXIES
PROXY_CORE = "0"
LOAD_CORE = "1"
# --proxy-cores 2: every proxy may use both cores (nginx with two workers,
# HAProxy with two threads, switchyard's multi-thread runtime with two
# workers), still sharing core 1 with wrk and the origin.
PROXY_CORES = {1: "0", 2: "0,1"}

# name -> (legacy regex rules, request path, X-Forwarded-Proto, reload while loading)
SCENARIOS = {
    "main": (20, "/index.txt", "https", False),
    "rules-1000": (1000, "/index.txt", "https", False),
    "body-10k": (20, "/10k.bin", "https", False),
    "body-1m": (20, "/1m.bin", "https", False),
    "redirect": (20, "/index.txt", "http", False),
    "reload-1000": (1000, "/index.txt", "https", True),
    # "main" plus the ten response rules of conf/response_rules.conf (issue
    # 12): compare its CPU per request with "main"'s.
    "main-response": (20, "/index.txt", "https", False),
    "map-100k": (20, "/index.txt", "https", False),
    # "main" with a busy loop sharing the proxy's core (issue 16): every
    # proxy is measured quiet, then with the same competing process, in the
    # same round; compare each proxy's busy figure with its own quiet one.
    "contention": (20, "/index.txt", "https", False),
}
# Scenarios measured twice per round: quiet, then beside a busy loop on the
# proxy's core.
CONTENDED = {"contention"}
# Scenarios whose switchyard config gets more rules appended. In these a
# second switchyard ("switchyard-plain", same binary, same core) runs the
# config without them, measured in the same rounds: the cost of the extra
# rules is the ratio of the two within one run (issue 12), free of the drift
# that a comparison between two scenarios run minutes apart carries.
EXTRA_RULES = {"main-response": CONF / "response_rules.conf"}

# name -> entries of a redirect map put in front of every proxy's rules (a
# switchyard `map … from "redirects.csv"` rule, an nginx `map`, a HAProxy map
# file); the measured path is not a key, so the lookup happens and misses.
# Compare "map-100k" with "main": the cost of a 100,000-entry map per request.
MAP_ENTRIES = {"map-100k": 100_000}


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw)


def fill(text, out, port, legacy):
    text = text.replace("@OUT@", str(out)).replace("@ORIGIN_PORT@", str(ORIGIN_PORT))
    return legacy(text).replace("@PORT@", str(port))


def legacy_switchyard(n):
    def gen(text):
        head = text.split("\nrule legacy-1 {")[0]
        rules = "".join(
            f'\nrule legacy-{i} {{\n    when path ~ "^/old-{i}/(.*)$"\n    redirect 301 "/new-{i}/{{1}}"\n}}\n'
            for i in range(1, n + 1)
        )
        return head + rules
    return gen


def legacy_block(n, line):
    def gen(text):
        lines = text.split("\n")
        start = next(i for i, l in enumerate(lines) if "legacy redirects" in l) + 1
        end = next(i for i, l in enumerate(lines) if "@LEGACY_END@" in l)
        indent = re.match(r"\s*", lines[start]).group(0)
        return "\n".join(lines[:start] + [indent + line(i) for i in range(1, n + 1)] + lines[end:])
    return gen


def nginx_line(i):
    return f"location ~ ^/old-{i}/(.*)$ {{ return 301 /new-{i}/$1; }}"


def haproxy_line(i):
    return (f"http-request redirect code 301 location /new-{i}/%[path,regsub(^/old-{i}/,)] "
            f"if {{ path_reg ^/old-{i}/(.*)$ }}")


def map_entries(count):
    """The redirect map: site-migration paths (each a key) to their new home."""
    return [(f"/archive/{i % 97}/post-{i}.html", f"/posts/{i}") for i in range(count)]


def with_map(d, count, switchyard_conf, nginx_conf, haproxy_cfg):
    """Puts a `count`-entry redirect map in front of each proxy's rules."""
    entries = map_entries(count)
    (d / "switchyard" / "redirects.csv").write_text(
        "".join(f"{k},{v}\n" for k, v in entries))
    head, rest = switchyard_conf.split("\nrule ", 1)
    switchyard_conf = (head + '\nmap legacy-map from "redirects.csv"\n\n'
                       'rule legacy-map {\n    when path in $legacy-map\n'
                       '    redirect 301 "{$legacy-map}"\n}\n\nrule ' + rest)
    (d / "nginx-map.conf").write_text("".join(f"{k} {v};\n" for k, v in entries))
    nginx_conf = nginx_conf.replace(
        "    upstream origin {",
        "    map_hash_max_size 262144;\n    map_hash_bucket_size 128;\n"
        f"    map $uri $legacy_map {{\n        include {d / 'nginx-map.conf'};\n    }}\n\n"
        "    upstream origin {", 1).replace(
        "        # force-https",
        '        if ($legacy_map) {\n            return 301 $legacy_map;\n        }\n\n'
        "        # force-https", 1)
    (d / "haproxy.map").write_text("".join(f"{k} {v}\n" for k, v in entries))
    haproxy_cfg = haproxy_cfg.replace(
        "    # force-https",
        f"    http-request redirect code 301 location %[path,map({d / 'haproxy.map'})] "
        f"if {{ path,map({d / 'haproxy.map'}) -m found }}\n    # force-https", 1)
    return switchyard_conf, nginx_conf, haproxy_cfg


def write_configs(out, n, map_count=0, extra=None):
    d = out / (f"conf-{n}" if not map_count else f"conf-{n}-map-{map_count}")
    if extra is not None:
        d = d.with_name(d.name + f"-{extra.stem}")
    (d / "switchyard").mkdir(parents=True, exist_ok=True)
    switchyard_conf = legacy_switchyard(n)((CONF / "proxy.conf").read_text())
    nginx_conf = fill((CONF / "nginx.conf").read_text(), out, PORTS["nginx"],
                      legacy_block(n, nginx_line))
    haproxy_cfg = fill((CONF / "haproxy.cfg").read_text(), out, PORTS["haproxy"],
                       legacy_block(n, haproxy_line))
    if map_count:
        switchyard_conf, nginx_conf, haproxy_cfg = with_map(
            d, map_count, switchyard_conf, nginx_conf, haproxy_cfg)
    if extra is not None:
        switchyard_conf += extra.read_text()
    workers = PROXY_CORE.count(",") + 1
    nginx_conf = nginx_conf.replace("worker_processes 1;", f"worker_processes {workers};", 1)
    haproxy_cfg = haproxy_cfg.replace("    nbthread 1", f"    nbthread {workers}", 1)
    (d / "switchyard" / "proxy.conf").write_text(switchyard_conf)
    (d / "nginx.conf").write_text(nginx_conf)
    (d / "haproxy.cfg").write_text(haproxy_cfg)
    return d


def wait_ready(port, path="/index.txt", timeout=10.0):
    deadline = time.monotonic() + timeout
    req = f"GET {path} HTTP/1.1\r\nHost: bench\r\nX-Forwarded-Proto: https\r\nConnection: close\r\n\r\n"
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(req.encode())
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return time.monotonic()
        except OSError:
            pass
        time.sleep(0.001)
    raise RuntimeError(f"port {port} did not answer 200 within {timeout}s")


class Procs:
    """The processes of one scenario, stopped together."""

    def __init__(self):
        self.procs = {}

    def start(self, name, cmd, core, env=None, stdout=None):
        full = ["taskset", "-c", core] + cmd
        self.procs[name] = subprocess.Popen(full, env=env, stdout=stdout or subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL)
        return self.procs[name]

    def stop(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        self.procs = {}


def start_origin(procs, out):
    """The nginx origin on the load core, answering before we go on."""
    origin = fill((CONF / "origin-nginx.conf").read_text(), out, ORIGIN_PORT, lambda t: t)
    (out / "origin-nginx.conf").write_text(origin)
    procs.start("origin", ["nginx", "-c", str(out / "origin-nginx.conf"), "-p", str(out)],
                LOAD_CORE)
    wait_ready(ORIGIN_PORT)


def serving_pid(name, proc):
    """The pid that does the work: nginx's worker, else the process itself."""
    if name == "nginx":
        kids = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        return int(kids[0]) if kids else proc.pid
    return proc.pid


def serving_pids(name, proc):
    """Every process that does the work: all of nginx's workers."""
    if name == "nginx":
        kids = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        return [int(k) for k in kids] or [proc.pid]
    return [proc.pid]


def cpu_ticks(pid):
    """User and system clock ticks of the process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])


def context_switches(pid):
    """Voluntary and involuntary context switches of the process so far,
    summed over all its threads (a thread that ended is not counted, so
    measure around a run, not across a restart)."""
    vol = invol = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            text = (task / "status").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("voluntary_ctxt_switches:"):
                vol += int(line.split()[1])
            elif line.startswith("nonvoluntary_ctxt_switches:"):
                invol += int(line.split()[1])
    return vol, invol


def steal_ticks():
    """Steal time so far (clock ticks) of the whole host and of the proxy's
    core, from /proc/stat: time this VM's vCPUs were ready but the
    hypervisor ran something else. A run with much of it is a noisy run."""
    total = core = 0
    for line in Path("/proc/stat").read_text().splitlines():
        fields = line.split()
        if fields and fields[0] == "cpu":
            total = int(fields[8])
        elif fields and fields[0] == f"cpu{PROXY_CORE.split(',')[0]}":
            core = int(fields[8])
    return total, core


def measured(procs, target, run):
    """Runs wrk through `run` and adds the serving process's CPU time per
    request (user and system microseconds), its context switches per
    request (all threads) and the host's steal time during the run."""
    tick_s = 1 / os.sysconf("SC_CLK_TCK")
    st0 = steal_ticks()
    if target == "direct":
        figures = run()
    else:
        pids = serving_pids(target, procs.procs[target])

        def totals(read):
            return [sum(v) for v in zip(*(read(pid) for pid in pids))]
        u0, s0 = totals(cpu_ticks)
        c0 = totals(context_switches)
        figures = run()
        u1, s1 = totals(cpu_ticks)
        c1 = totals(context_switches)
        requests = max(figures["requests"], 1)
        figures["user_us_per_req"] = (u1 - u0) * tick_s * 1e6 / requests
        figures["sys_us_per_req"] = (s1 - s0) * tick_s * 1e6 / requests
        figures["vol_cs_per_req"] = (c1[0] - c0[0]) / requests
        figures["invol_cs_per_req"] = (c1[1] - c0[1]) / requests
    st1 = steal_ticks()
    figures["steal_s"] = (st1[0] - st0[0]) * tick_s
    figures["steal_core_s"] = (st1[1] - st0[1]) * tick_s
    return figures


class BusyLoop:
    """A competing CPU-bound process on the proxy's core (the same for every
    proxy): what a noisy neighbour in a shared container host looks like."""

    def __enter__(self):
        self.proc = subprocess.Popen(
            ["taskset", "-c", PROXY_CORE, sys.executable, "-c", "while True: pass"])
        time.sleep(0.2)
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def rss_split_kib(pid):
    """The process's resident memory now: (anonymous, file-backed) KiB. The
    file-backed part is its program's and libraries' pages (shared, clean)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("RssAnon", "RssFile"):
            fields[key] = int(value.split()[0])
    return fields.get("RssAnon", 0), fields.get("RssFile", 0)


def hwm_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def switchyard_env(out, confdir, name="switchyard"):
    env = dict(os.environ)
    env.update({
        "SWITCHYARD_LISTEN": f"127.0.0.1:{PORTS[name]}",
        "SWITCHYARD_UPSTREAM": f"127.0.0.1:{ORIGIN_PORT}",
        "SWITCHYARD_CONFIG_DIR": str(confdir),
        "SWITCHYARD_LOG_DIR": str(out / f"{name}-log"),
        "SWITCHYARD_RUN_DIR": str(out / f"{name}-run"),
    })
    return env


def start_proxy(procs, name, out, confdir, binary):
    if name == "nginx":
        return procs.start(name, ["nginx", "-c", str(confdir / "nginx.conf"), "-p", str(out)],
                           PROXY_CORE)
    if name == "haproxy":
        log = open(out / "haproxy-access.log", "ab")
        return procs.start(name, ["haproxy", "-db", "-f", str(confdir / "haproxy.cfg")],
                           PROXY_CORE, stdout=log)
    return procs.start(name, [str(binary), "serve"], PROXY_CORE,
                       env=switchyard_env(out, confdir / "switchyard"))


def wrk(port, path, proto, seconds, conns):
    cmd = ["taskset", "-c", LOAD_CORE, "wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency",
           "-H", f"X-Forwarded-Proto: {proto}", "-H", "Host: bench.example",
           f"http://127.0.0.1:{port}{path}"]
    text = sh(cmd).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))

    def pct(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    total = re.search(r"(\d+) requests in", text)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return {
        "rps": rps, "p50_ms": pct(50), "p99_ms": pct(99),
        "requests": int(total.group(1)) if total else 0,
        "socket_errors": sum(int(g) for g in errors.groups()) if errors else 0,
        "non_2xx_3xx": int(non2xx.group(1)) if non2xx else 0,
    }


def reload_loop(out, confdir, binary, stop_at):
    """Reloads switchyard once a second until stop_at; returns (ok, failed)."""
    env = switchyard_env(out, confdir / "switchyard")
    ok = failed = 0
    while time.monotonic() < stop_at - 1:
        # In the container, update.sh runs on the proxy's CPUs: so does this.
        r = subprocess.run(["taskset", "-c", PROXY_CORE, str(binary), "reload"], env=env,
                           capture_output=True)
        ok, failed = (ok + 1, failed) if r.returncode == 0 else (ok, failed + 1)
        time.sleep(1)
    return ok, failed


def run_scenario(name, out, binary, rounds, seconds, conns):
    n, path, proto, reload = SCENARIOS[name]
    confdir = write_configs(out, n, MAP_ENTRIES.get(name, 0), EXTRA_RULES.get(name))
    procs = Procs()
    results = {t: [] for t in TARGETS}
    reloads = []
    plain = name in EXTRA_RULES
    try:
        start_origin(procs, out)
        for p in PROXIES:
            start_proxy(procs, p, out, confdir, binary)
        if plain:
            plain_dir = write_configs(out, n, MAP_ENTRIES.get(name, 0))
            for d in ("switchyard-plain-log", "switchyard-plain-run"):
                (out / d).mkdir(parents=True, exist_ok=True)
            procs.start("switchyard-plain", [str(binary), "serve"], PROXY_CORE,
                        env=switchyard_env(out, plain_dir / "switchyard", "switchyard-plain"))
            wait_ready(PORTS["switchyard-plain"])
            results["switchyard-plain"] = []
        for p in PROXIES:
            wait_ready(PORTS[p])
        targets = PROXIES if reload else TARGETS + (["switchyard-plain"] if plain else [])
        if reload:
            targets = ["switchyard"]
        for r in range(rounds):
            order = targets[r % len(targets):] + targets[:r % len(targets)]
            for t in order:
                if reload:
                    # the same run twice: without and with a reload every second
                    base = measured(procs, t, lambda: wrk(PORTS[t], path, proto, seconds, conns))
                    results.setdefault("switchyard-no-reload", []).append(base)
                    import threading
                    box = {}
                    th = threading.Thread(target=lambda: box.update(
                        rl=reload_loop(out, confdir, binary, time.monotonic() + seconds)))
                    th.start()
                    results[t].append(measured(
                        procs, t, lambda: wrk(PORTS[t], path, proto, seconds, conns)))
                    th.join()
                    reloads.append(box.get("rl"))
                elif name in CONTENDED:
                    # quiet, then the same load beside a busy loop
                    results.setdefault(f"{t}-quiet", []).append(measured(
                        procs, t, lambda: wrk(PORTS[t], path, proto, seconds, conns)))
                    with BusyLoop():
                        results[t].append(measured(
                            procs, t, lambda: wrk(PORTS[t], path, proto, seconds, conns)))
                else:
                    results[t].append(measured(
                        procs, t, lambda: wrk(PORTS[t], path, proto, seconds, conns)))
        rss = {p: hwm_kib(serving_pid(p, procs.procs[p])) for p in PROXIES}
        split = {p: rss_split_kib(serving_pid(p, procs.procs[p])) for p in PROXIES}
    finally:
        procs.stop()
    return {"results": results, "rss_kib": rss, "rss_split_kib": split, "reloads": reloads}


def startup_times(out, binary, tries=5):
    confdir = write_configs(out, 20)
    times = {p: [] for p in PROXIES}
    for _ in range(tries):
        procs = Procs()
        try:
            start_origin(procs, out)
            for p in PROXIES:
                t0 = time.monotonic()
                start_proxy(procs, p, out, confdir, binary)
                times[p].append((wait_ready(PORTS[p]) - t0) * 1000)
        finally:
            procs.stop()
    return {p: statistics.median(v) for p, v in times.items()}


def validate_times(out, binary, tries=5):
    confdir = write_configs(out, 10000)
    runs = {"switchyard validate": [], "nginx -t": []}
    for _ in range(tries):
        t0 = time.monotonic()
        r = subprocess.run([str(binary), "validate", str(confdir / "switchyard")],
                           capture_output=True)
        runs["switchyard validate"].append((time.monotonic() - t0) * 1000)
        assert r.returncode == 0, r.stderr
        t0 = time.monotonic()
        r = subprocess.run(["nginx", "-t", "-q", "-c", str(confdir / "nginx.conf"), "-p", str(out)],
                           capture_output=True)
        runs["nginx -t"].append((time.monotonic() - t0) * 1000)
        assert r.returncode == 0, r.stderr
    return {k: statistics.median(v) for k, v in runs.items()}


def med(rows, key):
    return statistics.median(r[key] for r in rows)


def suffix_of(target):
    """"-quiet" for the quiet half of a contended scenario, "-no-reload" for
    the reload scenario's base, "" otherwise."""
    return target[len(target.split("-")[0]):]


def steal_line(rows):
    """The host's steal time over every run of a scenario, so that a noisy
    run is visible as such."""
    runs = [r for rs in rows.values() for r in rs if "steal_s" in r]
    if not runs:
        return None
    total = sum(r["steal_s"] for r in runs)
    core = sum(r["steal_core_s"] for r in runs)
    return (f"\nhost steal time during these runs: {total:.2f} s in all, "
            f"{core:.2f} s on core {PROXY_CORE.split(',')[0]}")


def contention_table(rows):
    """Each proxy's throughput beside a busy loop relative to its own quiet
    figure, and its context switches per request against nginx's."""
    lines = ["\n| proxy | quiet req/s | busy req/s | busy / quiet | (busy / quiet) / nginx's "
             "| ctx switches/req busy, vol + invol | vs nginx's |",
             "|---|---|---|---|---|---|---|"]
    def ratio(p):
        return med(rows[p], "rps") / med(rows[f"{p}-quiet"], "rps")
    def switches(p):
        return med(rows[p], "vol_cs_per_req") + med(rows[p], "invol_cs_per_req")
    for p in PROXIES:
        if not rows.get(p) or not rows.get(f"{p}-quiet"):
            continue
        lines.append(
            f"| {p} | {med(rows[f'{p}-quiet'], 'rps'):,.0f} | {med(rows[p], 'rps'):,.0f} "
            f"| {ratio(p):.2f} | {ratio(p) / ratio('nginx'):.2f} "
            f"| {med(rows[p], 'vol_cs_per_req'):.3f} + {med(rows[p], 'invol_cs_per_req'):.3f} "
            f"| {switches(p) / max(switches('nginx'), 1e-9):.2f} |")
    return lines


def report(all_results, rounds, seconds, conns):
    lines = []
    for name, res in all_results.items():
        if name in ("startup_ms", "validate_10k_ms", "tests_1k_ms", "machine"):
            continue
        rows = res["results"]
        lines.append(f"\n### {name}\n")
        lines.append("| target | req/s | p50 ms | p99 ms | errors | peak RSS MiB | RSS at end MiB anon + file "
                     "| CPU µs/req user + sys | ctx switches/req vol + invol | vs nginx | vs direct |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
        for t, runs in sorted(rows.items(), key=lambda kv: (suffix_of(kv[0]) == "", TARGETS.index(
                kv[0].split("-")[0]) if kv[0].split("-")[0] in TARGETS else 99)):
            if not runs:
                continue
            suffix = suffix_of(t) if suffix_of(t) == "-quiet" else ""
            base_n = med(rows[f"nginx{suffix}"], "rps") if rows.get(f"nginx{suffix}") else None
            base_d = med(rows[f"direct{suffix}"], "rps") if rows.get(f"direct{suffix}") else None
            rps = med(runs, "rps")
            errs = sum(r["socket_errors"] + r["non_2xx_3xx"] for r in runs)
            rss = res["rss_kib"].get(t.split("-")[0]) if not t.startswith("direct") else None
            split = (res.get("rss_split_kib", {}).get(t.split("-")[0])
                     if not t.startswith("direct") else None)
            lines.append(
                f"| {t} | {rps:,.0f} | {med(runs, 'p50_ms'):.3f} | {med(runs, 'p99_ms'):.3f} | {errs} | "
                + (f"{rss / 1024:.1f}" if rss else "-") + " | "
                + (f"{split[0] / 1024:.1f} + {split[1] / 1024:.1f}" if split else "-") + " | "
                + (f"{med(runs, 'user_us_per_req'):.1f} + {med(runs, 'sys_us_per_req'):.1f}"
                   if "user_us_per_req" in runs[0] else "-") + " | "
                + (f"{med(runs, 'vol_cs_per_req'):.3f} + {med(runs, 'invol_cs_per_req'):.3f}"
                   if "vol_cs_per_req" in runs[0] else "-") + " | "
                + (f"{rps / base_n:.2f}" if base_n else "-") + " | "
                + (f"{rps / base_d:.2f}" if base_d else "-") + " |")
        if name in CONTENDED:
            lines.extend(contention_table(rows))
        if rows.get("switchyard-plain") and rows.get("switchyard"):
            def cpu(r):
                return r["user_us_per_req"] + r["sys_us_per_req"]
            ratios = [cpu(w) / cpu(wo) for w, wo in zip(rows["switchyard"], rows["switchyard-plain"])]
            lines.append("\nswitchyard with the extra rules against switchyard-plain (same binary, "
                         "without them), CPU per request, per round: "
                         + ", ".join(f"{r:.3f}" for r in ratios)
                         + f"; ratio of medians {med(rows['switchyard'], 'user_us_per_req') + med(rows['switchyard'], 'sys_us_per_req'):.1f}"
                         + f" / {med(rows['switchyard-plain'], 'user_us_per_req') + med(rows['switchyard-plain'], 'sys_us_per_req'):.1f} µs")
        steal = steal_line(rows)
        if steal:
            lines.append(steal)
        if res.get("reloads"):
            lines.append(f"\nreloads (ok, failed) per round: {res['reloads']}")
            # Each round measures the same load without, then with, reloads:
            # the difference within a round is steadier than one of medians.
            added = [w["p99_ms"] - wo["p99_ms"]
                     for w, wo in zip(rows["switchyard"], rows["switchyard-no-reload"])]
            lines.append("p99 added by reloading, per round (ms): "
                         + ", ".join(f"{a:+.2f}" for a in added)
                         + f"; median {statistics.median(added):+.2f}")
    if "startup_ms" in all_results:
        lines.append("\n### start to first answered request (median ms)\n")
        for p, v in all_results["startup_ms"].items():
            lines.append(f"- {p}: {v:.1f} ms")
    if "validate_10k_ms" in all_results:
        lines.append("\n### checking a 10,000-rule config (median ms)\n")
        for p, v in all_results["validate_10k_ms"].items():
            lines.append(f"- {p}: {v:.1f} ms")
    if "tests_1k_ms" in all_results:
        lines.append("\n### 1,000 tests over 1,000 rules (median ms)\n")
        for p, v in all_results["tests_1k_ms"].items():
            lines.append(f"- {p}: wall {v['wall_ms']:.1f} ms, CPU {v['cpu_ms']:.1f} ms")
    lines.append(f"\n{rounds} rounds of {seconds} s per target, wrk -t1 -c{conns}, medians; "
                 f"proxies on core(s) {PROXY_CORE}, wrk and the origin on core {LOAD_CORE}.")
    return "\n".join(lines)


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), "?")
    versions = {}
    for cmd in (["nginx", "-v"], ["haproxy", "-v"], ["wrk", "--version"]):
        r = subprocess.run(cmd, capture_output=True, text=True)
        versions[cmd[0]] = (r.stdout + r.stderr).strip().splitlines()[0] if (r.stdout + r.stderr) else "?"
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(), **versions}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--only", action="append", choices=list(SCENARIOS) + ["startup", "validate", "tests"])
    ap.add_argument("--quick", action="store_true", help="1 round of 3 s: a smoke run, not figures")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--proxy-cores", type=int, choices=sorted(PROXY_CORES), default=1,
                    help="cores each proxy may use (2: shared with the load; see docs/benchmarks.md)")
    args = ap.parse_args()
    global PROXY_CORE
    PROXY_CORE = PROXY_CORES[args.proxy_cores]
    if args.quick:
        args.rounds, args.seconds = 1, 3
    for tool in ("nginx", "haproxy", "wrk", "taskset"):
        if not shutil.which(tool):
            sys.exit(f"bench: {tool} is missing (apt-get install nginx haproxy wrk util-linux)")
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    binary = ROOT / "target" / "release" / "switchyard"
    out = ROOT / "bench" / "out" / time.strftime("%Y%m%d-%H%M%S")
    for d in ("www", "nginx-tmp", "origin-tmp", "logs", "switchyard-log", "switchyard-run"):
        (out / d).mkdir(parents=True, exist_ok=True)
    (out / "www" / "index.txt").write_text("hello from the origin\n")
    (out / "www" / "10k.bin").write_bytes(os.urandom(10 * 1024))
    (out / "www" / "1m.bin").write_bytes(os.urandom(1024 * 1024))
    wanted = args.only or list(SCENARIOS) + ["startup", "validate", "tests"]
    results = {"machine": machine()}
    for name in wanted:
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        if name == "startup":
            results["startup_ms"] = startup_times(out, binary)
        elif name == "validate":
            results["validate_10k_ms"] = validate_times(out, binary)
        elif name == "tests":
            results["tests_1k_ms"] = tests_1k.test_times(binary)
        else:
            results[name] = run_scenario(name, out, binary, args.rounds, args.seconds, args.connections)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    print(f"machine: {json.dumps(results['machine'])}")
    print(report(results, args.rounds, args.seconds, args.connections))
    print(f"\nraw figures: {out / 'results.json'}", file=sys.stderr)


if __name__ == "__main__":
    main()
