#!/usr/bin/env python3
"""Memory per client connection: idle keep-alive, and with a request in flight.

nginx, HAProxy and switchyard run side by side with run.py's configs (the
27-rule workload, each proxy pinned to core 0), with only their connection
caps raised so that N connections fit. For each proxy in turn the script opens
N client connections and then reads the serving process's anonymous resident
memory (`RssAnon` in /proc/PID/status; nginx's worker):

- idle: one request on each connection, its response read, then all N kept
  open and idle (the origin is run.py's nginx origin);
- in flight: one request on each connection that the origin never answers
  (a small Python origin that reads requests and holds them), measured once
  the origin holds all N.

Before reading memory with N open the script waits QUIET_WAIT seconds, for
every proxy alike: switchyard parks a keep-alive connection only after it
has been quiet for a grace period (1 s, `PARK_AFTER` in
src/proxy/parking.rs), and the figure is meant for connections at rest.

Figure = (RssAnon with N open - RssAnon before opening) / N. The proxies are
restarted between the two phases, so freed-but-kept allocator pages of one
phase do not hide the other's growth. Usage:

    python3 bench/idle.py                # N = 10,000, both phases, 1 round
    python3 bench/idle.py --conns 2000 --rounds 3 --only switchyard
"""

import argparse
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

import run  # bench/run.py: configs, ports, process handling

REQUEST = ("GET {path} HTTP/1.1\r\nHost: bench.example\r\n"
           "X-Forwarded-Proto: https\r\n\r\n")
HOLD_PATH = "/hold"
# Past switchyard's parking grace period (1 s) with a margin.
QUIET_WAIT = 2.0


def raise_file_limit(conns):
    """Raises the file limit that every proxy and origin inherits, as far as
    the hard limit allows (a container may forbid raising that); returns it."""
    want = conns * 2 + 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            return want
        except (ValueError, OSError):
            want = hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
    return max(soft, want)


def in_flight_conns(conns, limit):
    """A request in flight costs the proxy two sockets (client and origin):
    N is lowered, and said so, when the file limit cannot hold 2N."""
    return min(conns, (limit - 512) // 2)


def write_configs(out, conns):
    """run.py's configs with the connection caps raised past N (and nothing
    else changed): nginx's worker_connections and file limit, HAProxy's
    maxconn and the origin server's maxconn (held requests would queue)."""
    d = run.write_configs(out, 20)
    # nginx starts closing connections when fewer than 1/16 of its slots
    # are free, and a request in flight takes two: room for 3N.
    cap = conns * 3 + 1024
    nginx = (d / "nginx.conf").read_text()
    nginx = nginx.replace("worker_connections 8192;", f"worker_connections {cap};")
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    nginx = nginx.replace("worker_processes 1;", f"worker_processes 1;\nworker_rlimit_nofile {limit};")
    (d / "nginx.conf").write_text(nginx)
    haproxy = (d / "haproxy.cfg").read_text()
    # HAProxy asks for 2 files per maxconn and stops when it cannot have
    # them: a container's hard file limit may be below that.
    haproxy = haproxy.replace("maxconn 8000", f"maxconn {conns + 512}\n    no strict-limits")
    haproxy = haproxy.replace("maxconn 1000", f"maxconn {cap}")
    (d / "haproxy.cfg").write_text(haproxy)
    return d


def rss_anon_kib(pid):
    return run.rss_split_kib(pid)[0]


def read_response(sock):
    """Reads one response with a Content-Length body; returns its status line."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise RuntimeError(f"connection closed before the head: {data[:80]!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            raise RuntimeError("connection closed inside the body")
        body += chunk
    return head.split(b"\r\n")[0]


def open_idle(port, conns):
    socks = []
    for _ in range(conns):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(REQUEST.format(path="/index.txt").encode())
        status = read_response(s)
        if not status.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"port {port}: {status!r}")
        socks.append(s)
    return socks


def open_in_flight(port, conns, held_file, held_before):
    socks = []
    for _ in range(conns):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(REQUEST.format(path=HOLD_PATH).encode())
        socks.append(s)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if held_count(held_file) - held_before >= conns:
            return socks
        time.sleep(0.2)
    raise RuntimeError(f"port {port}: the origin holds only "
                       f"{held_count(held_file) - held_before} of {conns} requests")


def held_count(held_file):
    try:
        return int(held_file.read_text() or 0)
    except (OSError, ValueError):
        return 0


def settle(pid):
    """RssAnon once it stops moving (a proxy may still be finishing work)."""
    last = rss_anon_kib(pid)
    for _ in range(20):
        time.sleep(0.25)
        now = rss_anon_kib(pid)
        if now == last:
            return now
        last = now
    return last


def measure(procs, proxy, phase, conns, held_file):
    pid = run.serving_pid(proxy, procs.procs[proxy])
    port = run.PORTS[proxy]
    before = settle(pid)
    if phase == "idle":
        socks = open_idle(port, conns)
    else:
        socks = open_in_flight(port, conns, held_file, held_count(held_file))
    time.sleep(QUIET_WAIT)
    after = settle(pid)
    for s in socks:
        s.close()
    return {"conns": conns, "before_kib": before, "after_kib": after,
            "bytes_per_conn": (after - before) * 1024 / conns}


def start_hold_origin(procs, out):
    """The Python origin that reads requests and never answers them."""
    held = out / "held-requests"
    held.write_text("0")
    procs.start("origin", [sys.executable, str(Path(__file__)), "--hold-origin",
                           str(run.ORIGIN_PORT), str(held)], run.LOAD_CORE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", run.ORIGIN_PORT), timeout=1).close()
            return held
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the holding origin did not start")


def hold_origin(port, held_file):
    """Reads each connection's request head, counts it, and never answers."""
    count = 0
    dirty = False

    async def on_conn(reader, writer):
        nonlocal count, dirty
        try:
            await reader.readuntil(b"\r\n\r\n")
            count += 1
            dirty = True
            await reader.read()  # until the proxy gives up
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        writer.close()

    async def publish():
        nonlocal dirty
        while True:
            await asyncio.sleep(0.1)
            if dirty:
                dirty = False
                Path(held_file).write_text(str(count))

    async def main():
        server = await asyncio.start_server(on_conn, "127.0.0.1", port, backlog=4096)
        asyncio.get_running_loop().create_task(publish())
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def run_phase(phase, out, binary, conns, proxies):
    confdir = write_configs(out, conns)
    procs = run.Procs()
    figures = {}
    try:
        held = None
        if phase == "idle":
            run.start_origin(procs, out)
        else:
            held = start_hold_origin(procs, out)
        for p in proxies:
            run.start_proxy(procs, p, out, confdir, binary)
        for p in proxies:
            if phase == "idle":
                run.wait_ready(run.PORTS[p])
            else:
                wait_listening(run.PORTS[p])
        for p in proxies:
            if phase == "idle":
                # one request first, so lazily built state is in "before"
                open_idle(run.PORTS[p], 1)[0].close()
            figures[p] = measure(procs, p, phase, conns, held)
    finally:
        procs.stop()
    return figures


def wait_listening(port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.01)
    raise RuntimeError(f"port {port} is not listening")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--hold-origin":
        hold_origin(int(sys.argv[2]), sys.argv[3])
        return
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--conns", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--only", action="append", choices=run.PROXIES)
    ap.add_argument("--phase", action="append", choices=["idle", "in-flight"])
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    limit = raise_file_limit(args.conns)
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=run.ROOT, check=True)
    binary = run.ROOT / "target" / "release" / "switchyard"
    out = run.ROOT / "bench" / "out" / ("idle-" + time.strftime("%Y%m%d-%H%M%S"))
    for d in ("www", "nginx-tmp", "origin-tmp", "logs", "switchyard-log", "switchyard-run"):
        (out / d).mkdir(parents=True, exist_ok=True)
    (out / "www" / "index.txt").write_text("hello from the origin\n")
    proxies = args.only or run.PROXIES
    phases = args.phase or ["idle", "in-flight"]
    results = {"machine": run.machine(), "conns": args.conns, "file_limit": limit, "rounds": []}
    for r in range(args.rounds):
        rnd = {}
        for phase in phases:
            print(f"bench: {phase}, round {r + 1} ...", file=sys.stderr, flush=True)
            n = args.conns if phase == "idle" else in_flight_conns(args.conns, limit)
            if n < args.conns:
                print(f"bench: in flight with N = {n} (file limit {limit})", file=sys.stderr)
            rnd[phase] = run_phase(phase, out, binary, n, proxies)
        results["rounds"].append(rnd)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    print(f"machine: {json.dumps(results['machine'])}")
    print(f"\n| proxy | phase | N | RssAnon before KiB | with N open KiB | bytes per connection |")
    print("|---|---|---|---|---|---|")
    for rnd in results["rounds"]:
        for phase, figures in rnd.items():
            for p, f in figures.items():
                print(f"| {p} | {phase} | {f['conns']:,} | {f['before_kib']:,} | "
                      f"{f['after_kib']:,} | {f['bytes_per_conn']:,.0f} |")
    print(f"\nraw figures: {out / 'results.json'}", file=sys.stderr)


if __name__ == "__main__":
    main()
