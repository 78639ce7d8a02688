#!/usr/bin/env bash
# CID of the same 1 GiB file with `taskproof cid` (release), the JS reference
# importer (ipfs-unixfs-importer on node) and, as the physical limit,
# `openssl dgst -sha256`; then `taskproof car verify` on the file's CAR.
# Each command runs RUNS times (default 3); prints median times, their
# ratios and the largest peak RSS.
#   benches/scripts/cid_vs_js.sh [SIZE_MIB] [PROFILE]
#   RUNS=5 benches/scripts/cid_vs_js.sh 1024 unixfs-v1-2025
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
size_mib="${1:-1024}"
profile="${2:-unixfs-v0-2015}"
RUNS="${RUNS:-3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [ ! -x /usr/bin/time ]; then
  echo "installing GNU time (Debian package 'time') for peak RSS" >&2
  apt-get install -y time >/dev/null
fi
(cd "$root/fixtures/ipfs" && [ -d node_modules ] || npm ci --silent)
cargo build --release -q -p taskproof-node --manifest-path "$root/Cargo.toml"
bin="$root/target/release/taskproof"

file="$work/input.bin"
head -c "$((size_mib * 1024 * 1024))" /dev/urandom > "$file"
cat "$file" > /dev/null   # warm the page cache so every tool reads from memory

# measure NAME CMD... -> runs CMD $RUNS times; sets secs (the median wall
# time) and rss_mib (the largest peak RSS); keeps the last run's stdout
measure() {
  local name="$1"; shift
  local times=() users=()
  rss_mib=0
  for _ in $(seq 1 "$RUNS"); do
    /usr/bin/time -v -o "$work/$name.time" "$@" > "$work/$name.out"
    times+=("$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]; print s}' "$work/$name.time")")
    rss_mib=$(awk -F': ' -v m="$rss_mib" '/Maximum resident set size/ {r=$2/1024; printf "%.1f", (r > m ? r : m)}' "$work/$name.time")
    users+=("$(awk -F': ' '/User time \(seconds\)/ {print $2}' "$work/$name.time")")
  done
  user_secs=$(printf '%s\n' "${users[@]}" | sort -g | head -n1)
  secs=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')
}

measure openssl openssl dgst -sha256 "$file"; t_ssl=$secs; r_ssl=$rss_mib; u_ssl=$user_secs
measure rust "$bin" cid --profile "$profile" "$file"; t_rust=$secs; r_rust=$rss_mib
cid_rust=$(cat "$work/rust.out")
measure js node "$root/fixtures/ipfs/bench-js.mjs" cid "$file" "$profile"; t_js=$secs; r_js=$rss_mib
cid_js=$(cat "$work/js.out")

echo "file: ${size_mib} MiB, profile $profile, $(nproc) cores, median of $RUNS runs"
printf '%-28s %8s s  %8s MiB RSS\n' "openssl dgst -sha256" "$t_ssl" "$r_ssl"
printf '%-28s %8s s  %8s MiB RSS  %s\n' "taskproof cid" "$t_rust" "$r_rust" "$cid_rust"
printf '%-28s %8s s  %8s MiB RSS  %s\n' "ipfs-unixfs-importer (node)" "$t_js" "$r_js" "$cid_js"
[ "$cid_rust" = "$cid_js" ] && echo "CIDs agree" || { echo "CIDs DIFFER"; exit 1; }
awk -v a="$t_ssl" -v b="$t_rust" -v c="$t_js" -v u="$u_ssl" -v n="$(nproc)" 'BEGIN {
  printf "taskproof cid vs openssl: %.2fx as fast (target >= 1)\n", a / b
  printf "taskproof cid vs JS:      %.2fx as fast (target >= 4)\n", c / b
  # Every byte is hashed once: openssl'"'"'s CPU time, shared by every core,
  # is the floor for any tool, and caps the ratio against the JS importer.
  printf "SHA-256 floor on %d cores: %.2f s (openssl CPU %.2f s / %d); best possible vs JS: %.2fx\n", n, u / n, u, n, c / (u / n) }'

car="$work/input.car"
node "$root/fixtures/ipfs/bench-js.mjs" car "$file" "$profile" "$car" > /dev/null
cat "$car" > /dev/null
measure ssl_car openssl dgst -sha256 "$car"; t_ssl_car=$secs
measure car "$bin" car verify "$car"; t_car=$secs; r_car=$rss_mib
printf '%-28s %8s s  %8s MiB RSS  %s\n' "taskproof car verify" "$t_car" "$r_car" "$(cat "$work/car.out")"
awk -v a="$t_ssl_car" -v b="$t_car" 'BEGIN {
  printf "car verify vs openssl on the CAR (%.2f s): %.2fx as fast (target >= 1)\n", a, a / b }'
