#!/usr/bin/env bash
# Proxy benchmark: the client calling the fake Gemini upstream directly, then through nginx,
# haproxy and gemini-meter (each a plain keep-alive reverse proxy on loopback, one worker
# or thread each), for a ~1.5 KB gzip unary answer and a 20-event SSE stream, with ~2 KB
# request bodies. Measures, in alternating rounds:
#   req/s          closed loop, $CONNS connections, $DUR s after $WARM s of warm-up
#   cpu_us/req     the proxy's own utime+stime (all its processes, from /proc) over the
#                  requests it carried in the closed-loop run: the figure that holds on a
#                  noisy shared machine
#   p50/p99 added  latency over direct at a fixed $RATE req/s (open loop, measured from the
#                  scheduled send time)
#   sched          at the fixed rate, per request: the target's CPU time, its run-queue wait
#                  (woken but waiting for a core) and timeslices, from /proc/PID/task/*/schedstat
#   memory         RSS idle, RSS with $IDLE_CONNS open idle client connections, peak (VmHWM)
# and prints medians over the rounds and ratios against nginx and haproxy.
#
# Usage: bench/run.sh            (environment: BUILD ROUNDS DUR WARM CONNS RATE IDLE_CONNS
#                                 FAKE_THREADS METER METER_ARGS TARGETS OUT SSE_FLUSH METER_OLD
#                                 METER_B_ARGS METER_B_SLICE_US METER_C_ARGS METER_C_SLICE_US)
# METER_OLD=path/to/an/older/gemini-meter adds the target meter-old (that binary with
# --metering off) to the default targets, so that a change is measured against the binary
# before it in the same alternating rounds.
# METER_B_ARGS / METER_B_SLICE_US add the target meter-b: $METER with --metering off, these
# extra arguments and, when METER_B_SLICE_US is set, its gm-io threads given that custom
# EEVDF slice by gm-set-slice from outside (0: the kernel's default) — a variant of the same
# binary measured against meter-nometer in the same rounds. METER_C_* likewise add meter-c.
# PAIRED=1 also sends, in each target's open-loop run, every request to the fake directly at
# the same moment (gm-loadgen --pair-port) and reports the percentiles of the per-request
# differences (+p50/+p99 paired): the noise both requests share cancels out, which it does
# not between two separate runs. The "direct" target's open-loop run is then the A/A check:
# the fake paired with itself, the same two requests per tick, no proxy between: its +p99
# is the estimator's own floor in the same rounds (~0.3 ms p99 at load average 5.4, 45-105
# us on a quiet machine, earlier sessions). Every tick's pair is kept in
# $OUT/pairs-<stamp>/<round>-<target>-<shape>.txt ("scheduled_ns proxied_us direct_us", -1
# for a side that did not complete); bench/relay_pool.py pools them over rounds and runs.
# OWN_GROUPS=1 starts the fake and every proxy in a session of its own (setsid), hence in an
# autogroup of its own, as a sidecar container and a remote upstream are in cgroups of their
# own; by default they share the script's autogroup with the load generator, whose CPU use
# then lowers their claim to a core when something outside the group (kdamond, another
# session) holds it.
# SSE_FLUSH=1 makes the fake write each of the 20 events separately (20 small writes per
# stream through the proxy); by default a stream's events leave the fake in one write.
# PERF_SCHED=1 records `perf sched` during each gemini-meter target's open-loop run and
# reports, per wake of its gm-io threads, the time from wake-up to running (perf sched
# timehist's "sch delay"): p50/p99/max and the wakes that waited over 0.5 ms per 1,000.
# gemini-meter is skipped when $METER (default $BUILD/app/gemini-meter) does not exist.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
ROUNDS=${ROUNDS:-3}
DUR=${DUR:-4}
WARM=${WARM:-1}
CONNS=${CONNS:-16}
RATE=${RATE:-1000}
IDLE_CONNS=${IDLE_CONNS:-1000}
FAKE_THREADS=${FAKE_THREADS:-2}
METER=${METER:-$BUILD/app/gemini-meter}
METER_ARGS=${METER_ARGS:-}
METER_OLD=${METER_OLD:-}
METER_B_ARGS=${METER_B_ARGS:-}
METER_B_SLICE_US=${METER_B_SLICE_US:-}
METER_C_ARGS=${METER_C_ARGS:-}
METER_C_SLICE_US=${METER_C_SLICE_US:-}
VARIANTS="${METER_OLD:+ meter-old}"
[[ -n $METER_B_ARGS$METER_B_SLICE_US ]] && VARIANTS+=" meter-b"
[[ -n $METER_C_ARGS$METER_C_SLICE_US ]] && VARIANTS+=" meter-c"
TARGETS=${TARGETS:-direct nginx haproxy meter meter-nometer$VARIANTS}
OUT=${OUT:-$ROOT/bench/out}
SSE_FLUSH=${SSE_FLUSH:-0}
PAIRED=${PAIRED:-0}
OWN_GROUPS=${OWN_GROUPS:-0}
LAUNCH=()
[[ $OWN_GROUPS == 1 ]] && LAUNCH=(setsid)
PERF_SCHED=${PERF_SCHED:-0}
FAKE=${FAKE:-$BUILD/tests/fake_gemini/fake-gemini}
LOADGEN=${LOADGEN:-$BUILD/bench/gm-loadgen}
SET_SLICE=${SET_SLICE:-$BUILD/bench/gm-set-slice}

mkdir -p "$OUT"
T=$(mktemp -d /tmp/gm-bench-XXXXXX)
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS=$OUT/results-$STAMP.tsv
PAIRS=$OUT/pairs-$STAMP
[[ $PAIRED == 1 ]] && mkdir -p "$PAIRS"
: > "$RESULTS"
CLK_TCK=$(getconf CLK_TCK)
declare -A PIDS=()   # target -> main pid (only processes this script started)

log() { printf '%s\n' "$*" >&2; }

cleanup() {
  for name in "${!PIDS[@]}"; do
    kill "${PIDS[$name]}" 2>/dev/null || true
  done
  for name in "${!PIDS[@]}"; do
    wait "${PIDS[$name]}" 2>/dev/null || true
  done
  rm -rf "$T"
}
trap cleanup EXIT

# --- binaries ---------------------------------------------------------------------------
if [[ ! -x $FAKE ]]; then
  log "building fake-gemini in $BUILD"
  cmake --build "$BUILD" --target fake-gemini -j2 >&2
fi
if [[ ! -x $LOADGEN ]]; then
  if ! cmake --build "$BUILD" --target gm-loadgen -j2 >/dev/null 2>&1 || [[ ! -x $LOADGEN ]]; then
    # The load generator needs nothing but the standard library: build it directly.
    LOADGEN=$OUT/gm-loadgen
    log "building $LOADGEN"
    ${CXX:-c++} -std=c++20 -O2 -Wall -o "$LOADGEN" "$ROOT/bench/loadgen.cpp"
  fi
fi
if [[ -n $METER_B_SLICE_US$METER_C_SLICE_US && ! -x $SET_SLICE ]]; then
  SET_SLICE=$OUT/gm-set-slice
  log "building $SET_SLICE"
  ${CXX:-c++} -std=c++20 -O2 -Wall -o "$SET_SLICE" "$ROOT/bench/set_slice.cpp"
fi
command -v nginx >/dev/null || PATH=$PATH:/usr/sbin
for tool in nginx haproxy; do
  command -v $tool >/dev/null || { log "$tool not found: install nginx-light and haproxy"; exit 1; }
done

# --- helpers ----------------------------------------------------------------------------
BASE_PORT=${BASE_PORT:-20100}
# shellcheck source=bench/ports.sh
. "$ROOT/bench/ports.sh"
# All processes of a target: the main pid and its children (nginx's worker).
target_pids() {
  local pid=$1
  echo "$pid" $(pgrep -P "$pid" 2>/dev/null || true)
}
cpu_ticks() {
  local sum=0 pid stat rest
  for pid in $(target_pids "$1"); do
    stat=$(cat /proc/"$pid"/stat 2>/dev/null) || continue
    rest=${stat##*) }        # the command name may hold spaces; fields restart after ")"
    set -- $rest
    sum=$((sum + ${12} + ${13}))  # utime and stime are fields 14 and 15 of the full line
  done
  echo $sum
}
# Scheduler figures summed over the target's threads: run time ns, run-queue wait ns, timeslices.
schedstat() {
  local pid t a=0 b=0 c=0 x y z
  for pid in $(target_pids "$1"); do
    for t in /proc/"$pid"/task/*/schedstat; do
      read -r x y z < "$t" 2>/dev/null || continue
      a=$((a + x)); b=$((b + y)); c=$((c + z))
    done
  done
  echo "$a $b $c"
}
mem_kib() {  # sum of a /proc status field over the target's processes
  local sum=0 pid v
  for pid in $(target_pids "$1"); do
    v=$(awk -v f="$2:" '$1 == f { print $2 }' /proc/"$pid"/status 2>/dev/null || echo 0)
    sum=$((sum + ${v:-0}))
  done
  echo $sum
}
gmio_tids() { grep -lx gm-io /proc/"$1"/task/*/comm 2>/dev/null | awk -F/ '{ print $5 }' | paste -sd, -; }
# sch delay of the given threads' wakes in a perf sched recording: "count p50 p99 max over500_per_1k" (us).
sched_delays() {
  perf sched timehist -i "$1" -t "$2" 2>/dev/null |
    awk '$1 ~ /^[0-9]+\.[0-9]+$/ { print $(NF - 1) * 1000 }' | sort -g |
    awk '{ v[NR] = $1; if ($1 > 500) o++ }
         END { if (NR == 0) { print "0 - - - -"; exit }
               printf "%d %.0f %.0f %.0f %.2f\n", NR, v[int((NR - 1) * 0.5) + 1], v[int((NR - 1) * 0.99) + 1], v[NR], o * 1000 / NR }'
}
kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >> "$RESULTS"; }  # round target shape metric value

# --- start the fake and the proxies -----------------------------------------------------
start_fake "$FAKE_THREADS"
declare -A PORT=([direct]=$FAKE_PORT)

next_port; NGINX_PORT=$PORT_OUT
mkdir -p "$T/nginx"
USER_LINE=""
[[ $(id -u) == 0 ]] && USER_LINE="user root;"
sed -e "s|@T@|$T/nginx|g" -e "s|@PORT@|$NGINX_PORT|g" -e "s|@UPSTREAM@|$FAKE_PORT|g" -e "s|@USER@|$USER_LINE|" \
  "$ROOT/bench/conf/nginx.conf.in" > "$T/nginx/nginx.conf"
${LAUNCH[@]+"${LAUNCH[@]}"} nginx -p "$T/nginx" -c "$T/nginx/nginx.conf" > "$T/nginx/out.log" 2>&1 &
PIDS[nginx]=$!
PORT[nginx]=$NGINX_PORT

next_port; HAPROXY_PORT=$PORT_OUT
sed -e "s|@PORT@|$HAPROXY_PORT|g" -e "s|@UPSTREAM@|$FAKE_PORT|g" "$ROOT/bench/conf/haproxy.cfg.in" > "$T/haproxy.cfg"
${LAUNCH[@]+"${LAUNCH[@]}"} haproxy -db -f "$T/haproxy.cfg" > "$T/haproxy.log" 2>&1 &
PIDS[haproxy]=$!
PORT[haproxy]=$HAPROXY_PORT

start_meter() {  # name, extra args... (the binary is $METER, or $BIN when set)
  local name=$1; shift
  local p a bin=${BIN:-$METER}
  next_port; p=$PORT_OUT
  next_port; a=$PORT_OUT
  # shellcheck disable=SC2086
  ${LAUNCH[@]+"${LAUNCH[@]}"} "$bin" --listen 127.0.0.1:"$p" --upstream http://127.0.0.1:"$FAKE_PORT" --admin-listen 127.0.0.1:"$a" \
    --database sqlite:"$T/$name.db" --log-format json $METER_ARGS "$@" > "$T/$name.log" 2>&1 &
  PIDS[$name]=$!
  PORT[$name]=$p
}
# The help text read once, whole: `--help | grep -q` under pipefail failed whenever grep
# stopped reading before the help ended (SIGPIPE), which depended on the help's length.
METER_HELP=""
[[ -x $METER ]] && METER_HELP=$("$METER" --help 2>&1 || true)
# One I/O thread, like nginx's one worker and haproxy's one thread, unless told otherwise.
if [[ -x $METER && -z $METER_ARGS && $METER_HELP == *--io-threads* ]]; then
  METER_ARGS="--io-threads 1"
fi
ACTIVE=()
for t in $TARGETS; do
  case $t in
    direct|nginx|haproxy) ACTIVE+=("$t") ;;
    meter)
      if [[ -x $METER ]]; then start_meter meter; ACTIVE+=(meter)
      else log "skipping gemini-meter: $METER not built"; fi ;;
    meter-nometer)
      if [[ -x $METER && $METER_HELP == *--metering* ]]; then
        start_meter meter-nometer --metering off; ACTIVE+=(meter-nometer)
      elif [[ -x $METER ]]; then log "skipping meter-nometer: $METER has no --metering flag"; fi ;;
    meter-old)
      if [[ -x $METER_OLD ]]; then BIN=$METER_OLD start_meter meter-old --metering off; ACTIVE+=(meter-old)
      else log "skipping meter-old: set METER_OLD to an older gemini-meter binary"; fi ;;
    meter-b|meter-c)
      if [[ -x $METER ]]; then
        v=${t#meter-}; v=${v^^}; eval "vargs=\$METER_${v}_ARGS"
        # shellcheck disable=SC2154,SC2086
        start_meter "$t" --metering off $vargs; ACTIVE+=("$t")
      else log "skipping $t: $METER not built"; fi ;;
    *) log "unknown target $t"; exit 1 ;;
  esac
done
for t in "${ACTIVE[@]}"; do
  wait_port "${PORT[$t]}" || { log "$t did not start listening on ${PORT[$t]}"; cat "$T"/*.log >&2 || true; exit 1; }
done
# meter-b/-c with a *_SLICE_US: the slice on every gm-io thread, now that they run.
for t in "${ACTIVE[@]}"; do
  case $t in meter-b) slice=$METER_B_SLICE_US ;; meter-c) slice=$METER_C_SLICE_US ;; *) continue ;; esac
  [[ -n $slice ]] || continue
  tids=$(gmio_tids "${PIDS[$t]}" | tr , ' ')
  [[ -n $tids ]] || { log "$t: no gm-io thread found"; exit 1; }
  # shellcheck disable=SC2086
  log "$t: $("$SET_SLICE" "$slice" $tids | tr '\n' ' ')"
done
main_pid() { [[ $1 == direct ]] && echo "${PIDS[fake]}" || echo "${PIDS[$1]}"; }
declare -A DEAD=()
# A target that has exited is reported once and left out of the remaining runs.
alive() {
  local t=$1
  [[ -n ${DEAD[$t]:-} ]] && return 1
  if ! kill -0 "$(main_pid "$t")" 2>/dev/null; then
    DEAD[$t]=1
    log "$t has exited; its last log lines:"
    tail -5 "$T/$t.log" >&2 2>/dev/null || true
    return 1
  fi
}

log "fake :$FAKE_PORT ($FAKE_THREADS threads)  nginx :$NGINX_PORT  haproxy :$HAPROXY_PORT  ${PORT[meter]:+meter :${PORT[meter]}}"
log "results: $RESULTS"

# --- memory: idle, then with many idle keep-alive client connections -----------------------
for t in "${ACTIVE[@]}"; do
  [[ $t == direct ]] && continue
  alive "$t" || continue
  pid=$(main_pid "$t")
  record 0 "$t" - rss_idle_kib "$(mem_kib "$pid" VmRSS)"
  "$LOADGEN" --port "${PORT[$t]}" --mode idle --connections "$IDLE_CONNS" --duration 2 > "$T/idle-$t.out" 2>&1 &
  lg=$!
  for i in $(seq 1 200); do grep -q '^ready' "$T/idle-$t.out" && break; sleep 0.05; done
  sleep 0.5
  record 0 "$t" - rss_conns_kib "$(mem_kib "$pid" VmRSS)"
  wait $lg || true
  sleep 0.5
done

FLUSH_ARG=""
[[ $SSE_FLUSH == 1 ]] && FLUSH_ARG=--event-flush
# --- rounds -----------------------------------------------------------------------------
for round in $(seq 1 "$ROUNDS"); do
  for shape in unary sse; do
    for t in "${ACTIVE[@]}"; do
      alive "$t" && alive fake || continue
      pid=$(main_pid "$t")
      c0=$(cpu_ticks "$pid"); f0=$(cpu_ticks "${PIDS[fake]}")
      out=$("$LOADGEN" --port "${PORT[$t]}" --mode closed --shape "$shape" --connections "$CONNS" \
              --duration "$DUR" --warmup "$WARM" $FLUSH_ARG)
      c1=$(cpu_ticks "$pid"); f1=$(cpu_ticks "${PIDS[fake]}")
      total=$(kv total "$out"); errors=$(kv errors "$out")
      record "$round" "$t" "$shape" rps "$(kv rps "$out")"
      record "$round" "$t" "$shape" errors "$errors"
      if [[ $t != direct && $total -gt 0 ]]; then
        record "$round" "$t" "$shape" cpu_us_per_req "$(awk -v d=$((c1 - c0)) -v n="$total" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", d * 1e6 / hz / n }')"
      fi
      [[ $total -gt 0 ]] && record "$round" "$t" "$shape" fake_cpu_us_per_req "$(awk -v d=$((f1 - f0)) -v n="$total" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", d * 1e6 / hz / n }')"
      PAIR_ARG=""
      [[ $PAIRED == 1 ]] && PAIR_ARG="--pair-port $FAKE_PORT --pairs-out $PAIRS/$round-$t-$shape.txt"
      s0=$(schedstat "$pid")
      PERF_CMD=()
      [[ $PERF_SCHED == 1 && $t == meter* ]] && PERF_CMD=(perf sched record -q -o "$T/sched.data" --)
      out=$("${PERF_CMD[@]}" "$LOADGEN" --port "${PORT[$t]}" --mode open --shape "$shape" --rate "$RATE" --duration "$DUR" --warmup "$WARM" $FLUSH_ARG $PAIR_ARG)
      s1=$(schedstat "$pid")
      if [[ ${#PERF_CMD[@]} -gt 0 ]]; then
        read -r dn d50 d99 dmax dover <<<"$(sched_delays "$T/sched.data" "$(gmio_tids "$pid")")"
        record "$round" "$t" "$shape" gmio_wakes "$dn"
        record "$round" "$t" "$shape" gmio_delay_p50_us "$d50"
        record "$round" "$t" "$shape" gmio_delay_p99_us "$d99"
        record "$round" "$t" "$shape" gmio_delay_max_us "$dmax"
        record "$round" "$t" "$shape" gmio_delay_over500_per_1k "$dover"
        rm -f "$T/sched.data"
      fi
      # At the fixed rate: how long the target's threads waited for a core, and how many
      # times they were scheduled, per request it carried (paired runs: the direct side's
      # requests go to the fake, so "direct" counts twice the requests).
      open_total=$(kv total "$out" | head -1)
      if [[ ${open_total:-0} -gt 0 ]]; then
        read -r e0 w0 n0 <<<"$s0"; read -r e1 w1 n1 <<<"$s1"
        record "$round" "$t" "$shape" open_cpu_us_per_req "$(awk -v d=$((e1 - e0)) -v n="$open_total" 'BEGIN { printf "%.1f", d / 1000 / n }')"
        record "$round" "$t" "$shape" open_rq_wait_us_per_req "$(awk -v d=$((w1 - w0)) -v n="$open_total" 'BEGIN { printf "%.1f", d / 1000 / n }')"
        record "$round" "$t" "$shape" open_slices_per_req "$(awk -v d=$((n1 - n0)) -v n="$open_total" 'BEGIN { printf "%.2f", d / n }')"
      fi
      record "$round" "$t" "$shape" p50_us "$(kv p50_us "$out" | head -1)"
      record "$round" "$t" "$shape" p99_us "$(kv p99_us "$out" | head -1)"
      if [[ -n $PAIR_ARG ]]; then
        record "$round" "$t" "$shape" pair_p50_us "$(kv diff_p50_us "$out")"
        record "$round" "$t" "$shape" pair_p99_us "$(kv diff_p99_us "$out")"
      fi
      record "$round" "$t" "$shape" open_errors "$(kv errors "$out")"
      log "round $round $shape $t: $(grep -P "^$round\t$t\t$shape\t" "$RESULTS" | cut -f4,5 | tr '\t\n' '= ')"
    done
  done
done
for t in "${ACTIVE[@]}"; do
  [[ $t == direct ]] && continue
  alive "$t" || continue
  record 0 "$t" - rss_peak_kib "$(mem_kib "$(main_pid "$t")" VmHWM)"
done

# --- summary ----------------------------------------------------------------------------
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
values() { awk -F'\t' -v t="$1" -v s="$2" -v m="$3" '$2 == t && $3 == s && $4 == m { print $5 }' "$RESULTS"; }
# Latency added over direct, paired within each round so that drift between rounds cancels.
added() {
  awk -F'\t' -v t="$1" -v s="$2" -v m="$3" '
    $3 == s && $4 == m && $2 == "direct" { d[$1] = $5 }
    $3 == s && $4 == m && $2 == t { v[$1] = $5 }
    END { for (r in v) if (r in d) print v[r] - d[r] }' "$RESULTS" | median
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }

echo
echo "gemini-meter proxy benchmark, $STAMP, $(nproc) cores, $ROUNDS rounds x ${DUR}s (+${WARM}s warm-up), medians"
echo "closed loop: $CONNS connections; latency: open loop at $RATE req/s; request body ~2 KB; unary answer ~1.5 KB gzip; SSE 20 events (separate writes: $SSE_FLUSH); servers in autogroups of their own: $OWN_GROUPS"
for shape in unary sse; do
  echo
  printf '%-14s %9s %11s %8s %8s %10s %10s %9s %9s %9s %9s\n' "[$shape]" req/s cpu_us/req p50_us p99_us +p50_us +p99_us \
    cpu/nginx cpu/hapx rps/nginx rps/hapx
  ncpu=$(values nginx "$shape" cpu_us_per_req | median); hcpu=$(values haproxy "$shape" cpu_us_per_req | median)
  nrps=$(values nginx "$shape" rps | median); hrps=$(values haproxy "$shape" rps | median)
  for t in "${ACTIVE[@]}"; do
    rps=$(values "$t" "$shape" rps | median)
    cpu=$(values "$t" "$shape" cpu_us_per_req | median)
    p50=$(values "$t" "$shape" p50_us | median); p99=$(values "$t" "$shape" p99_us | median)
    if [[ $t == direct ]]; then a50=-; a99=-; else a50=$(added "$t" "$shape" p50_us); a99=$(added "$t" "$shape" p99_us); fi
    printf '%-14s %9s %11s %8s %8s %10s %10s %9s %9s %9s %9s\n' "$t" "$rps" "$cpu" "$p50" "$p99" "$a50" "$a99" \
      "$(ratio "$cpu" "$ncpu")" "$(ratio "$cpu" "$hcpu")" "$(ratio "$rps" "$nrps")" "$(ratio "$rps" "$hrps")"
  done
  echo "  fake upstream's own CPU per request (direct run): $(values direct "$shape" fake_cpu_us_per_req | median) us"
  for t in "${ACTIVE[@]}"; do
    [[ $t == direct ]] && continue
    echo "  $t at $RATE req/s, per request: CPU $(values "$t" "$shape" open_cpu_us_per_req | median) us, waiting for a core $(values "$t" "$shape" open_rq_wait_us_per_req | median) us, timeslices $(values "$t" "$shape" open_slices_per_req | median)"
  done
  if [[ $PERF_SCHED == 1 ]]; then
    for t in "${ACTIVE[@]}"; do
      [[ $t == meter* ]] || continue
      echo "  $t gm-io wake-up to running (perf sched): p50 $(values "$t" "$shape" gmio_delay_p50_us | median) us, p99 $(values "$t" "$shape" gmio_delay_p99_us | median) us, max $(values "$t" "$shape" gmio_delay_max_us | median) us, over 0.5 ms $(values "$t" "$shape" gmio_delay_over500_per_1k | median) per 1,000 wakes"
    done
  fi
  if [[ $PAIRED == 1 ]]; then
    for t in "${ACTIVE[@]}"; do
      if [[ $t == direct ]]; then
        echo "  direct paired with direct (A/A, the estimator's own floor): +p50 $(values "$t" "$shape" pair_p50_us | median) us, +p99 $(values "$t" "$shape" pair_p99_us | median) us"
        continue
      fi
      echo "  $t added latency, paired with direct requests sent at the same moment: +p50 $(values "$t" "$shape" pair_p50_us | median) us, +p99 $(values "$t" "$shape" pair_p99_us | median) us"
    done
    echo "  (pooled over rounds, with intervals: bench/relay_pool.py $PAIRS)"
  fi
done
echo
printf '%-14s %14s %18s %14s\n' memory rss_idle_kib "rss_${IDLE_CONNS}conns_kib" rss_peak_kib
for t in "${ACTIVE[@]}"; do
  [[ $t == direct ]] && continue
  printf '%-14s %14s %18s %14s\n' "$t" "$(values "$t" - rss_idle_kib | median)" "$(values "$t" - rss_conns_kib | median)" \
    "$(values "$t" - rss_peak_kib | median)"
done
for t in "${!DEAD[@]}"; do echo "WARNING: $t exited during the run: its figures are partial or missing"; done
errs=$(awk -F'\t' '($4 == "errors" || $4 == "open_errors") && $5 > 0' "$RESULTS" | wc -l)
[[ $errs -gt 0 ]] && echo "WARNING: $errs runs had errors (non-200 answers or broken connections); see $RESULTS"
echo
echo "raw figures: $RESULTS"
