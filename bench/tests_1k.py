#!/usr/bin/env python3
"""Benchmark (not a test): 1,000 tests over 1,000 rules (spec section 16).

Generates a proxy.conf of RULES rules of six kinds (regex redirects with
captures, rewrites with request headers, access rules that answer, response
header rules keyed on a request header, query-argument rules, suffix rules)
and a site.test of as many tests, each aimed at one rule and using every
kind of expectation, then times `switchyard test` and `switchyard validate`
(which runs the same tests) with the release build. Target: under 1 s.

Usage: bench/tests_1k.py [--rules N] [--keep]   (default 1000)
`bench/run.py --only tests` runs it with the other scenarios.
"""

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rule(i):
    kind = i % 6
    if kind == 0:
        return (f'rule legacy-{i} {{\n    when path ~ "^/old-{i}/(?<year>[0-9]{{4}})/([^/]+)/?$"\n'
                f'    redirect 308 "/new-{i}/{{year}}/{{2}}"\n}}\n')
    if kind == 1:
        return (f'rule api-{i} {{\n    when path ^= "/api-{i}/" and method in ["GET", "HEAD"]\n'
                f'    request header set X-Api-Version "{i}"\n    rewrite "/v2{{path}}"\n}}\n')
    if kind == 2:
        return (f'rule admin-{i} {{\n    when path ^= "/admin-{i}/" and not client_ip in ["10.0.0.0/8", "192.168.0.0/16"]\n'
                f'    respond 403 "Forbidden\\n"\n}}\n')
    if kind == 3:
        return (f'rule headers-{i} {{\n    when header("X-Tenant") == "t{i}" or cookie("tenant") == "t{i}"\n'
                f'    response header set X-Frame-Options "DENY"\n    response header remove Server\n}}\n')
    if kind == 4:
        return (f'rule debug-{i} {{\n    when exists arg("debug-{i}") and path !~ "^/(static|assets)/"\n'
                f'    request header add X-Debug "{{arg.debug-{i}}}"\n}}\n')
    return (f'rule static-{i} {{\n    when path $= ".{i}.png" and query *= "v="\n'
            f'    response header set Cache-Control "public, max-age={i}"\n}}\n')


def test(i):
    kind = i % 6
    if kind == 0:
        return (f'test "legacy {i}" {{\n    request GET "https://example.test/old-{i}/2019/hello?x=1"\n'
                f'    expect redirect 308 "/new-{i}/2019/hello?x=1"\n    expect status 308\n'
                f'    expect rules ["legacy-{i}"]\n}}\n')
    if kind == 1:
        return (f'test "api {i}" {{\n    request GET "/api-{i}/users?page=2"\n'
                f'    expect forward "/v2/api-{i}/users?page=2"\n'
                f'    expect request header X-Api-Version "{i}"\n    expect rule "api-{i}"\n}}\n')
    if kind == 2:
        return (f'test "admin {i}" {{\n    request GET "https://example.test/admin-{i}/users"\n'
                f'    client_ip "203.0.113.9"\n    expect respond 403 "Forbidden\\n"\n'
                f'    expect response header Content-Type "text/plain; charset=utf-8"\n}}\n')
    if kind == 3:
        return (f'test "headers {i}" {{\n    request GET "/"\n    header X-Tenant "t{i}"\n'
                f'    upstream 200\n    upstream header Server "origin"\n'
                f'    expect no response header Server\n    expect response header X-Frame-Options "DENY"\n'
                f'    expect rules ["headers-{i}"]\n}}\n')
    if kind == 4:
        return (f'test "debug {i}" {{\n    request GET "/page?debug-{i}=on"\n'
                f'    expect forward "/page?debug-{i}=on"\n    expect request header X-Debug "on"\n'
                f'    expect no request header X-Api-Version\n}}\n')
    return (f'test "static {i}" {{\n    request GET "/img/a.{i}.png?v=3"\n    upstream 404\n'
            f'    expect status 404\n    expect response header Cache-Control "public, max-age={i}"\n}}\n')


def write_suite(directory, rules):
    """Writes DIR/proxy.conf and DIR/site.test with RULES rules and tests."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "proxy.conf").write_text("".join(rule(i) + "\n" for i in range(rules)))
    (directory / "site.test").write_text("".join(test(i) + "\n" for i in range(rules)))
    return directory


def time_command(argv, tries=5):
    """Median and best wall-clock ms, and median CPU ms, of `tries` runs."""
    walls, cpus = [], []
    subprocess.run(argv, capture_output=True)  # warm the page cache
    for _ in range(tries):
        t0 = time.monotonic()
        r = subprocess.run(["/usr/bin/time", "-f", "%U %S"] + argv, capture_output=True, text=True)
        walls.append((time.monotonic() - t0) * 1000)
        if r.returncode != 0:
            sys.exit(f"{' '.join(argv)} failed ({r.returncode}):\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
        user, system = r.stderr.strip().splitlines()[-1].split()
        cpus.append((float(user) + float(system)) * 1000)
    return {"wall_ms": statistics.median(walls), "best_ms": min(walls), "cpu_ms": statistics.median(cpus)}


def test_times(binary, rules=1000, keep=False):
    """Times `switchyard test` and `switchyard validate` over a generated suite."""
    work = Path(tempfile.mkdtemp(prefix="switchyard-tests-"))
    try:
        write_suite(work, rules)
        return {
            "switchyard test": time_command([str(binary), "test", str(work)]),
            "switchyard validate": time_command([str(binary), "validate", str(work)]),
        }
    finally:
        if keep:
            print(f"suite kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rules", type=int, default=1000)
    ap.add_argument("--keep", action="store_true", help="keep the generated directory")
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "switchyard"], cwd=ROOT, check=True)
    binary = ROOT / "target" / "release" / "switchyard"
    for name, t in test_times(binary, args.rules, args.keep).items():
        print(f"{name}: {args.rules} tests over {args.rules} rules: wall median {t['wall_ms']:.0f} ms "
              f"(best {t['best_ms']:.0f} ms), CPU median {t['cpu_ms']:.0f} ms (target < 1000 ms)")


if __name__ == "__main__":
    main()
