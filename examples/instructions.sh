#!/bin/sh
# Instructions per decision, writ and the hand-written Rust function, on the same
# generated workload and requests (valgrind callgrind; stable on a noisy machine).
# Each figure is the difference of two runs (A and B decisions) divided by B - A, so the
# set-up (generating, compiling, binding) cancels out.
#
# Usage: examples/instructions.sh [permits ...]   (default: 1000 10000)
# Needs valgrind (apt-get install valgrind).
set -eu
cd "$(dirname "$0")/.."
cargo build --release --example profile_workload >&2
bin=target/release/examples/profile_workload
A=10000
B=60000
ir() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" "$3" 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
per() {
    a=$(ir "$1" $A "$2")
    b=$(ir "$1" $B "$2")
    echo $(((b - a) / (B - A)))
}
[ $# -gt 0 ] || set -- 1000 10000
for n in "$@"; do
    w=$(per "$n" writ)
    r=$(per "$n" rust)
    echo "permits $n: writ $w, hand-written $r instructions per decision, ratio $(echo "scale=2; $w / $r" | bc)"
done
