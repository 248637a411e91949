#!/usr/bin/env bash
# First-level data-cache misses per decision, writ and the hand-written Rust function, on
# the same generated requests (`examples/instructions.rs`), simulated by valgrind's
# callgrind (`--cache-sim=yes`) over the measured loop alone (`--toggle-collect`): what
# grows from 10 to 10,000 rules when the instruction count does not.
#
#   benches/cache_misses.sh [DECISIONS] [RULES...]   (default 10000; 10 and 10000 rules)
#
# Needs valgrind (`apt-get install -y valgrind`). The simulated caches are valgrind's
# defaults for the machine (it prints them with `--cache-sim=yes`).
set -euo pipefail
cd "$(dirname "$0")/.."
decisions=${1:-10000}
shift || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10 10000)
command -v valgrind >/dev/null || { echo "error: valgrind is not installed (apt-get install -y valgrind)" >&2; exit 1; }
cargo build --quiet --release --example instructions
bin=target/release/examples/instructions
out=$(mktemp)
trap 'rm -f "$out"' EXIT

count() { # engine permits -> "instructions D1-read-misses D1-write-misses LL-data-misses"
  valgrind --tool=callgrind --cache-sim=yes --callgrind-out-file="$out" \
    --toggle-collect="*measured_loop_$1*" "$bin" "$1" "$2" "$decisions" >/dev/null 2>&1
  # The totals line: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw.
  awk '/^summary:/ { print $2, $6, $7, $9 + $10 }' "$out"
}

printf '%8s %6s %14s %14s %14s\n' rules engine "instr/dec" "D1 miss/dec" "LL miss/dec"
for permits in "${sizes[@]}"; do
  for engine in writ rust; do
    read -r ir d1r d1w ll < <(count "$engine" "$permits")
    awk -v p="$permits" -v e="$engine" -v ir="$ir" -v r="$d1r" -v w="$d1w" -v ll="$ll" -v d="$decisions" \
      'BEGIN { printf "%8d %6s %14.0f %14.1f %14.2f\n", p, e, ir / d, (r + w) / d, ll / d }'
  done
done
