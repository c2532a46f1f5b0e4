#!/usr/bin/env bash
# Decode and call benchmarks of opennebula-rs against PyONE, on the same data, in the same run.
#
#   benches/compare_pyone.sh [N] [RUNS]            (default N=10000, RUNS=5)
#
# Environment:
#   BENCH_DATA   folder for the generated responses (default /tmp/opennebula-bench); files are
#                generated with ../shared/tools/perf/gen_vmpool.py when missing
#   PERF_TOOLS   folder with gen_vmpool.py and bench_pyone.py (default ../shared/tools/perf)
#   PYTHON       a Python with `pyone` installed; when unset, python3 is used if it can import
#                pyone, else a venv is made in target/pyone-venv with `pip install pyone`
#                (set PYONE_INSTALL=0 to skip PyONE instead)
#   CALLS        calls per round of a call measurement (default 2000; the median of 3 rounds
#                is reported, for our client and for PyONE alike)
#   CALLS_ONLY   set to 1 to skip the decode measurements (only the calls against the servers)
#
# Prints each measurement, then a table of ratios: ours vs PyONE (time, peak RSS), ours vs the
# tokenizer floor, and calls/second. Calls are measured against two one-test-servers: one that
# closes every connection after its response (as oned does; the headline figure) and one
# started with --keep-alive; our client on a current-thread runtime (bench_calls' default) and
# on a multi-thread one, and the blocking client.
set -euo pipefail
cd "$(dirname "$0")/.."

N="${1:-10000}"
RUNS="${2:-5}"
BENCH_DATA="${BENCH_DATA:-/tmp/opennebula-bench}"
PERF_TOOLS="${PERF_TOOLS:-../shared/tools/perf}"
CALLS="${CALLS:-2000}"
FILE="$BENCH_DATA/vmpool_$N.rpc.xml"

if [ "${CALLS_ONLY:-0}" != 1 ] && [ ! -f "$FILE" ]; then
  mkdir -p "$BENCH_DATA"
  python3 "$PERF_TOOLS/gen_vmpool.py" --out "$BENCH_DATA" "$N"
fi

# --- a Python with pyone --------------------------------------------------------------------
PY=""
if [ -n "${PYTHON:-}" ]; then
  PY="$PYTHON"
elif python3 -c 'import pyone' >/dev/null 2>&1; then
  PY=python3
elif [ "${PYONE_INSTALL:-1}" != 0 ]; then
  if [ ! -x target/pyone-venv/bin/python ]; then
    echo "installing pyone into target/pyone-venv ..." >&2
    python3 -m venv target/pyone-venv && target/pyone-venv/bin/pip install -q pyone >&2 || true
  fi
  if target/pyone-venv/bin/python -c 'import pyone' >/dev/null 2>&1; then
    PY=target/pyone-venv/bin/python
  fi
fi
[ -z "$PY" ] && echo "!!! no Python with pyone: PyONE figures are skipped" >&2

echo "=== build (release)"
cargo build --release --example bench_decode --example bench_calls 2>&1 | tail -1
cargo build --release -p one-test-server 2>&1 | tail -1
BIN=target/release

FLOOR_MS=""; FLOOR_RSS=""; DECODE_MS=""; DECODE_CPU=""; FLOOR_CPU=""; DECODE_RSS=""
STREAM_MS=""; STREAM_RSS=""; PY_MS=""; PY_RSS=""
if [ "${CALLS_ONLY:-0}" != 1 ]; then
  echo "=== decode: $FILE ($RUNS runs per mode, one process per mode)"
  "$BIN/examples/bench_decode" "$FILE" "$RUNS" | tee /tmp/bench_decode.$$ 
  "$BIN/examples/bench_decode" "$FILE" "$RUNS" --stream | tail -2 | tee -a /tmp/bench_decode.$$

  field() { # field MODE NAME: a number from bench_decode's per-mode line
    awk -v mode="$1" -v name="$2" '$1 == mode {
        for (i = 1; i <= NF; i++) {
          if (name == "ms" && $i == "median") { print $(i+1); exit }
          if (name == "cpu" && $i == "(CPU") { print $(i+1); exit }
          if (name == "rss" && $i == "RSS") { print $(i+1); exit }
        } }' /tmp/bench_decode.$$ | head -1
  }
  FLOOR_MS=$(field floor ms); FLOOR_RSS=$(field floor rss)
  DECODE_MS=$(field decode ms); DECODE_CPU=$(field decode cpu); FLOOR_CPU=$(field floor cpu)
  DECODE_RSS=$(field decode rss); STREAM_MS=$(field stream ms); STREAM_RSS=$(field stream rss)
  rm -f /tmp/bench_decode.$$

  PY_MS=""; PY_RSS=""
  if [ -n "$PY" ]; then
    echo "=== PyONE total (xmlrpc.client.loads + bindings.parseString), same file"
    PY_JSON=$(BENCH_DATA="$BENCH_DATA" "$PY" "$PERF_TOOLS/bench_pyone.py" total "$N" "$RUNS")
    echo "$PY_JSON"
    PY_MS=$(echo "$PY_JSON" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["median_ms"])')
    PY_RSS=$(echo "$PY_JSON" | "$PY" -c 'import json,sys; print(round(json.load(sys.stdin)["peak_rss_kb"]/1024, 1))')
  fi
fi

# Calls: two one-test-servers, one closing every connection after its response (oned's
# behaviour, the default) and one with --keep-alive; ours and PyONE against each, in turn.
pyone_calls() { # pyone_calls URL AUTH: PyONE's sequential vm.info and host.info calls/second
  "$PY" - "$1" "$2" "$CALLS" <<'EOF'
import sys, time, pyone
url, auth, calls = sys.argv[1], sys.argv[2], int(sys.argv[3])
one = pyone.OneServer(url, session=auth)
vm_id = one.vmpool.info(-2, -1, -1, -1).VM[0].ID
host_id = one.hostpool.info().HOST[0].ID
rates = []
for call in (lambda: one.vm.info(vm_id), lambda: one.host.info(host_id)):
    # As bench_calls: a warm-up of a tenth of a round, then the median of 3 rounds.
    for _ in range(min(max(calls // 10, 10), 500)):
        call()
    rounds = []
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(calls):
            call()
        rounds.append(calls / (time.perf_counter() - t0))
    rates.append(str(round(sorted(rounds)[1])))
print(" ".join(rates))
EOF
}
SERVERS=""
trap 'for pid in $SERVERS; do kill "$pid" 2>/dev/null || true; done' EXIT
for MODE in close keep-alive; do
  echo "=== calls ($MODE): one-test-server (2 hosts, 20 VMs), $CALLS calls per measurement"
  LOG=$(mktemp)
  FLAG=""; [ "$MODE" = keep-alive ] && FLAG=--keep-alive
  "$BIN/one-test-server" --port 0 --seed-hosts 2 --seed-vms 20 $FLAG >"$LOG" 2>&1 &
  SERVERS="$SERVERS $!"
  for _ in $(seq 100); do grep -q '^ONE_AUTH=' "$LOG" && break; sleep 0.1; done
  URL=$(sed -n 's/^ONE_XMLRPC=//p' "$LOG")
  AUTH=$(sed -n 's/^ONE_AUTH=//p' "$LOG")
  rm -f "$LOG"
  "$BIN/examples/bench_calls" --url "$URL" --session "$AUTH" --calls "$CALLS" | tee /tmp/bench_calls.$$
  SEQ=$(awk '$1 == "vm.info" { print $3; exit }' /tmp/bench_calls.$$)
  HSEQ=$(awk '$1 == "host.info" { print $3; exit }' /tmp/bench_calls.$$)
  "$BIN/examples/bench_calls" --url "$URL" --session "$AUTH" --calls "$CALLS" --runtime multi-thread \
    | tee /tmp/bench_calls.$$
  SEQ_MT=$(awk '$1 == "vm.info" { print $3; exit }' /tmp/bench_calls.$$)
  "$BIN/examples/bench_calls" --url "$URL" --session "$AUTH" --calls "$CALLS" --runtime blocking \
    | tee /tmp/bench_calls.$$
  SEQ_BL=$(awk '$1 == "vm.info" { print $3; exit }' /tmp/bench_calls.$$)
  rm -f /tmp/bench_calls.$$
  PSEQ=""; PHSEQ=""
  if [ -n "$PY" ]; then
    PRATES=$(pyone_calls "$URL" "$AUTH") || PRATES=""
    PSEQ=$(echo "$PRATES" | awk '{ print $1 }'); PHSEQ=$(echo "$PRATES" | awk '{ print $2 }')
    echo "  PyONE sequential: vm.info ${PSEQ:-?} calls/s, host.info ${PHSEQ:-?} calls/s"
  fi
  if [ "$MODE" = close ]; then
    OUR_SEQ=$SEQ; OUR_SEQ_MT=$SEQ_MT; OUR_SEQ_BL=$SEQ_BL; PY_SEQ=$PSEQ; OUR_HSEQ=$HSEQ; PY_HSEQ=$PHSEQ
  else
    OUR_SEQ_KA=$SEQ; OUR_SEQ_KA_MT=$SEQ_MT; OUR_SEQ_KA_BL=$SEQ_BL; PY_SEQ_KA=$PSEQ
    OUR_HSEQ_KA=$HSEQ; PY_HSEQ_KA=$PHSEQ
  fi
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "n/a"; else printf "%.2f", a / b }'; }
echo
echo "=== summary (N=$N, $(basename "$FILE"))"
printf '%-34s %10s %10s\n' "" "ms" "peak MB"
printf '%-34s %10s %10s\n' "floor (memchr+unescape+tokenize)" "$FLOOR_MS" "$FLOOR_RSS"
printf '%-34s %10s %10s\n' "opennebula-rs decode" "$DECODE_MS" "$DECODE_RSS"
printf '%-34s %10s %10s\n' "opennebula-rs --stream" "$STREAM_MS" "$STREAM_RSS"
[ -n "$PY_MS" ] && printf '%-34s %10s %10s\n' "PyONE total" "$PY_MS" "$PY_RSS"
echo "decode / floor:        $(ratio "$DECODE_MS" "$FLOOR_MS")x wall, $(ratio "$DECODE_CPU" "$FLOOR_CPU")x CPU"
if [ -n "$PY_MS" ]; then
  echo "PyONE / decode:        $(ratio "$PY_MS" "$DECODE_MS")x faster, $(ratio "$PY_RSS" "$DECODE_RSS")x less memory"
  echo "PyONE / stream:        $(ratio "$PY_MS" "$STREAM_MS")x faster, $(ratio "$PY_RSS" "$STREAM_RSS")x less memory"
fi
echo "calls, vm.info sequential, server closing connections (as oned):"
echo "  ours $OUR_SEQ/s (multi-thread runtime: $OUR_SEQ_MT/s, blocking client: $OUR_SEQ_BL/s) vs PyONE ${PY_SEQ:-?}/s = $(ratio "$OUR_SEQ" "$PY_SEQ")x ($(ratio "$OUR_SEQ_MT" "$PY_SEQ")x, $(ratio "$OUR_SEQ_BL" "$PY_SEQ")x)"
echo "  host.info sequential: ours $OUR_HSEQ/s vs PyONE ${PY_HSEQ:-?}/s = $(ratio "$OUR_HSEQ" "$PY_HSEQ")x"
echo "calls, vm.info sequential, server with --keep-alive:"
echo "  ours $OUR_SEQ_KA/s (multi-thread runtime: $OUR_SEQ_KA_MT/s, blocking client: $OUR_SEQ_KA_BL/s) vs PyONE ${PY_SEQ_KA:-?}/s = $(ratio "$OUR_SEQ_KA" "$PY_SEQ_KA")x ($(ratio "$OUR_SEQ_KA_MT" "$PY_SEQ_KA")x, $(ratio "$OUR_SEQ_KA_BL" "$PY_SEQ_KA")x)"
echo "  host.info sequential: ours $OUR_HSEQ_KA/s vs PyONE ${PY_HSEQ_KA:-?}/s = $(ratio "$OUR_HSEQ_KA" "$PY_HSEQ_KA")x"
