#!/usr/bin/env bash
# The portable wheel: one abi3 wheel built for the baseline x86-64 target (no AVX, AVX2,
# AVX-512 or FMA; RUSTFLAGS replaces .cargo/config.toml's target-cpu=native), installed into a
# fresh virtual environment and smoke-tested natively and under qemu-user as older CPUs
# (Debian: `apt-get install qemu-user`): .ci/wheel_smoke.py must run and print the same
# spikes on each. Not part of .ci/run (it builds the extension a second time).
# Usage: .ci/portable_wheel.sh [OUT_DIR]   (needs maturin on PATH; default OUT_DIR
# target/portable)
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(realpath -m "${1:-target/portable}")"
rm -rf "$out" && mkdir -p "$out"
RUSTFLAGS="-C target-cpu=x86-64" CARGO_TARGET_DIR="$out/build" \
    maturin build --release --quiet --out "$out/wheel"
python3 -m venv "$out/venv"
"$out/venv/bin/pip" install --quiet "$out"/wheel/spikeshard-*.whl
python="$out/venv/bin/python"
cd "$out"  # away from the source tree: the installed wheel is what runs
reference="$("$python" "$OLDPWD/.ci/wheel_smoke.py")"
echo "native: $reference"
for cpu in Nehalem Haswell; do
    got="$(qemu-x86_64 -cpu "$cpu" "$python" "$OLDPWD/.ci/wheel_smoke.py")"
    echo "$cpu: $got"
    [ "$got" = "$reference" ] || { echo "spikes differ under -cpu $cpu"; exit 1; }
done
echo "PORTABLE WHEEL OK"
