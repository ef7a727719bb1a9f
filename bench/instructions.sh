#!/usr/bin/env bash
# User-space instructions per proxied call, counted by valgrind's callgrind: the figure that
# repeats on a noisy shared machine (CPU time does not). Each proxy runs under callgrind
# beside the fake upstream; counters are zeroed once it listens, then gm-loadgen drives
# $DUR seconds of calls over $CONNS connections, and the count is divided by the calls.
# Kernel time (system calls, TCP) is not counted: bench/run.sh measures all of it.
#
# Usage: bench/instructions.sh    (environment: BUILD DUR CONNS TARGETS SHAPES)
#   TARGETS: any of nginx haproxy meter-nometer meter   SHAPES: unary sse
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
DUR=${DUR:-6}
CONNS=${CONNS:-4}
TARGETS=${TARGETS:-nginx haproxy meter-nometer meter}
SHAPES=${SHAPES:-unary sse}
METER=${METER:-$BUILD/app/gemini-meter}
FAKE=${FAKE:-$BUILD/tests/fake_gemini/fake-gemini}
LOADGEN=${LOADGEN:-$BUILD/bench/gm-loadgen}
command -v valgrind >/dev/null || { echo "valgrind not found (apt-get install valgrind)" >&2; exit 1; }
command -v nginx >/dev/null || PATH=$PATH:/usr/sbin
for f in "$METER" "$FAKE" "$LOADGEN"; do
  [[ -x $f ]] || { echo "$f not built: make build" >&2; exit 1; }
done

T=$(mktemp -d /tmp/gm-instr-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT

BASE_PORT=${BASE_PORT:-20500}
WAIT_PORT_TRIES=600  # valgrind starts slowly
# shellcheck source=bench/ports.sh
. "$ROOT/bench/ports.sh"

start_fake 2

start_target() {  # target port -> command line under callgrind
  local t=$1 port=$2 out=$3
  local vg=(valgrind --tool=callgrind --callgrind-out-file="$out")
  case $t in
    nginx)
      mkdir -p "$T/nginx"
      sed -e "s|@T@|$T/nginx|g" -e "s|@PORT@|$port|g" -e "s|@UPSTREAM@|$FAKE_PORT|g" \
          -e "s|@USER@|$([[ $(id -u) == 0 ]] && echo 'user root;')|" \
          -e 's/master_process on;/master_process off;/' "$ROOT/bench/conf/nginx.conf.in" > "$T/nginx/nginx.conf"
      exec "${vg[@]}" nginx -p "$T/nginx" -c "$T/nginx/nginx.conf" ;;
    haproxy)
      sed -e "s|@PORT@|$port|g" -e "s|@UPSTREAM@|$FAKE_PORT|g" "$ROOT/bench/conf/haproxy.cfg.in" > "$T/haproxy.cfg"
      exec "${vg[@]}" haproxy -db -f "$T/haproxy.cfg" ;;
    meter|meter-nometer)
      local extra=()
      [[ $t == meter-nometer ]] && extra=(--metering off)
      exec "${vg[@]}" "$METER" --listen 127.0.0.1:"$port" --upstream http://127.0.0.1:"$FAKE_PORT" \
        --admin-listen 127.0.0.1:"$admin_port" --database sqlite:"$T/$t.db" --log-format json \
        --io-threads 1 "${extra[@]}" ;;
  esac
}

printf '%-14s %-6s %8s %14s\n' target shape calls instr/call
declare -A IR=()
for shape in $SHAPES; do
  for t in $TARGETS; do
    next_port; port=$PORT_OUT
    next_port; admin_port=$PORT_OUT
    out=$T/cg-$t-$shape.out
    start_target "$t" "$port" "$out" > "$T/$t-$shape.log" 2>&1 &
    pid=$!
    PIDS+=($pid)
    wait_port "$port" || { echo "$t did not start" >&2; cat "$T/$t-$shape.log" >&2; exit 1; }
    sleep 1
    callgrind_control -z "$pid" >/dev/null 2>&1 || true
    line=$("$LOADGEN" --port "$port" --mode closed --shape "$shape" --connections "$CONNS" \
             --duration "$DUR" --warmup 0 2>&1 | tail -1)
    # TERM: haproxy under valgrind ignored INT while idle, and the run waited for it forever.
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    calls=$(sed -n 's/.*total=\([0-9]*\).*/\1/p' <<<"$line")
    ir=$(callgrind_annotate "$out"* 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1; exit}')
    [[ -n $calls && $calls -gt 0 && -n $ir ]] || { echo "$t $shape: no calls ($line)" >&2; continue; }
    IR[$t-$shape]=$((ir / calls))
    printf '%-14s %-6s %8d %14d\n' "$t" "$shape" "$calls" "${IR[$t-$shape]}"
  done
done
echo
for shape in $SHAPES; do
  for ref in nginx haproxy; do
    for t in meter-nometer meter; do
      [[ -n ${IR[$t-$shape]:-} && -n ${IR[$ref-$shape]:-} ]] || continue
      printf '%s %s / %s: %.2f\n' "$shape" "$t" "$ref" "$(echo "${IR[$t-$shape]} / ${IR[$ref-$shape]}" | bc -l)"
    done
  done
done
