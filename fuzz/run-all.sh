#!/usr/bin/env bash
# Runs every fuzz target for N seconds, up to J at a time, and writes one summary line per
# target (executions, coverage, features, crash/timeout/out-of-memory files, and how many
# of those are new: not a committed regression file) to fuzz/results/summary.txt.
#
#   fuzz/run-all.sh SECONDS [JOBS] [TARGET...]
#   FUZZ_BIN_DIR=/path/to/binaries fuzz/run-all.sh 600 16    # prebuilt, no cargo needed
#
# Without FUZZ_BIN_DIR it builds with `cargo +nightly fuzz build -O -a` (AddressSanitizer,
# debug assertions and overflow checks on, optimised) and runs the
# binaries from fuzz/target/x86_64-unknown-linux-gnu/release/. Each target reads its seeds
# from fuzz/corpus/<t>/ and fuzz/regressions/<t>/ (never written to) and grows a working
# corpus in fuzz/work/<t>/; crash, timeout and out-of-memory inputs land in
# fuzz/results/<t>/ (copy the ones that matter into fuzz/regressions/<t>/). Logs:
# fuzz/results/<t>.log. Environment: FUZZ_RESULTS (results dir), FUZZ_RSS_MB (2048),
# FUZZ_TIMEOUT_S (1), FUZZ_MAX_LEN (32768 bytes: longer seeds are cut to it, so the
# 10,000-term chains do not make every mutation 170 KB), FUZZ_EXTRA (more libFuzzer flags).
# A directory of binaries made by fuzz/pack.sh carries the shared libraries they need in
# lib/: it is put on LD_LIBRARY_PATH.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
secs="${1:?usage: run-all.sh SECONDS [JOBS] [TARGET...]}"
jobs="${2:-1}"
shift $(( $# >= 2 ? 2 : 1 ))
all=(policy request batch authzen registry webauthn_client_data webauthn_auth_data webauthn_attestation
     cose_key grant invitation audit repl_line invariants callers_toml jwks jwt client_cert)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
results="${FUZZ_RESULTS:-$here/results}"
rss="${FUZZ_RSS_MB:-2048}"
timeout_s="${FUZZ_TIMEOUT_S:-1}"
max_len="${FUZZ_MAX_LEN:-32768}"
mkdir -p "$results"

if [ -n "${FUZZ_BIN_DIR:-}" ]; then
  bin_dir="$(cd "$FUZZ_BIN_DIR" && pwd)"
  [ -d "$bin_dir/lib" ] && export LD_LIBRARY_PATH="$bin_dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
else
  (cd "$here" && cargo +nightly fuzz build -O -a) || exit 1
  bin_dir="$here/target/x86_64-unknown-linux-gnu/release"
fi

dict_of() {
  case "$1" in
    policy|invariants|repl_line) echo "$here/dict/writ.dict" ;;
    request|batch|webauthn_client_data|grant|audit|jwks|jwt) echo "$here/dict/json.dict" ;;
    registry|callers_toml) echo "$here/dict/toml.dict" ;;
    *) echo "" ;;
  esac
}

run_one() {
  local t="$1" bin="$bin_dir/$1" dict out="$results/$1"
  # The one-binary build (`all`, what fuzz/pack.sh carries) runs any target by name.
  if [ ! -x "$bin" ] && [ -x "$bin_dir/all" ]; then
    bin="$bin_dir/all"
    export WRIT_FUZZ_TARGET="$t"
  fi
  [ -x "$bin" ] || { echo "$t: no binary $bin" >&2; return 1; }
  dict="$(dict_of "$t")"
  mkdir -p "$here/work/$t" "$out"
  local seeds=()
  for d in "$here/corpus/$t" "$here/regressions/$t"; do [ -d "$d" ] && seeds+=("$d"); done
  # -fork with -ignore_crashes: a known crash (a regression file) does not end the run;
  # every crash is kept in $out and counted.
  "$bin" "$here/work/$t" "${seeds[@]}" ${dict:+-dict="$dict"} \
    -max_total_time="$secs" -rss_limit_mb="$rss" -timeout="$timeout_s" -max_len="$max_len" \
    -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -artifact_prefix="$out/" -print_final_stats=1 ${FUZZ_EXTRA:-} \
    >"$results/$t.log" 2>&1
  summarize "$t"
}

summarize() {
  local t="$1" log="$results/$1.log" execs cov ft crashes timeouts ooms new=0 f known
  # libFuzzer's last status line: `#N ... cov: C ft: F corp: ...` (in fork mode
  # `#N: cov: C ft: F corp: ...`).
  execs=$(grep -Eo '^#[0-9]+' "$log" | tail -1 | tr -d '#')
  cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}')
  ft=$(grep -Eo 'ft: [0-9]+' "$log" | tail -1 | awk '{print $2}')
  crashes=$(find "$results/$t" -type f \( -name 'crash-*' -o -name 'leak-*' \) | wc -l)
  timeouts=$(find "$results/$t" -type f -name 'timeout-*' | wc -l)
  ooms=$(find "$results/$t" -type f -name 'oom-*' | wc -l)
  # An artifact is named after the SHA-1 of its bytes: one that is a committed regression
  # file is known; the others are new.
  known=" $(for r in "$here/regressions/$t"/*; do [ -f "$r" ] && sha1sum "$r" | cut -d' ' -f1; done | tr '\n' ' ')"
  for f in "$results/$t"/crash-* "$results/$t"/timeout-* "$results/$t"/oom-* "$results/$t"/leak-*; do
    [ -f "$f" ] || continue
    case "$known" in *" ${f##*-} "*) ;; *) new=$((new + 1)) ;; esac
  done
  printf '%-22s execs=%-10s cov=%-6s ft=%-7s crashes=%-3s timeouts=%-3s ooms=%-3s new=%s\n' \
    "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$crashes" "$timeouts" "$ooms" "$new" >>"$results/summary.txt"
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
