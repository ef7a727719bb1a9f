# Loopback port helpers for the benchmark scripts (sourced, not run), and the fake upstream's
# start.
# Set BASE_PORT (first port tried) before sourcing; WAIT_PORT_TRIES (50 ms each) bounds
# wait_port.
port_in_use() { (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }
# Ports handed out move forward, so that two processes started before either listens never
# get the same one.
NEXT_PORT=${BASE_PORT:-20100}
next_port() {
  while port_in_use "$NEXT_PORT"; do NEXT_PORT=$((NEXT_PORT + 1)); done
  PORT_OUT=$NEXT_PORT
  NEXT_PORT=$((NEXT_PORT + 1))
}
wait_port() {
  local p=$1 i
  for i in $(seq 1 "${WAIT_PORT_TRIES:-200}"); do port_in_use "$p" && return 0; sleep 0.05; done
  return 1
}
# Starts the fake upstream (build/tests/fake_gemini/fake-gemini, $FAKE) on any free port with
# $1 threads, logging to $T/fake.log; records its pid in PIDS (as PIDS[fake] when PIDS is an
# associative array) and sets FAKE_PORT, or exits saying why. Started through "${LAUNCH[@]}"
# when the caller sets LAUNCH (run.sh OWN_GROUPS=1: setsid).
start_fake() {
  ${LAUNCH[@]+"${LAUNCH[@]}"} "$FAKE" --listen 127.0.0.1:0 --threads "$1" > "$T/fake.log" 2>&1 &
  if [[ $(declare -p PIDS 2>/dev/null) == "declare -A"* ]]; then PIDS[fake]=$!; else PIDS+=($!); fi
  local i
  for i in $(seq 1 100); do grep -q '^listening' "$T/fake.log" 2>/dev/null && break; sleep 0.05; done
  FAKE_PORT=$(sed -n 's/^listening http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$T/fake.log")
  [[ -n $FAKE_PORT ]] || { echo "fake-gemini did not start" >&2; cat "$T/fake.log" >&2; exit 1; }
}
