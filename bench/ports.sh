# Loopback port helpers for the benchmark scripts (sourced, not run).
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
