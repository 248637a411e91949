#!/usr/bin/env bash
# Instructions per decision, writ and the hand-written Rust function, on the same generated
# requests (`examples/instructions.rs`), counted by valgrind's callgrind over the measured
# loop alone (`--toggle-collect`): a figure that noise on a shared machine does not move.
#
#   benches/instructions.sh [DECISIONS]        (default 20000; at 1,000 and 10,000 rules)
#
# Needs valgrind (`apt-get install -y valgrind`).
set -euo pipefail
cd "$(dirname "$0")/.."
decisions=${1:-20000}
command -v valgrind >/dev/null || { echo "error: valgrind is not installed (apt-get install -y valgrind)" >&2; exit 1; }
cargo build --quiet --release --example instructions
bin=target/release/examples/instructions

count() { # engine permits -> instructions in the measured loop
  local out
  out=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    --toggle-collect="*measured_loop_$1*" "$bin" "$1" "$2" "$decisions" 2>&1 >/dev/null)
  echo "$out" | sed -n 's/.*Collected : \([0-9]*\).*/\1/p' | tail -1
}

printf '%8s %16s %16s %8s\n' rules "writ instr/dec" "rust instr/dec" ratio
for permits in 1000 10000; do
  w=$(count writ "$permits")
  r=$(count rust "$permits")
  [ -n "$w" ] && [ -n "$r" ] || { echo "error: callgrind gave no count" >&2; exit 1; }
  awk -v p="$permits" -v w="$w" -v r="$r" -v d="$decisions" \
    'BEGIN { printf "%8d %16.0f %16.0f %7.2fx\n", p, w / d, r / d, w / r }'
done
