#!/usr/bin/env bash
# Load on `writ serve` against the HTTP stack's floor (issue 12 §7): decisions/s and
# p50/p99 at 1, 16 and 64 connections for /v1/decide and /access/v1/evaluation, a batch
# of 50 on /v1/decide, and the same load on a bare axum handler answering fixed JSON
# (crates/server/examples/floor.rs). Loopback only; every run is bounded (DUR, default 5s).
#
#   benches/serve.sh            # needs wrk (Debian: apt-get install wrk)
#   DUR=10s benches/serve.sh
#   PORT=28180 benches/serve.sh              # other ports (PORT.. for the API, PORT+1000.. admin)
#   WRIT=/tmp/writ-before benches/serve.sh   # another build of writ (before/after a change)
#
# Prints two Markdown tables: wrk in the clear, then `load` (crates/server/examples/load.rs,
# which wrk cannot replace: it presents a client certificate) in the clear and over mutual
# TLS, writ and the floor each behind the same TLS setup (rustls, a certificate the script
# makes, the client's SPIFFE ID an enforcement point in callers.toml). Load generator and
# servers share the machine's cores: the figures compare writ with the floor on the same
# machine, not with other machines.
set -euo pipefail
DUR=${DUR:-5s}
# Ports: PORT (default 18180) and the next ones for the API, PORT+1000 on for admin.
P=${PORT:-18180}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
command -v wrk >/dev/null || { echo "error: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
floor=target/release/examples/floor
if [ -n "${WRIT:-}" ]; then
  writ=$WRIT
  [ -x "$floor" ] || cargo build --release -p writ-server --example floor >&2
  [ -x target/release/examples/load ] || cargo build --release -p writ-server --example load >&2
else
  # Always through cargo: a stale binary would measure old code.
  writ=target/release/writ
  cargo build --release -p writ-cli >&2
  cargo build --release -p writ-server --example floor --example load >&2
fi
load=target/release/examples/load
echo "writ: $writ; load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

"$writ" serve policies/prod-database --insecure-dev-identity --listen 127.0.0.1:$P \
  --admin 127.0.0.1:$((P + 1000)) --max-in-flight 100000 2>"$tmp/writ1.log" & pids+=($!)
"$writ" serve policies/authzen-certification --insecure-dev-identity --listen 127.0.0.1:$((P + 1)) \
  --admin 127.0.0.1:$((P + 1001)) --max-in-flight 100000 2>"$tmp/writ2.log" & pids+=($!)
"$floor" 127.0.0.1:$((P + 10)) & pids+=($!)
# The same servers over mutual TLS.
"$load" certs "$tmp/pki"
tls=(--callers "$tmp/pki/callers.toml" --tls-cert "$tmp/pki/server.pem" --tls-key "$tmp/pki/server.key"
     --client-ca "$tmp/pki/ca.pem")
"$writ" serve policies/prod-database "${tls[@]}" --listen 127.0.0.1:$((P + 2)) \
  --admin 127.0.0.1:$((P + 1002)) --max-in-flight 100000 2>"$tmp/writ3.log" & pids+=($!)
"$writ" serve policies/authzen-certification "${tls[@]}" --listen 127.0.0.1:$((P + 3)) \
  --admin 127.0.0.1:$((P + 1003)) --max-in-flight 100000 2>"$tmp/writ4.log" & pids+=($!)
"$floor" 127.0.0.1:$((P + 11)) "$tmp/pki" & pids+=($!)
for url in http://127.0.0.1:$((P + 1000))/readyz http://127.0.0.1:$((P + 1001))/readyz \
           http://127.0.0.1:$((P + 1002))/readyz http://127.0.0.1:$((P + 1003))/readyz; do
  for _ in $(seq 1 100); do curl -sf "$url" >/dev/null && break; sleep 0.1; done
  curl -sf "$url" >/dev/null || { echo "error: $url never became ready" >&2; cat "$tmp"/*.log >&2; exit 1; }
done

# A port another process holds would make the readiness check above answer for it.
for p in "${pids[@]}"; do
  kill -0 "$p" 2>/dev/null || { echo "error: a server did not start (a port in use?):" >&2; cat "$tmp"/*.log >&2; exit 1; }
done

# Bodies.
cp policies/prod-database/requests/prod-write.json "$tmp/decide.json"
# An allow as well (with its obligations): most decisions are not approvals.
cp policies/prod-database/requests/break-glass-write.json "$tmp/allow.json"
printf '%s' '{"subject":{"type":"user","id":"alice"},"action":{"name":"read"},"resource":{"type":"record","id":"record-1"}}' >"$tmp/eval.json"
python3 - "$tmp" <<'PY'
import json, sys
d = sys.argv[1]
req = json.load(open(f"{d}/decide.json"))
json.dump({"requests": [req] * 50}, open(f"{d}/batch.json", "w"))
PY
for name in decide allow eval batch; do
  cat >"$tmp/$name.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$tmp/$name.json", "rb"); wrk.body = f:read("*a"); f:close()
LUA
done

# One run: prints "rps p50 p99".
run() { # url lua connections
  local threads=$(( $3 < 2 ? $3 : 2 ))
  wrk -t"$threads" -c"$3" -d"$DUR" --latency -s "$2" "$1" >"$tmp/out" 2>&1
  local rps p50 p99
  rps=$(awk '/^Requests\/sec/ {print $2}' "$tmp/out")
  p50=$(awk '$1=="50%" {print $2}' "$tmp/out")
  p99=$(awk '$1=="99%" {print $2}' "$tmp/out")
  if grep -q "Non-2xx" "$tmp/out"; then echo "error: non-2xx responses:" >&2; cat "$tmp/out" >&2; exit 1; fi
  echo "$rps $p50 $p99"
}

echo "| target | connections | requests/s | decisions/s | p50 | p99 |"
echo "|---|---|---|---|---|---|"
for c in 1 16 64; do
  for t in "floor (bare axum, fixed JSON)|http://127.0.0.1:$((P + 10))/|$tmp/eval.lua|1" \
           "/v1/decide (prod-write.json)|http://127.0.0.1:$P/v1/decide|$tmp/decide.lua|1" \
           "/v1/decide (break-glass-write.json, an allow)|http://127.0.0.1:$P/v1/decide|$tmp/allow.lua|1" \
           "/access/v1/evaluation (fixture)|http://127.0.0.1:$((P + 1))/access/v1/evaluation|$tmp/eval.lua|1" \
           "/v1/decide batch of 50|http://127.0.0.1:$P/v1/decide|$tmp/batch.lua|50"; do
    IFS='|' read -r label url lua per <<<"$t"
    read -r rps p50 p99 <<<"$(run "$url" "$lua" "$c")"
    dps=$(python3 -c "print(round($rps * $per))")
    echo "| $label | $c | $rps | $dps | $p50 | $p99 |"
  done
done

# The same load through `load`, in the clear and over mutual TLS (milliseconds per run).
ms=$(python3 -c "import re; d='$DUR'; m=re.fullmatch(r'(\d+)(ms|s|m)', d); print(int(m[1]) * {'ms': 1, 's': 1000, 'm': 60000}[m[2]])")
echo
echo "| target (load) | transport | connections | requests/s | p50 | p99 |"
echo "|---|---|---|---|---|---|"
for c in 1 16 64; do
  for t in "floor (bare axum, fixed JSON)|clear|http://127.0.0.1:$((P + 10))/|$tmp/eval.json|" \
           "floor (bare axum, fixed JSON)|mTLS|https://127.0.0.1:$((P + 11))/|$tmp/eval.json|$tmp/pki" \
           "/v1/decide (prod-write.json)|clear|http://127.0.0.1:$P/v1/decide|$tmp/decide.json|" \
           "/v1/decide (prod-write.json)|mTLS|https://127.0.0.1:$((P + 2))/v1/decide|$tmp/decide.json|$tmp/pki" \
           "/access/v1/evaluation (fixture)|clear|http://127.0.0.1:$((P + 1))/access/v1/evaluation|$tmp/eval.json|" \
           "/access/v1/evaluation (fixture)|mTLS|https://127.0.0.1:$((P + 3))/access/v1/evaluation|$tmp/eval.json|$tmp/pki"; do
    IFS='|' read -r label transport url body pki <<<"$t"
    read -r n rps p50 p99 errors <<<"$("$load" run "$url" "$body" "$c" "$ms" $pki)"
    if [ "$errors" != 0 ]; then echo "error: $errors failed requests on $url" >&2; exit 1; fi
    echo "| $label | $transport | $c | $rps | ${p50}us | ${p99}us |"
  done
done
echo "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
