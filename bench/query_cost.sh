#!/usr/bin/env bash
# What each admin query costs its query thread while the proxy records calls: CPU ms and
# pread(2) calls per query, per endpoint, counted by `perf stat -t` on the gm-reader threads.
# The proxy carries a steady $RATE req/s meanwhile, so that SQLite's page cache is reset at
# every read transaction as in production (a reader's cache survives only while nothing is
# written). The lever for issue 5's CPU goal: the queries' CPU is what slows the I/O thread
# beside them (README, Admin API at 10 million rows).
#
# Usage: DB=<filled database> bench/query_cost.sh   (environment: BUILD DB COPY_DIR RATE
#        REQUESTS ENDPOINTS)
#   DB         a database filled by build/bench/storage_fill (copied first; the copy is removed)
#   RATE       proxy load meanwhile, req/s (default 200)
#   REQUESTS   sequential queries per endpoint (default 20)
#   ENDPOINTS  comma-separated admin_bench endpoint names (default: the heavier ones)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
DB=${DB:?set DB to a filled database (build/bench/storage_fill)}
COPY_DIR=${COPY_DIR:-$ROOT/bench/out}
RATE=${RATE:-200}
REQUESTS=${REQUESTS:-20}
ENDPOINTS=${ENDPOINTS:-stats top user,stats user,stats model,stats tag,stats 30d,export 15 min,top-users 30d,top-users 90d,daily 90d,recent model}
command -v perf > /dev/null || { echo "perf is needed (linux-perf)" >&2; exit 1; }

T=$(mktemp -d "$COPY_DIR/query-cost.XXXXXX")
PIDS=()
cleanup() { kill "${PIDS[@]}" 2> /dev/null || true; wait 2> /dev/null || true; rm -rf "$T"; }
trap cleanup EXIT

cp "$DB" "$T/u.db"
[[ -e $DB-wal ]] && cp "$DB-wal" "$T/u.db-wal"
FAKE=$BUILD/tests/fake_gemini/fake-gemini
# shellcheck source=bench/ports.sh
. "$ROOT/bench/ports.sh"
start_fake 1
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$T/token"
"$BUILD/app/gemini-meter" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --admin-token-file "$T/token" \
  --database sqlite:"$T/u.db" --upstream http://127.0.0.1:"$FAKE_PORT" --io-threads 1 --log-format text > "$T/meter.log" 2>&1 &
MPID=$!
PIDS+=("$MPID")
for _ in $(seq 1 200); do grep -q ' start listening' "$T/meter.log" 2> /dev/null && break; sleep 0.05; done
read -r PROXY_PORT ADMIN_PORT < <(sed -n 's/.*listening on [^:]*:\([0-9]*\), admin on [^:]*:\([0-9]*\).*/\1 \2/p' "$T/meter.log")
[[ -n ${ADMIN_PORT:-} ]] || { echo "gemini-meter did not start:" >&2; cat "$T/meter.log" >&2; exit 1; }
"$BUILD/bench/gm-loadgen" --port "$PROXY_PORT" --mode open --shape unary --rate "$RATE" --duration 100000 --warmup 0 \
  > /dev/null 2>&1 &
PIDS+=($!)
sleep 1

readers=$(grep -lx gm-reader /proc/"$MPID"/task/*/comm | cut -d/ -f5 | paste -sd,)
printf '%-18s %14s %16s\n' endpoint preads/query "CPU ms/query"
IFS=, read -ra eps <<< "$ENDPOINTS"
for ep in "${eps[@]}"; do
  perf stat -x, -e syscalls:sys_enter_pread64,task-clock -t "$readers" -o "$T/perf.csv" &
  ppid=$!
  sleep 0.3
  "$BUILD/bench/admin_bench" --port "$ADMIN_PORT" --token "$(cat "$T/token")" --only "$ep" --requests "$REQUESTS" \
    --clients 1 > "$T/ab.out" 2>&1
  kill -INT "$ppid"
  wait "$ppid" || true
  awk -F, -v ep="$ep" -v n="$REQUESTS" '$3 ~ /pread64/ { p = $1 } $3 == "task-clock" { c = $1 }
    END { printf "%-18s %14.0f %16.2f\n", ep, p / n, c / n }' "$T/perf.csv"
done
