#!/usr/bin/env bash
# Runs every fuzz target for N seconds, up to J at a time, and writes one summary line per
# target (executions, coverage, features, crashes) to fuzz/results/summary.txt.
#
#   fuzz/run-all.sh SECONDS [JOBS] [TARGET...]
#   FUZZ_BIN_DIR=/path/to/binaries fuzz/run-all.sh 600 16    # prebuilt, no cargo needed
#
# Without FUZZ_BIN_DIR it builds with `cargo +nightly fuzz build -O -a -s none` and runs the
# binaries from fuzz/target/x86_64-unknown-linux-gnu/release/. Each target reads its seeds
# from fuzz/corpus/<t>/ and fuzz/regressions/<t>/ (never written to) and grows a working
# corpus in fuzz/work/<t>/; crash, timeout and out-of-memory inputs land in
# fuzz/results/<t>/ (copy the ones that matter into fuzz/regressions/<t>/). Logs:
# fuzz/results/<t>.log. Environment: FUZZ_RESULTS (results dir), FUZZ_RSS_MB (2048),
# FUZZ_TIMEOUT_S (1), FUZZ_EXTRA (more libFuzzer flags).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
secs="${1:?usage: run-all.sh SECONDS [JOBS] [TARGET...]}"
jobs="${2:-1}"
shift $(( $# >= 2 ? 2 : 1 ))
all=(policy request registry webauthn_client_data webauthn_auth_data webauthn_attestation
     cose_key grant audit repl_line invariants)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
results="${FUZZ_RESULTS:-$here/results}"
rss="${FUZZ_RSS_MB:-2048}"
timeout_s="${FUZZ_TIMEOUT_S:-1}"
mkdir -p "$results"

if [ -n "${FUZZ_BIN_DIR:-}" ]; then
  bin_dir="$FUZZ_BIN_DIR"
else
  (cd "$here" && cargo +nightly fuzz build -O -a -s none) || exit 1
  bin_dir="$here/target/x86_64-unknown-linux-gnu/release"
fi

dict_of() {
  case "$1" in
    policy|invariants|repl_line) echo "$here/dict/writ.dict" ;;
    request|webauthn_client_data|grant|audit) echo "$here/dict/json.dict" ;;
    registry) echo "$here/dict/toml.dict" ;;
    *) echo "" ;;
  esac
}

run_one() {
  local t="$1" bin="$bin_dir/$1" dict out="$results/$1"
  [ -x "$bin" ] || { echo "$t: no binary $bin" >&2; return 1; }
  dict="$(dict_of "$t")"
  mkdir -p "$here/work/$t" "$out"
  local seeds=()
  for d in "$here/corpus/$t" "$here/regressions/$t"; do [ -d "$d" ] && seeds+=("$d"); done
  # -fork with -ignore_crashes: a known crash (a regression file) does not end the run;
  # every crash is kept in $out and counted.
  "$bin" "$here/work/$t" "${seeds[@]}" ${dict:+-dict="$dict"} \
    -max_total_time="$secs" -rss_limit_mb="$rss" -timeout="$timeout_s" \
    -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -artifact_prefix="$out/" -print_final_stats=1 ${FUZZ_EXTRA:-} \
    >"$results/$t.log" 2>&1
  summarize "$t"
}

summarize() {
  local t="$1" log="$results/$1.log" execs cov ft crashes
  # libFuzzer's last status line: `#N ... cov: C ft: F corp: ...`; with -fork the stats
  # lines read `#N: cov: C ft: F corp: ... exec/s: ...`.
  execs=$(grep -Eo '^#[0-9]+' "$log" | tail -1 | tr -d '#')
  cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}')
  ft=$(grep -Eo 'ft: [0-9]+' "$log" | tail -1 | awk '{print $2}')
  crashes=$(find "$results/$t" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l)
  printf '%-22s execs=%-10s cov=%-6s ft=%-7s crashes=%s\n' \
    "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$crashes" >>"$results/summary.txt"
}

: >"$results/summary.txt"
running=0
for t in "${targets[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait
sort -o "$results/summary.txt" "$results/summary.txt"
cat "$results/summary.txt"
