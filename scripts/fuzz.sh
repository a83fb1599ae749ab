#!/usr/bin/env bash
# cargo-fuzz targets (fuzz/fuzz_targets): cookie and header parsing, token
# parsing (session tokens and JWTs through tessera-verify), JSON bodies, the
# CSRF check, the OAuth flow cookie and return_to.
#
# The test command runs each briefly: a fixed number of runs from a fixed
# seed, starting from the committed seeds (fuzz/seeds/<target>), so a run is
# reproducible and bounded. Longer, on demand:
#   FUZZ_RUNS=10000000 bash scripts/fuzz.sh            # every target
#   FUZZ_RUNS=-1 FUZZ_SECONDS=600 bash scripts/fuzz.sh tokens
#
# Only a stable toolchain is installed here: RUSTC_BOOTSTRAP=1 lets it take
# the unstable flags cargo-fuzz passes, and `--sanitizer none` avoids
# needing a sanitizer runtime (libFuzzer's coverage guidance still works).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

RUNS=${FUZZ_RUNS:-50000}
SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  TARGETS=(cookies tokens json_body csrf oauth_flow)
fi

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# Its own build directory: sanitizer-coverage flags must not touch the main one.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}-fuzz"
export RUSTC_BOOTSTRAP=1

for target in "${TARGETS[@]}"; do
  corpus=$(mktemp -d)
  echo "fuzz $target: $RUNS runs, seed 1"
  log=$(mktemp)
  set +e
  cargo fuzz run --sanitizer none "$target" "$corpus" "fuzz/seeds/$target" -- \
    -runs="$RUNS" -seed=1 -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 >"$log" 2>&1
  status=$?
  set -e
  grep -E '^(Done|stat::number_of_executed_units)|panicked|ERROR|SUMMARY|^error' "$log" || true
  rm -f "$log"
  rm -rf "$corpus"
  if [ "$status" -ne 0 ]; then
    echo "fuzz $target failed (exit $status); reproduce with: RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none $target <crash file>" >&2
    exit "$status"
  fi
done
echo "fuzz: ${#TARGETS[@]} targets passed"
