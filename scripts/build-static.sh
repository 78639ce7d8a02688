#!/usr/bin/env bash
# Builds `taskproof` as a static x86_64 Linux binary (musl): no libc, no
# loader, nothing from /etc, so it runs in an empty root directory or a
# `FROM scratch` image (packaging/Dockerfile).
#
#   scripts/build-static.sh            release build (what ships)
#   scripts/build-static.sh --debug    dev profile (what the tests run)
#
# Needs the Rust target (`rustup target add x86_64-unknown-linux-musl`, done
# here when rustup is present) and Debian's `musl-tools`, whose `musl-gcc`
# compiles the C in the dependencies (libsecp256k1, ring). Prints the
# binary's path on its last line.
set -euo pipefail

target=x86_64-unknown-linux-musl
profile=release
dir=release
case "${1:-}" in
  "") ;;
  --debug) profile=dev; dir=debug ;;
  *) echo "usage: $0 [--debug]" >&2; exit 3 ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if ! command -v musl-gcc >/dev/null; then
  echo "error: musl-gcc is missing: apt-get install musl-tools" >&2
  exit 1
fi
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$target"; then
  rustup target add "$target" >&2
fi

export CC_x86_64_unknown_linux_musl=musl-gcc
export AR_x86_64_unknown_linux_musl=ar
cargo build --locked --profile "$profile" --target "$target" -p taskproof-node --bin taskproof >&2

binary="${CARGO_TARGET_DIR:-$root/target}/$target/$dir/taskproof"
# A static binary has no interpreter and needs no shared library.
if readelf -l "$binary" | grep -q "Requesting program interpreter" \
  || readelf -d "$binary" | grep -q "(NEEDED)"; then
  echo "error: $binary is not static:" >&2
  readelf -d "$binary" | grep "(NEEDED)" >&2 || true
  exit 1
fi
echo "$binary"
