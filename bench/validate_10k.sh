#!/usr/bin/env bash
# Benchmark (not a test): generate a proxy.conf of 10,000 rules that uses every
# kind of condition, action and template, and time `switchyard validate` on it
# with the release build. Target: under 0.5 s.
#
# Usage: bench/validate_10k.sh [RULES]   (default 10000)
set -euo pipefail

rules="${1:-10000}"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin switchyard
bin="$root/target/release/switchyard"

conf="$work/proxy.conf"
{
    printf 'settings {\n    access_log ltsv\n    upstream_connect_timeout 2s\n}\n\n'
    for ((i = 0; i < rules; i++)); do
        case $((i % 6)) in
        0) printf 'rule legacy-%d {\n    when path ~ "^/old-%d/(?<year>[0-9]{4})/([^/]+)/?$" and host == "Example%d.com"\n    redirect 308 "https://{host}/new-%d/{year}/{2}"\n}\n' "$i" "$i" "$i" "$i" ;;
        1) printf 'rule api-%d {\n    when path ^= "/api-%d/" and method in ["GET", "HEAD", "OPTIONS"]\n    request header set X-Api-Version "%d"\n    rewrite "/v2{path}"\n}\n' "$i" "$i" "$i" ;;
        2) printf 'rule admin-%d {\n    when path ^= "/admin-%d" and not client_ip in ["10.0.0.0/8", "192.168.0.0/16", "2001:db8::/32"]\n    respond 403 "Forbidden\\n"\n}\n' "$i" "$i" ;;
        3) printf 'rule headers-%d {\n    when header("X-Tenant") == "t%d" or cookie("tenant") == "t%d"\n    response header set X-Frame-Options "DENY"\n    response header add X-Served-By "rule-%d {client_ip}"\n    response header remove Server\n}\n' "$i" "$i" "$i" "$i" ;;
        4) printf 'rule exists-%d {\n    when exists arg("debug-%d") and path !~ "^/(static|assets)/"\n    request header add X-Debug "{arg.debug-%d}"\n}\n' "$i" "$i" "$i" ;;
        5) printf 'rule static-%d {\n    when path $= ".%d.png" and query *= "v="\n    response header set Cache-Control "public, max-age=%d"\n}\n' "$i" "$i" "$i" ;;
        esac
    done
} >"$conf"

size=$(wc -c <"$conf")
echo "proxy.conf: $rules rules, $size bytes"

# One warm-up run (page cache), then the best and the median of five.
"$bin" validate "$work"
times=()
for _ in 1 2 3 4 5; do
    start=$(date +%s.%N)
    "$bin" validate "$work"
    end=$(date +%s.%N)
    times+=("$(echo "$end - $start" | bc)")
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
best=$(echo "$sorted" | head -1)
median=$(echo "$sorted" | sed -n 3p)
printf 'switchyard validate: best %.3f s, median %.3f s (target < 0.5 s)\n' "$best" "$median"
