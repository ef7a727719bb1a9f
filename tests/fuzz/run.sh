#!/usr/bin/env bash
# Builds the fuzz targets (metering extractors, the proxy's header parser) with clang (libFuzzer + ASan + UBSan) and runs each
# for a number of seconds.
#   tests/fuzz/run.sh [seconds per target, default 600] [target ...]
# Environment: GM_FUZZ_BUILD (build folder, default build-fuzz), GM_FUZZ_JOBS (default 1).
# Prints each target's execution count; exits non-zero if a target found a crash.
set -euo pipefail
secs=${1:-600}
[ $# -gt 0 ] && shift
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${GM_FUZZ_BUILD:-$root/build-fuzz}
jobs=${GM_FUZZ_JOBS:-1}
targets=${*:-response_tap_fuzz usage_pricing_fuzz header_parser_fuzz}
cc=$(command -v clang-14 || command -v clang)
cxx=$(command -v clang++-14 || command -v clang++)
mkdir -p "$build"

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGM_FUZZ=ON \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; exit 1; }
# shellcheck disable=SC2086
cmake --build "$build" -j "$jobs" --target $targets

# Seeds: the realistic samples, behind option bytes that pick framing and encoding.
samples=$root/tests/metering/samples
seed_dir() {
  local t=$1 d=$build/fuzz-seeds/$1
  rm -rf "$d"; mkdir -p "$d"
  if [ "$t" = header_parser_fuzz ]; then
    # First byte: bit 0 request, the rest the step the text is fed in (0: whole).
    printf '\x01POST /v1beta/models/m:generateContent HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n{}' >"$d/req"
    printf '\x07GET /v1beta/models HTTP/1.0\r\nTransfer-Encoding: gzip, chunked\r\n\r\n' >"$d/req_chunked"
    printf '\x00HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\nVary: Origin\r\n\r\n' >"$d/res"
    printf '\x04HTTP/1.0 204 No Content\r\nConnection: close\r\nContent-Length: 0\r\n\r\n' >"$d/res_204"
  elif [ "$t" = response_tap_fuzz ]; then
    local i=0
    for f in "$samples"/*; do
      for opt in '\x00' '\x08' '\x06' '\x0e' '\x18' '\x46' '\x90'; do
        { printf "$opt"; printf '\x05'; cat "$f"; } >"$d/seed$i"; i=$((i + 1))
      done
    done
  else
    cp "$samples"/*.json "$d/"
    cp "$root/metering/pricing_default.json" "$root/metering/pricing_spec_2024.json" "$d/"
    printf '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=x' >"$d/url1"
    printf '{"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 40, "prompt_tokens_details": {"cached_tokens": 2}}' >"$d/openai_usage"
    printf '{"promptTokenCount": 1844, "cachedContentTokenCount": 901, "candidatesTokenCount": 51, "promptTokensDetails": [{"modality": "AUDIO", "tokenCount": 10}]}' >"$d/gemini_usage"
  fi
  echo "$d"
}

status=0
for t in $targets; do
  corpus=$build/fuzz-corpus/$t
  mkdir -p "$corpus"
  seeds=$(seed_dir "$t")
  log=$build/$t.log
  echo "== $t: ${secs}s"
  if "$build/tests/fuzz/$t" -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=2048 -timeout=10 \
       -artifact_prefix="$build/$t-" "$corpus" "$seeds" >"$log" 2>&1; then
    echo "   ok: $(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}') executions," \
         "corpus $(ls "$corpus" | wc -l) inputs, peak RSS $(grep -m1 'stat::peak_rss_mb' "$log" | awk '{print $2}') MB"
  else
    echo "   FAILED: see $log"; tail -40 "$log"; status=1
  fi
done
exit $status
