#!/usr/bin/env bash
# The CSV export's latency (admin_bench's "export 15 min") for two or more gemini-meter
# binaries in alternating rounds on one working copy of a database, with the proxy idle and
# while it carries a steady open-loop load (bench/admin_run.sh's (A0) and (A1) for this one
# endpoint): the binaries meet the same page cache, host load and database, turn by turn.
#
# Usage: bench/export_ab.sh NAME=BINARY NAME=BINARY...
#   environment: BUILD (fake-gemini, gm-loadgen, admin_bench), DB (required; copied to COPY_DIR
#   first, deleted at the end), COPY_DIR, ROUNDS (3), REQUESTS (200),
#   RATE (1000 req/s; 0 skips the loaded phase), ENDPOINT ("export 15 min"), LOCK (a file to
#   flock once the copy is made, so that a shared machine runs one benchmark at a time
#   without holding the lock through the copy)
# Prints one line per binary, round and phase: p50 / p99 / max ms, the query threads' CPU per
# query (gm-reader, schedstat), and the load average.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
DB=${DB:?DB: the database to copy (schema 11 or later)}
COPY_DIR=${COPY_DIR:-$ROOT/bench/out}
ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-200}
RATE=${RATE:-1000}
ENDPOINT=${ENDPOINT:-export 15 min}
FAKE=${FAKE:-$BUILD/tests/fake_gemini/fake-gemini}
LOADGEN=${LOADGEN:-$BUILD/bench/gm-loadgen}
ADMIN_BENCH=${ADMIN_BENCH:-$BUILD/bench/admin_bench}
[[ $# -ge 1 ]] || { echo "usage: $0 NAME=BINARY..." >&2; exit 2; }
for b in "$FAKE" "$LOADGEN" "$ADMIN_BENCH"; do [[ -x $b ]] || { echo "$b not built" >&2; exit 1; }; done

T=$(mktemp -d /tmp/gm-export-ab-XXXXXX)
mkdir -p "$COPY_DIR"
COPY=$COPY_DIR/export-ab-$$.db
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -f "$COPY" "$COPY-wal" "$COPY-shm" "$COPY".journal* 2>/dev/null || true
  rm -rf "$COPY.journal" "$T"
}
trap cleanup EXIT

cp --reflink=auto "$DB" "$COPY"
sync "$COPY"
if [[ -n ${LOCK:-} ]]; then
  exec 9>>"$LOCK"
  echo "export_ab: waiting for $LOCK" >&2
  flock 9
fi
BASE_PORT=${BASE_PORT:-20700}
WAIT_PORT_TRIES=6000  # the first start may migrate the copy
# shellcheck source=bench/ports.sh
. "$ROOT/bench/ports.sh"

start_fake 2
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$TOKEN" > "$T/token"
chmod 600 "$T/token"

# CPU nanoseconds of the process's query threads (gm-reader), from schedstat.
reader_ns() {
  local t sum=0 ns
  for t in /proc/"$1"/task/*; do
    [[ $(cat "$t/comm" 2>/dev/null) == gm-reader ]] || continue
    read -r ns _ < "$t/schedstat" 2>/dev/null || continue
    sum=$((sum + ns))
  done
  echo "$sum"
}

measure() {  # name round phase
  local out c0 c1
  c0=$(reader_ns "$mpid")
  # admin_bench exits non-zero when the p99 is over its goal: a figure here, not a failure.
  out=$({ "$ADMIN_BENCH" --port "$ADMIN_PORT" --token "$TOKEN" --requests "$REQUESTS" --max-seconds 60 \
        --only "$ENDPOINT" 2>&1 || true; } | awk -v e="$ENDPOINT" 'index($0, e " ") == 1 { print $(NF-5), $(NF-4), $(NF-3), $(NF-2) }')
  c1=$(reader_ns "$mpid")
  printf '%-10s round %d %-5s n/p50/p99/max ms: %s  gm-reader CPU ms/query: %s  load %s\n' "$1" "$2" "$3" "$out" \
    "$(awk -v d=$((c1 - c0)) -v n="${out%% *}" 'BEGIN { if (n > 0) printf "%.2f", d / 1e6 / n; else print "?" }')" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
}

alive() {  # name pid: a binary that died mid-phase makes that phase's figures meaningless
  kill -0 "$2" 2>/dev/null && return 0
  echo "export_ab: $1 exited during the phase above:" >&2
  tail -5 "$T/meter-$1.log" >&2
  exit 1
}

echo "export_ab: $ENDPOINT, $REQUESTS requests per phase, $(nproc) cores, database $DB"
for round in $(seq 1 "$ROUNDS"); do
  for spec in "$@"; do
    name=${spec%%=*} bin=${spec#*=}
    next_port; PROXY_PORT=$PORT_OUT
    next_port; ADMIN_PORT=$PORT_OUT
    "$bin" --listen 127.0.0.1:"$PROXY_PORT" --upstream http://127.0.0.1:"$FAKE_PORT" \
      --admin-listen 127.0.0.1:"$ADMIN_PORT" --admin-token-file "$T/token" --database sqlite:"$COPY" \
      --metering on --log-format json --io-threads 1 > "$T/meter-$name.log" 2>&1 &
    mpid=$!
    PIDS+=($mpid)
    wait_port "$ADMIN_PORT" || { tail -20 "$T/meter-$name.log" >&2; exit 1; }
    wait_port "$PROXY_PORT" || { tail -20 "$T/meter-$name.log" >&2; exit 1; }
    # Readers opened and pages read once, unmeasured.
    "$ADMIN_BENCH" --port "$ADMIN_PORT" --token "$TOKEN" --requests 5 --max-seconds 0 --only "$ENDPOINT" > /dev/null 2>&1 || true
    measure "$name" "$round" idle
    alive "$name" "$mpid"
    if [[ $RATE != 0 ]]; then
      "$LOADGEN" --port "$PROXY_PORT" --mode open --shape unary --rate "$RATE" --duration 600 --warmup 0 \
        > "$T/load.out" 2> "$T/load.err" &
      lpid=$!
      PIDS+=($lpid)
      sleep 2
      measure "$name" "$round" "load"
      kill -TERM "$lpid" 2>/dev/null || true
      wait "$lpid" 2>/dev/null || true
    fi
    alive "$name" "$mpid"
    kill -TERM "$mpid" 2>/dev/null || true
    wait "$mpid" 2>/dev/null || true
  done
done
