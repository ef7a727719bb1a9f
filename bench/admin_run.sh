#!/usr/bin/env bash
# Admin API benchmark (issue 5): the admin endpoints on a big database while the proxy
# carries load, and the proxy with and without admin queries beside it. One run:
#
#   setup  the database: $DB, filled with build/bench/storage_fill ($ROWS rows, 90 days) when
#          it does not exist; copied first (gemini-meter writes the proxied calls into it).
#          The fake upstream (fake-gemini) and gemini-meter (--database sqlite:<copy>,
#          metering on, an admin token, $METER_ARGS) on loopback ports.
#   (A0)   admin_bench asks every admin endpoint in turn with the proxy idle: stats with and
#          without userId/model/tag filters, daily, top-users, recent incl. a deep keyset
#          page, projections, compare, a 15-minute CSV export, /metrics. p50/p99 per
#          endpoint, goal p99 < 20 ms: what each query costs by itself.
#   (A1)   the endpoints of (A0) again while the proxy carries a steady open-loop load of
#          $A1_RATE req/s (default $RATE, unary): admin latency in a proxy doing real work
#          but not saturated — what an operator sees on a normally loaded sidecar.
#   (B)    $ROUNDS alternating rounds of the proxy alone ("off") and the proxy with
#          $ADMIN_QPS admin queries per second beside it ("on", round-robin over the same
#          endpoints), each an open loop at a fixed $RATE req/s for $DUR s (+$WARM s
#          warm-up): the proxy's CPU µs per request, for the whole process and split by
#          thread name (/proc/PID/task/*/comm: "gm-io" the I/O threads, "gm-reader" the
#          admin query pool, "gm-writer" the storage writer, "gemini-meter" any unnamed
#          thread; "all but gm-reader": the proxy's own threads, without the queries'
#          cost), and its p50/p99 latency. With PAIRED=1 (default) each tick's request
#          also goes to the fake directly at the same moment (gm-loadgen --pair-port), and
#          the percentiles of the per-tick differences are the latency the proxy adds: the
#          host's own stalls hit both and cancel out, which they do not in a raw p99 (5-10 ms
#          on this 2-core machine with no admin load at all). Medians over the rounds of the
#          per-round differences and ratios; goals: CPU per request +<5%, p99 +<1 ms.
#          bench/admin_pool.py pools the rounds of several runs' results files.
#          B_MODES (default "off on") adds variants to the rounds, to find out why gm-io's CPU
#          per request rises beside the queries (each round runs every mode, the order
#          rotating from round to round; each mode is compared with "off" of its round):
#            ctl-cpu  instead of the queries, build/bench/idle_load: a SCHED_IDLE thread
#                     running $CTL_BURST_US us of CPU $CTL_RATE times a second (default
#                     $ADMIN_QPS; ≈ the gm-reader threads' CPU per second in "on"), in
#                     registers only: a busy neighbour without memory traffic;
#            ctl-mem  the same bursts walking $CTL_MB MiB (default 32) one cache line at a
#                     time: a neighbour that also sweeps the caches, as a query does;
#            ctl-map  the same bursts reading random pages of the working copy of the
#                     database, mapped read-only (as SQLite's mmap reads): a query's reach
#                     over a big mapping, from another process;
#            ext      the same queries as "on", sent to a second gemini-meter on the same
#                     database that carries no proxy traffic: beside the proxy, outside
#                     its process (its admin parsing is not on the proxy's gm-io either);
#            MODE-pin any of off, on, ctl-cpu, ctl-mem, ctl-map, ext with gm-io pinned to CPU $PIN_IO
#                     (default 0) and the load's threads (gm-reader, idle_load) to CPU
#                     $PIN_LOAD (default the last one), with taskset on thread ids during
#                     the mode only: does the rise vanish when they never share a core?
#          Beside CPU per request, every mode records gm-io's timeslices, run-queue wait
#          (/proc/PID/task/TID/schedstat), migrations and context switches
#          (/proc/PID/task/TID/sched) per request; PERF=1 adds `perf stat -t` on gm-io
#          (page faults, system calls, IPIs, timer interrupts, softirqs: kernel work charged
#          to gm-io that callgrind does not see; PERF_THREADS=gm-reader and PERF_EVENTS=...
#          count on other threads); TRACE=1 records every CPU's context switches
#          and gm-io's system calls (perf record -a) into $OUT/trace-*.data for
#          bench/io_slice_context.py. The extra modes get a second table.
#   (C)    gm-io's CPU and context switches per admin query, proxy idle, for a few endpoints
#          ($C_ENDPOINTS, $C_REQUESTS sequential queries each): what the I/O thread pays
#          for an admin query by itself (wake-ups, parsing, the write).
#   (A)    the endpoints of (A0) again while gm-loadgen drives the proxy in a closed loop
#          ($CONNS connections, unary generateContent): admin latency while the proxy
#          carries all the load it can: on 2 cores shared with the load generator and the
#          fake, the proxy leaves the SCHED_IDLE query threads (--admin-priority idle,
#          the default) next to nothing — a stress figure, not a goal. Run last, because it
#          writes thousands of rows per second into the database (all in the current hour,
#          one model).
#
# CPU time comes from /proc/PID/task/*/schedstat (nanoseconds on the CPU) when the kernel
# has it, else from utime+stime in /proc/PID/task/*/stat (clock ticks, 10 ms each).
#
# Usage: bench/admin_run.sh   (environment: BUILD DB ROWS OUT COPY_DIR KEEP_COPY ROUNDS DUR
#        WARM RATE ADMIN_QPS ADMIN_CONNS CONNS REQUESTS MAX_SECONDS FAKE_THREADS METER_ARGS SKIP_IDLE
#        SKIP_C C_REQUESTS C_ENDPOINTS SKIP_A1 A1_RATE SKIP_B PAIRED SKIP_A
#        B_MODES CTL_RATE CTL_BURST_US CTL_MB PIN_IO PIN_LOAD PERF PERF_THREADS PERF_EVENTS TRACE
#        READ_MMAP)
#   REQUESTS, MAX_SECONDS  per endpoint in (A0) and (A): up to REQUESTS requests (default
#             200), stopping after MAX_SECONDS (default 10) once 10 are done
#   DB        the big database (default $OUT/usage-$ROWS.db; filled when missing)
#   ROWS      rows to fill (default 10,000,000; ~10+ minutes on 2 cores)
#   COPY_DIR  where the working copy goes (default $OUT); KEEP_COPY=1 keeps it afterwards
#   METER_ARGS  default "--io-threads 1" (as bench/run.sh: one I/O thread)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
OUT=${OUT:-$ROOT/bench/out}
ROWS=${ROWS:-10000000}
DB=${DB:-$OUT/usage-$ROWS.db}
COPY_DIR=${COPY_DIR:-$OUT}
KEEP_COPY=${KEEP_COPY:-0}
ROUNDS=${ROUNDS:-5}
DUR=${DUR:-10}
WARM=${WARM:-1}
RATE=${RATE:-1000}
ADMIN_QPS=${ADMIN_QPS:-20}
ADMIN_CONNS=${ADMIN_CONNS:-4}   # connections the admin queries of (B) share, so that a slow one does not lower the rate
CONNS=${CONNS:-16}
REQUESTS=${REQUESTS:-200}
MAX_SECONDS=${MAX_SECONDS:-10}
FAKE_THREADS=${FAKE_THREADS:-2}
METER_ARGS=${METER_ARGS---io-threads 1}
SKIP_A=${SKIP_A:-0}
SKIP_A1=${SKIP_A1:-0}
A1_RATE=${A1_RATE:-$RATE}
PAIRED=${PAIRED:-1}
SKIP_B=${SKIP_B:-0}
SKIP_IDLE=${SKIP_IDLE:-0}
SKIP_C=${SKIP_C:-0}
C_REQUESTS=${C_REQUESTS:-200}
C_ENDPOINTS=${C_ENDPOINTS:-recent,stats user,projections,metrics,export 15 min}
B_MODES=${B_MODES:-off on}
CTL_RATE=${CTL_RATE:-$ADMIN_QPS}
CTL_BURST_US=${CTL_BURST_US:-4500}
CTL_MB=${CTL_MB:-32}
PIN_IO=${PIN_IO:-0}
PIN_LOAD=${PIN_LOAD:-$(( $(nproc) - 1 ))}
PERF=${PERF:-0}
PERF_THREADS=${PERF_THREADS:-gm-io}
TRACE=${TRACE:-0}
METER=${METER:-$BUILD/app/gemini-meter}
FAKE=${FAKE:-$BUILD/tests/fake_gemini/fake-gemini}
LOADGEN=${LOADGEN:-$BUILD/bench/gm-loadgen}
ADMIN_BENCH=${ADMIN_BENCH:-$BUILD/bench/admin_bench}
FILL=${FILL:-$BUILD/bench/storage_fill}
IDLE_LOAD=${IDLE_LOAD:-$BUILD/bench/idle_load}

mkdir -p "$OUT" "$COPY_DIR"
T=$(mktemp -d /tmp/gm-admin-bench-XXXXXX)
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS=$OUT/admin-results-$STAMP.tsv
REPORT=$OUT/admin-report-$STAMP.txt
ADMIN_LOG=$OUT/admin-rate-$STAMP.log   # admin_bench's own output in the "on" rounds
COPY=$COPY_DIR/admin-run-$STAMP.db
: > "$RESULTS"
CLK_TCK=$(getconf CLK_TCK)
declare -A PIDS=()   # name -> pid (only processes this script started)

log() { printf '%s\n' "$*" >&2; }
say() { printf '%s\n' "$*" | tee -a "$REPORT"; }

cleanup() {
  for name in "${!PIDS[@]}"; do kill "${PIDS[$name]}" 2>/dev/null || true; done
  for name in "${!PIDS[@]}"; do wait "${PIDS[$name]}" 2>/dev/null || true; done
  if [[ $KEEP_COPY != 1 ]]; then rm -f "$COPY" "$COPY-wal" "$COPY-shm" "$COPY".journal* 2>/dev/null || true; fi
  rm -f "$COPY_DIR/ext-$STAMP.db" "$COPY_DIR/ext-$STAMP.db".journal* 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT

# --- binaries ---------------------------------------------------------------------------
need=()
bins=("$METER" "$FAKE" "$LOADGEN" "$ADMIN_BENCH" "$FILL")
[[ $SKIP_B != 1 && $B_MODES == *ctl-* ]] && bins+=("$IDLE_LOAD")
for b in "${bins[@]}"; do [[ -x $b ]] || need+=("$(basename "$b")"); done
if [[ ${#need[@]} -gt 0 ]]; then
  log "building ${need[*]} in $BUILD"
  cmake --build "$BUILD" -j2 --target "${need[@]}" >&2
fi

# --- the database -----------------------------------------------------------------------
if [[ ! -e $DB ]]; then
  log "$DB does not exist: filling it with $ROWS rows (storage_fill; this takes a while)"
  mkdir -p "$(dirname "$DB")"
  "$FILL" --db "$DB" --rows "$ROWS" | tee "$OUT/admin-fill-$STAMP.log" >&2
fi
db_rows() { sqlite3 -readonly "$1" 'SELECT count(*) FROM ApiUsage' 2>/dev/null || echo "?"; }
db_version() { sqlite3 -readonly "$1" 'PRAGMA user_version' 2>/dev/null || echo "?"; }
log "copying $DB to $COPY (gemini-meter writes into the copy)"
for suffix in "" -wal; do [[ -e $DB$suffix ]] && cp "$DB$suffix" "$COPY$suffix"; done
# Write the copy out before measuring: while the kernel writes back a gigabyte of dirty
# pages, every process that writes (gemini-meter's journal and WAL) is throttled, which
# showed as a 300-500 ms p99 in the first round of (B).
for suffix in "" -wal; do [[ -e $COPY$suffix ]] && sync "$COPY$suffix"; done
if command -v sqlite3 >/dev/null; then
  DB_ROWS=$(db_rows "$COPY"); DB_VERSION=$(db_version "$COPY")
else
  DB_ROWS="?"; DB_VERSION="?"
fi
DB_MIB=$(( $(stat -c %s "$COPY") / 1048576 ))

# --- helpers ----------------------------------------------------------------------------
BASE_PORT=${BASE_PORT:-20300}
WAIT_PORT_TRIES=600
# shellcheck source=bench/ports.sh
. "$ROOT/bench/ports.sh"
SCHEDSTAT=0
[[ -r /proc/self/schedstat ]] && SCHEDSTAT=1
# One line per thread of $1: "tid name cpu_ns" (name from comm, spaces replaced).
thread_cpu() {
  local pid=$1 task comm ns stat rest
  for task in /proc/"$pid"/task/*; do
    comm=$(cat "$task/comm" 2>/dev/null) || continue
    if [[ $SCHEDSTAT == 1 ]]; then
      read -r ns _ < "$task/schedstat" 2>/dev/null || continue
    else
      stat=$(cat "$task/stat" 2>/dev/null) || continue
      rest=${stat##*) }
      set -- $rest
      ns=$(( (${12} + ${13}) * 1000000000 / CLK_TCK ))
    fi
    echo "${task##*/} ${comm// /_} $ns"
  done
}
# The whole process: utime+stime of /proc/PID/stat (counts threads that have exited) in ns,
# or, with schedstat, the sum over the live threads (the meter's threads live for the run).
process_cpu() {
  local pid=$1
  if [[ $SCHEDSTAT == 1 ]]; then
    thread_cpu "$pid" | awk '{ s += $3 } END { printf "%.0f\n", s }'
  else
    local stat rest
    stat=$(cat /proc/"$pid"/stat)
    rest=${stat##*) }
    set -- $rest
    echo $(( (${12} + ${13}) * 1000000000 / CLK_TCK ))
  fi
}
kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }
record() { printf '%s\t%s\t%s\t%s\n' "$@" >> "$RESULTS"; }  # round mode metric value
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# --- start the fake and gemini-meter ------------------------------------------------------
start_fake "$FAKE_THREADS"

TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$TOKEN" > "$T/token"
chmod 600 "$T/token"
next_port; PROXY_PORT=$PORT_OUT
next_port; ADMIN_PORT=$PORT_OUT
# READ_MMAP=N: the admin read connections map N bytes of the database (0: none, pread)
# instead of what storage asks for, through bench/read_mmap_preload.c (an experiment).
PRELOAD=()
if [[ -n ${READ_MMAP:-} ]]; then
  cc -O2 -shared -fPIC -o "$T/read_mmap_preload.so" "$ROOT/bench/read_mmap_preload.c" -ldl
  PRELOAD=(env LD_PRELOAD="$T/read_mmap_preload.so" GM_READ_MMAP_SIZE="$READ_MMAP")
fi
# shellcheck disable=SC2086
"${PRELOAD[@]}" "$METER" --listen 127.0.0.1:"$PROXY_PORT" --upstream http://127.0.0.1:"$FAKE_PORT" \
  --admin-listen 127.0.0.1:"$ADMIN_PORT" --admin-token-file "$T/token" --database sqlite:"$COPY" \
  --metering on --log-format json $METER_ARGS > "$T/meter.log" 2>&1 &
PIDS[meter]=$!
MPID=${PIDS[meter]}
for p in "$PROXY_PORT" "$ADMIN_PORT"; do
  wait_port "$p" || { log "gemini-meter did not start listening on $p"; tail -20 "$T/meter.log" >&2; exit 1; }
done
alive() { kill -0 "$MPID" 2>/dev/null || { log "gemini-meter has exited:"; tail -20 "$T/meter.log" >&2; exit 1; }; }
# B_MODES "ext": the same queries sent to a second gemini-meter on the same database that
# carries no proxy traffic, so they run beside the proxy but outside its process.
EPID=""
if [[ $SKIP_B != 1 && " $B_MODES " == *" ext"* ]]; then
  next_port; EXT_PROXY_PORT=$PORT_OUT
  next_port; EXT_ADMIN_PORT=$PORT_OUT
  # A second name for the copy: the journal beside the database name is one process's alone,
  # while SQLite follows the link to the same file (and the same WAL).
  ln -sf "$COPY" "$COPY_DIR/ext-$STAMP.db"
  # shellcheck disable=SC2086
  "$METER" --listen 127.0.0.1:"$EXT_PROXY_PORT" --upstream http://127.0.0.1:"$FAKE_PORT" \
    --admin-listen 127.0.0.1:"$EXT_ADMIN_PORT" --admin-token-file "$T/token" --database sqlite:"$COPY_DIR/ext-$STAMP.db" \
    --metering on --log-format json $METER_ARGS > "$T/meter-ext.log" 2>&1 &
  PIDS[meter-ext]=$!
  EPID=${PIDS[meter-ext]}
  wait_port "$EXT_ADMIN_PORT" || { log "the second gemini-meter did not start"; tail -20 "$T/meter-ext.log" >&2; exit 1; }
fi

say "gemini-meter admin benchmark, $STAMP, $(nproc) cores, load average at start $(loadavg)"
say "database: $DB ($DB_ROWS rows, schema version $DB_VERSION, $DB_MIB MiB), working copy $COPY"
[[ -n ${READ_MMAP:-} ]] && say "READ_MMAP=$READ_MMAP: the admin read connections' mmap_size is $READ_MMAP (bench/read_mmap_preload.c)"
say "gemini-meter $METER_ARGS, metering on; fake upstream $FAKE_THREADS threads; CPU from $([[ $SCHEDSTAT == 1 ]] && echo schedstat || echo "stat ticks (1/$CLK_TCK s)")"
say "raw figures: $RESULTS"

# --- (A0) endpoint latency with the proxy idle: what each query costs by itself -------------
measure_endpoints() {  # tag label
  local tag=$1
  set +e
  "$ADMIN_BENCH" --port "$ADMIN_PORT" --token "$TOKEN" --requests "$REQUESTS" --max-seconds "$MAX_SECONDS" \
    > "$T/$tag-admin.out" 2> "$T/$tag-admin.err"
  local rc=$?
  set -e
  alive
  tee -a "$REPORT" < "$T/$tag-admin.out"
  [[ -s $T/$tag-admin.err ]] && { log "admin_bench errors:"; head -20 "$T/$tag-admin.err" >&2; }
  record "$tag" - admin_bench_rc "$rc"
  awk -v OFS='\t' -v tag="$tag" '$NF == "ok" || $NF == "SLOW" || $NF == "FAILED" {
      name = $1; for (i = 2; i <= NF - 6; i++) name = name "_" $i
      print tag, name, "p50_ms", $(NF-4); print tag, name, "p99_ms", $(NF-3) }' "$T/$tag-admin.out" >> "$RESULTS"
}
# Warm the admin readers and the page cache once, unmeasured: the first query after start
# opens the read connections and reads the database's pages from disk.
"$ADMIN_BENCH" --port "$ADMIN_PORT" --token "$TOKEN" --requests 1 --max-seconds 0 > "$T/warm.out" 2>&1 || true
if [[ $SKIP_IDLE != 1 ]]; then
  say ""
  say "(A0) admin endpoints with the proxy idle (the cost of each query by itself); load average $(loadavg)"
  measure_endpoints A0
fi

# --- (C) what one admin query costs the I/O thread, proxy idle ------------------------------
# gm-io's CPU (schedstat) and context switches (/proc/PID/task/TID/status) over $C_REQUESTS
# sequential queries of each endpoint in $C_ENDPOINTS (admin_bench --only): the wake-ups an
# admin query adds to the thread that also relays the proxy's calls.
if [[ $SKIP_C != 1 ]]; then
  say ""
  say "(C) gm-io per admin query, proxy idle, $C_REQUESTS sequential queries per endpoint on one connection; load average $(loadavg)"
  io_tasks() { grep -lx gm-io /proc/"$MPID"/task/*/comm 2>/dev/null | cut -d/ -f5; }
  io_snapshot() {  # cpu_ns timeslices voluntary nonvoluntary, summed over the gm-io threads
    local tid ns slices v nv sns=0 ss=0 sv=0 snv=0
    for tid in $(io_tasks); do
      read -r ns _ slices < /proc/"$MPID"/task/"$tid"/schedstat
      v=$(awk '/^voluntary_ctxt_switches/ { print $2 }' /proc/"$MPID"/task/"$tid"/status)
      nv=$(awk '/^nonvoluntary_ctxt_switches/ { print $2 }' /proc/"$MPID"/task/"$tid"/status)
      sns=$((sns + ns)); ss=$((ss + slices)); sv=$((sv + v)); snv=$((snv + nv))
    done
    echo "$sns $ss $sv $snv"
  }
  say "$(printf '%-18s %6s %12s %14s %12s %12s' endpoint queries "gm-io us/q" "timeslices/q" "vol cs/q" "invol cs/q")"
  IFS=, read -ra c_endpoints <<< "$C_ENDPOINTS"
  for e in "${c_endpoints[@]}"; do
    read -r a0 b0 c0 d0 <<< "$(io_snapshot)"
    "$ADMIN_BENCH" --port "$ADMIN_PORT" --token "$TOKEN" --requests "$C_REQUESTS" --max-seconds 60 --only "$e" > "$T/c.out" 2>&1 || true
    read -r a1 b1 c1 d1 <<< "$(io_snapshot)"
    n=$(awk -v e="$e" 'index($0, e " ") == 1 { print $(NF-5) + 3 }' "$T/c.out")  # + its 3 warm-up queries
    [[ -n $n && $n -gt 0 ]] || { log "(C) $e: no result"; cat "$T/c.out" >&2; continue; }
    line=$(awk -v e="$e" -v n="$n" -v ns=$((a1 - a0)) -v s=$((b1 - b0)) -v v=$((c1 - c0)) -v nv=$((d1 - d0)) \
      'BEGIN { printf "%-18s %6d %12.1f %14.2f %12.2f %12.2f", e, n, ns / 1000 / n, s / n, v / n, nv / n }')
    say "$line"
    record C "$e" io_us_per_query "$(awk -v ns=$((a1 - a0)) -v n="$n" 'BEGIN { printf "%.1f", ns / 1000 / n }')"
    record C "$e" io_slices_per_query "$(awk -v s=$((b1 - b0)) -v n="$n" 'BEGIN { printf "%.2f", s / n }')"
  done
fi

# --- (A1) endpoint latency while the proxy carries a steady load --------------------------
if [[ $SKIP_A1 != 1 ]]; then
  say ""
  say "(A1) admin endpoints while the proxy carries a steady $A1_RATE req/s (open loop, unary); load average $(loadavg)"
  # One long open-loop run in the background, longer than (A1) can take (17 endpoints ×
  # MAX_SECONDS at most), stopped when the endpoints are done.
  a1_secs=$(( 20 * MAX_SECONDS + 30 ))
  "$LOADGEN" --port "$PROXY_PORT" --mode open --shape unary --rate "$A1_RATE" --duration "$a1_secs" --warmup 0 \
    > "$T/a1-load.out" 2> "$T/a1-load.err" &
  PIDS[a1-load]=$!
  sleep 2
  a1_cpu0=$(process_cpu "$MPID"); a1_t0=$(date +%s.%N)
  measure_endpoints A1
  a1_cpu1=$(process_cpu "$MPID"); a1_t1=$(date +%s.%N)
  kill -TERM "${PIDS[a1-load]}" 2>/dev/null || true
  wait "${PIDS[a1-load]}" 2>/dev/null || true
  unset 'PIDS[a1-load]'
  say "$(awk -v c=$((a1_cpu1 - a1_cpu0)) -v t0="$a1_t0" -v t1="$a1_t1" 'BEGIN { printf "gemini-meter used %.0f%% of one core meanwhile (proxy and admin queries together)", c / 1e7 / (t1 - t0) }'); load average now $(loadavg)"
fi

# --- (B) the proxy alone vs. with admin queries beside it -----------------------------------
if [[ $SKIP_B != 1 ]]; then
  say ""
  say "(B) proxy at a fixed $RATE req/s (open loop, unary, ${DUR}s + ${WARM}s warm-up), alone (off) vs. with $ADMIN_QPS admin queries/s on $ADMIN_CONNS connections (on), $ROUNDS rounds"
  [[ $B_MODES != "off on" ]] && say "modes: $B_MODES (control load: $CTL_RATE bursts/s of $CTL_BURST_US us, ctl-mem over $CTL_MB MiB; -pin: gm-io on CPU $PIN_IO, the load on CPU $PIN_LOAD)$([[ $PERF == 1 ]] && echo "; perf stat -t on gm-io")"
  # Readers opened and pages warm before the first "on" round, as in a server that has run a while.
  "$ADMIN_BENCH" --port "$ADMIN_PORT" --token "$TOKEN" --rate "$ADMIN_QPS" --duration 3 > /dev/null 2>&1 || true
  [[ -n $EPID ]] && { "$ADMIN_BENCH" --port "$EXT_ADMIN_PORT" --token "$TOKEN" --rate "$ADMIN_QPS" --duration 3 > /dev/null 2>&1 || true; }
  [[ $B_MODES == *-pin* ]] && ALL_CPUS=$(taskset -pc "$MPID" | sed 's/.*: //')
  tids_named() { grep -lx "$2" /proc/"$1"/task/*/comm 2>/dev/null | cut -d/ -f5; }
  pin_tids() {  # cpu-list tid...
    local cpus=$1 tid; shift
    for tid in "$@"; do taskset -pc "$cpus" "$tid" > /dev/null || log "taskset $cpus $tid failed"; done
  }
  # gm-io's scheduler counters, summed over its threads: run_ns wait_ns timeslices
  # migrations voluntary involuntary.
  io_counters() {
    local tid run wait slices sum=(0 0 0 0 0 0) f
    for tid in $(tids_named "$MPID" gm-io); do
      read -r run wait slices < /proc/"$MPID"/task/"$tid"/schedstat
      read -r -a f <<< "$(awk '$1 == "se.nr_migrations" { m = $3 } $1 == "nr_voluntary_switches" { v = $3 }
        $1 == "nr_involuntary_switches" { i = $3 } END { print m + 0, v + 0, i + 0 }' /proc/"$MPID"/task/"$tid"/sched)"
      sum=($((sum[0] + run)) $((sum[1] + wait)) $((sum[2] + slices)) $((sum[3] + f[0])) $((sum[4] + f[1])) $((sum[5] + f[2])))
    done
    echo "${sum[*]}"
  }
  PERF_EVENTS=${PERF_EVENTS:-"task-clock,context-switches,cpu-migrations,page-faults,raw_syscalls:sys_enter,irq_vectors:call_function_entry,irq_vectors:call_function_single_entry,irq_vectors:reschedule_entry,irq_vectors:local_timer_entry,irq_vectors:irq_work_entry,irq:irq_handler_entry,irq:softirq_entry"}
  run_mode() {  # round mode
    local round=$1 mode=$2 apid="" lpid="" ppid="" out c0 c1 total base=${2%-pin} load_tids=()
    case $base in
      on|ext)
        # "on": the proxy's own admin listener; "ext": the second gemini-meter's.
        local aport=$ADMIN_PORT apid_of=$MPID
        [[ $base == ext ]] && aport=$EXT_ADMIN_PORT apid_of=$EPID
        "$ADMIN_BENCH" --port "$aport" --token "$TOKEN" --rate "$ADMIN_QPS" --clients "$ADMIN_CONNS" --duration 100000 \
          > "$T/b-admin-$round-$mode.out" 2>&1 &
        apid=$!
        PIDS[b-admin]=$apid
        mapfile -t load_tids < <(tids_named "$apid_of" gm-reader) ;;
      ctl-cpu|ctl-mem|ctl-map)
        local what=(--mb 0)
        [[ $base == ctl-mem ]] && what=(--mb "$CTL_MB")
        [[ $base == ctl-map ]] && what=(--file "$COPY")
        "$IDLE_LOAD" --rate "$CTL_RATE" --burst-us "$CTL_BURST_US" "${what[@]}" > "$T/b-ctl-$round-$mode.out" 2>&1 &
        lpid=$!
        PIDS[b-ctl]=$lpid
        sleep 0.2
        mapfile -t load_tids < <(tids_named "$lpid" idle-load) ;;
    esac
    if [[ $mode == *-pin ]]; then
      # shellcheck disable=SC2046
      pin_tids "$PIN_IO" $(tids_named "$MPID" gm-io)
      [[ ${#load_tids[@]} -gt 0 ]] && pin_tids "$PIN_LOAD" "${load_tids[@]}"
    fi
    [[ $base != off ]] && sleep 1
    thread_cpu "$MPID" > "$T/t0"
    read -r -a k0 <<< "$(io_counters)"
    c0=$(process_cpu "$MPID")
    local tpid=""
    if [[ $TRACE == 1 ]]; then
      # Every CPU's context switches, and gm-io's system calls (a measure of the work in each
      # of its timeslices), for bench/io_slice_context.py.
      perf record -q -a -e sched:sched_switch -e raw_syscalls:sys_enter \
        --filter "common_pid == $(tids_named "$MPID" gm-io | head -1)" \
        -o "$OUT/trace-$STAMP-$round-$mode.data" > /dev/null 2>&1 &
      tpid=$!
      PIDS[b-trace]=$tpid
      sleep 0.5
    fi
    if [[ $PERF == 1 ]]; then
      perf stat -x, -e "$PERF_EVENTS" -t "$(tids_named "$MPID" "$PERF_THREADS" | paste -sd,)" -o "$T/perf-$round-$mode.csv" &
      ppid=$!
      PIDS[b-perf]=$ppid
    fi
    local pair_arg=""
    [[ $PAIRED == 1 ]] && pair_arg="--pair-port $FAKE_PORT"
    # shellcheck disable=SC2086
    out=$("$LOADGEN" --port "$PROXY_PORT" --mode open --shape unary --rate "$RATE" --duration "$DUR" --warmup "$WARM" $pair_arg)
    if [[ -n $tpid ]]; then
      kill -INT "$tpid" 2>/dev/null || true
      wait "$tpid" 2>/dev/null || true
      unset 'PIDS[b-trace]'
    fi
    if [[ -n $ppid ]]; then
      kill -INT "$ppid" 2>/dev/null || true
      wait "$ppid" 2>/dev/null || true
      unset 'PIDS[b-perf]'
    fi
    c1=$(process_cpu "$MPID")
    read -r -a k1 <<< "$(io_counters)"
    thread_cpu "$MPID" > "$T/t1"
    if [[ $mode == *-pin ]]; then
      # shellcheck disable=SC2046
      pin_tids "$ALL_CPUS" $(tids_named "$MPID" gm-io) $(tids_named "$MPID" gm-reader)
    fi
    if [[ -n $lpid ]]; then
      kill -TERM "$lpid" 2>/dev/null || true
      wait "$lpid" 2>/dev/null || true
      unset 'PIDS[b-ctl]'
      local cline
      cline=$(grep '^idle_load:' "$T/b-ctl-$round-$mode.out" || true)
      record "$round" "$mode" ctl_cpu_ms_per_s "$(sed -n 's/.*cpu \([0-9.]*\) ms\/s.*/\1/p' <<<"$cline")"
      record "$round" "$mode" ctl_lost_pct "$(sed -n 's/.*lost on the CPU \([0-9.]*\)%.*/\1/p' <<<"$cline")"
    fi
    if [[ -n $apid ]]; then
      kill -TERM "$apid" 2>/dev/null || true
      wait "$apid" 2>/dev/null || true
      unset 'PIDS[b-admin]'
      local line
      line=$(grep '^admin_bench:.*queries/s asked' "$T/b-admin-$round-$mode.out" || true)
      { echo "round $round:"; cat "$T/b-admin-$round-$mode.out"; } >> "$ADMIN_LOG"
      record "$round" "$mode" admin_sent_qps "$(sed -n 's/.* \([0-9.]*\) sent over.*/\1/p' <<<"$line")"
      record "$round" "$mode" admin_p50_ms "$(sed -n 's/.*p50 \([0-9.]*\) ms.*/\1/p' <<<"$line")"
      record "$round" "$mode" admin_p99_ms "$(sed -n 's/.*p99 \([0-9.]*\) ms.*/\1/p' <<<"$line")"
      record "$round" "$mode" admin_failed "$(sed -n 's/.* \([0-9]*\) failed.*/\1/p' <<<"$line")"
    fi
    alive
    total=$(kv total "$out")
    record "$round" "$mode" requests "$total"
    record "$round" "$mode" errors "$(kv errors "$out")"
    record "$round" "$mode" p50_us "$(kv p50_us "$out")"
    record "$round" "$mode" p99_us "$(kv p99_us "$out")"
    if [[ $PAIRED == 1 ]]; then
      record "$round" "$mode" added_p50_us "$(kv diff_p50_us "$out")"
      record "$round" "$mode" added_p99_us "$(kv diff_p99_us "$out")"
    fi
    record "$round" "$mode" cpu_us_per_req "$(awk -v d=$((c1 - c0)) -v n="$total" 'BEGIN { printf "%.2f", (n > 0) ? d / 1000 / n : 0 }')"
    local per='BEGIN { printf "%.3f", (n > 0) ? d * f / n : 0 }'
    record "$round" "$mode" io_wait_us_per_req "$(awk -v d=$((k1[1] - k0[1])) -v f=0.001 -v n="$total" "$per")"
    record "$round" "$mode" io_slices_per_req "$(awk -v d=$((k1[2] - k0[2])) -v f=1 -v n="$total" "$per")"
    record "$round" "$mode" io_us_per_slice "$(awk -v d=$((k1[0] - k0[0])) -v f=0.001 -v n=$((k1[2] - k0[2])) "$per")"
    record "$round" "$mode" io_migrations_per_kreq "$(awk -v d=$((k1[3] - k0[3])) -v f=1000 -v n="$total" "$per")"
    record "$round" "$mode" io_voluntary_per_req "$(awk -v d=$((k1[4] - k0[4])) -v f=1 -v n="$total" "$per")"
    record "$round" "$mode" io_involuntary_per_kreq "$(awk -v d=$((k1[5] - k0[5])) -v f=1000 -v n="$total" "$per")"
    if [[ -n $ppid && -s $T/perf-$round-$mode.csv ]]; then
      # perf -x, lines: value,unit,event,...; per request (task-clock in us).
      awk -F, -v n="$total" -v r="$round" -v m="$mode" -v OFS='\t' '
        $1 ~ /^[0-9.]+$/ && n > 0 { v = $1; if ($3 == "task-clock") v = v * 1000
          print r, m, "perf:" $3 "_per_req", sprintf("%.4f", v / n) }' "$T/perf-$round-$mode.csv" >> "$RESULTS"
    fi
    # Per thread name: the difference over the threads alive at both snapshots.
    awk -v n="$total" -v r="$round" -v m="$mode" -v OFS='\t' '
      FNR == NR { b[$1] = $3; next }
      $1 in b { d[$2] += $3 - b[$1] }
      END { for (k in d) print r, m, "cpu_us_per_req:" k, sprintf("%.2f", (n > 0) ? d[k] / 1000 / n : 0) }' \
      "$T/t0" "$T/t1" >> "$RESULTS"
    # The proxy's own threads: everything but the admin queries' gm-reader threads, whose
    # CPU is the queries' cost, not the proxy's per request.
    awk -F'\t' -v r="$round" -v m="$mode" -v OFS='\t' '$1 == r && $2 == m && $3 == "cpu_us_per_req" { all = $4 }
      $1 == r && $2 == m && $3 == "cpu_us_per_req:gm-reader" { q = $4 }
      END { print r, m, "cpu_us_per_req_proxy", sprintf("%.2f", all - q) }' "$RESULTS" >> "$RESULTS"
    log "round $round $mode: $(awk -F'\t' -v r="$round" -v m="$mode" '$1 == r && $2 == m { printf "%s=%s ", $3, $4 }' "$RESULTS")"
  }
  read -ra modes <<< "$B_MODES"
  for round in $(seq 1 "$ROUNDS"); do
    # Rotate which goes first, so that a drift of the machine's load cancels out (with the
    # default two modes: off, on in odd rounds and on, off in even ones).
    for ((i = 0; i < ${#modes[@]}; i++)); do
      run_mode "$round" "${modes[(i + round - 1) % ${#modes[@]}]}"
    done
  done

  median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
  values() { awk -F'\t' -v m="$1" -v k="$2" '$1 ~ /^[0-9]+$/ && $2 == m && $3 == k { print $4 }' "$RESULTS"; }
  # on - off and on / off within each round, then the median over rounds.
  paired() {  # metric diff|ratio [mode, default on]
    awk -F'\t' -v k="$1" -v how="$2" -v mode="${3:-on}" '
      $1 ~ /^[0-9]+$/ && $3 == k && $2 == "off" { off[$1] = $4 }
      $1 ~ /^[0-9]+$/ && $3 == k && $2 == mode { on[$1] = $4 }
      END { for (r in on) if (r in off) { if (how == "diff") print on[r] - off[r]; else if (off[r] > 0) print on[r] / off[r] } }' \
      "$RESULTS" | median
  }
  say ""
  say "$(printf '%-28s %10s %10s %12s %14s' "medians over $ROUNDS rounds" off on "on - off" "on / off")"
  metrics="p50_us p99_us"
  [[ $PAIRED == 1 ]] && metrics="$metrics added_p50_us added_p99_us"
  metrics="$metrics cpu_us_per_req cpu_us_per_req_proxy"
  for k in $(awk -F'\t' '$1 ~ /^[0-9]+$/ && $3 ~ /^cpu_us_per_req:/ { print $3 }' "$RESULTS" | sort -u); do metrics="$metrics $k"; done
  for k in $metrics; do
    label=$k
    [[ $k == cpu_us_per_req ]] && label="cpu_us/req (whole process)"
    [[ $k == cpu_us_per_req_proxy ]] && label="cpu_us/req (all but gm-reader)"
    [[ $k == cpu_us_per_req:* ]] && label="cpu_us/req ${k#cpu_us_per_req:} threads"
    say "$(printf '%-28s %10s %10s %12s %14s' "$label" "$(values off "$k" | median)" "$(values on "$k" | median)" \
      "$(paired "$k" diff)" "$(paired "$k" ratio)")"
  done
  # The variants (B_MODES): each mode's median, and its per-round ratio (or difference, for
  # latencies) to "off", for the figures that tell the hypotheses apart.
  extra=()
  for m in "${modes[@]}"; do [[ $m != off && $m != on ]] && extra+=("$m"); done
  if [[ ${#extra[@]} -gt 0 ]]; then
    say ""
    say "variants: median over $ROUNDS rounds, and [ratio to off in the same round] (latencies: [on - off])"
    hdr=$(printf '%-34s %9s' metric off)
    for m in on "${extra[@]}"; do hdr="$hdr $(printf '%21s' "$m")"; done
    say "$hdr"
    vmetrics="cpu_us_per_req cpu_us_per_req:gm-io cpu_us_per_req:gm-reader io_slices_per_req io_us_per_slice io_voluntary_per_req io_involuntary_per_kreq io_migrations_per_kreq io_wait_us_per_req added_p99_us p99_us ctl_cpu_ms_per_s ctl_lost_pct"
    for k in $(awk -F'\t' '$1 ~ /^[0-9]+$/ && $3 ~ /^perf:/ { print $3 }' "$RESULTS" | sort -u); do vmetrics="$vmetrics $k"; done
    for k in $vmetrics; do
      [[ -z $(values off "$k")$(values on "$k")$(for m in "${extra[@]}"; do values "$m" "$k"; done) ]] && continue
      how=ratio
      [[ $k == *p99_us ]] && how="diff"
      row=$(printf '%-34s %9s' "$k" "$(values off "$k" | median)")
      for m in on "${extra[@]}"; do
        row="$row $(printf '%21s' "$(values "$m" "$k" | median) [$(paired "$k" "$how" "$m")]")"
      done
      say "$row"
    done
  fi
  say "admin queries beside it: $(values on admin_sent_qps | median) queries/s sent, p50 $(values on admin_p50_ms | median) ms, p99 $(values on admin_p99_ms | median) ms (medians over rounds), failed $(values on admin_failed | awk '{ s += $1 } END { print s + 0 }'); per endpoint: $ADMIN_LOG"
  errs=$(awk -F'\t' '$3 == "errors" && $4 > 0' "$RESULTS" | wc -l)
  [[ $errs -gt 0 ]] && say "WARNING: $errs proxy runs had errors; see $RESULTS"

  # Goals of issue 5: CPU per request +<5%, p99 +<1 ms.
  goal() {  # label value op limit
    awk -v l="$1" -v v="$2" -v lim="$4" -v op="$3" 'BEGIN {
      if (v == "-" || v == "") { printf "%-44s %s\n", l, "no figure"; exit }
      ok = (op == "<") ? (v < lim) : 0
      printf "%-44s %10s  goal < %s  %s\n", l, v, lim, ok ? "MET" : "NOT MET" }'
  }
  say ""
  say "$(goal "CPU/req on/off, whole process" "$(paired cpu_us_per_req ratio)" "<" 1.05)"
  say "$(goal "CPU/req on/off, the proxy's threads" "$(paired cpu_us_per_req_proxy ratio)" "<" 1.05)"
  say "$(goal "CPU/req on/off, gm-io threads" "$(paired cpu_us_per_req:gm-io ratio)" "<" 1.05)"
  say "$(goal "p99 on - off (us)" "$(paired p99_us diff)" "<" 1000)"
  [[ $PAIRED == 1 ]] && say "$(goal "added p99 (paired) on - off (us)" "$(paired added_p99_us diff)" "<" 1000)"
fi

# --- (A) endpoint latency while the proxy carries load ------------------------------------
if [[ $SKIP_A != 1 ]]; then
  say ""
  say "(A) admin endpoints while gm-loadgen drives the proxy as fast as it goes (closed loop, $CONNS connections, unary; run last: it writes many rows)"
  touch "$T/a.running"
  (
    while [[ -e $T/a.running ]]; do
      "$LOADGEN" --port "$PROXY_PORT" --mode closed --shape unary --connections "$CONNS" --duration 5 --warmup 0 \
        >> "$T/a-load.out" 2>>"$T/a-load.err" || break
    done
  ) &
  PIDS[a-load]=$!
  sleep 2
  measure_endpoints A
  rm -f "$T/a.running"
  wait "${PIDS[a-load]}" 2>/dev/null || true
  unset 'PIDS[a-load]'
  load_total=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^total=/) { split($i, a, "="); s += a[2] } } END { print s + 0 }' "$T/a-load.out")
  load_errors=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^errors=/) { split($i, a, "="); s += a[2] } } END { print s + 0 }' "$T/a-load.out")
  load_secs=$(awk '/^mode=/ { n++ } END { print n * 5 }' "$T/a-load.out")
  say "proxy load beside it: $load_total requests in ~${load_secs} s ($(awk -v n="$load_total" -v s="$load_secs" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "-" }') req/s), $load_errors errors; load average now $(loadavg)"
fi

say ""
say "load average at the end $(loadavg); report: $REPORT"
