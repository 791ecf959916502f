#!/usr/bin/env bash
# Run the Durable Streams server conformance suite (testdata/conformance)
# against the core worker (templates/core) under workerd, started with the
# pinned wrangler in testdata/workers (`wrangler dev --local`, loopback
# only, a temp persist dir), then the worker's own checks
# (testdata/workers/core.test.mjs: KV-registry auth, CORS, inspection API)
# against the same worker, with a test project seeded into local KV.
#
# Usage:
#   scripts/workers-conformance.sh [extra vitest args...]
#
# Environment:
#   CONFORMANCE_TIMEOUT       seconds before vitest is stopped (default 1200)
#   CONFORMANCE_RESULTS_DIR   where the JSON report and wrangler log of the
#                             last run are kept (default
#                             testdata/conformance/results)
#   WORKERS_LONG_POLL_MS      the worker's long-poll timeout (default 500)
#   WORKERS_SEGMENTS          1 (default): bind local R2 as SEGMENTS and
#                             rotate the hot log to cold segments every
#                             WORKERS_SEGMENT_ROWS (default 8) rows, so
#                             the suite's reads span hot and cold data;
#                             0: no R2 (hot log only)
#
# The last lines printed are
#   conformance (workerd): N passed, N failed, N skipped (Ns)
#   workers core tests: N passed, N failed
# and the exit code is non-zero if either had a failure.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
suite_dir="$repo_root/testdata/conformance"
workers_dir="$repo_root/testdata/workers"
mode=workerd
results_dir="${CONFORMANCE_RESULTS_DIR:-$suite_dir/results}"
timeout_secs="${CONFORMANCE_TIMEOUT:-1200}"
startup_secs=90

case "${1:-}" in -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
[[ ${1:-} != -- ]] || shift

log() { printf 'conformance (%s): %s\n' "$mode" "$*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=scripts/lib.sh
source "$repo_root/scripts/lib.sh"

command -v node >/dev/null 2>&1 || die "node not found in PATH"
command -v npm >/dev/null 2>&1 || die "npm not found in PATH"

install_deps "$suite_dir" "@durable-streams/server-conformance-tests"
install_deps "$workers_dir" "wrangler"

tmp=$(mktemp -d -t dsctl-workers-conformance.XXXXXX)
server_log="$tmp/wrangler.log"
result_json="$tmp/result.json"
server_pid=""

# wrangler runs workerd as a child; it is started in its own process
# group (setsid) so that the whole group can be stopped.
stop_server() {
  [[ -n $server_pid ]] || return 0
  stop_group "$server_pid"
  server_pid=""
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_server
  if mkdir -p "$results_dir/$mode" 2>/dev/null; then
    [[ ! -f $server_log ]] || cp "$server_log" "$results_dir/$mode/server.log" 2>/dev/null || true
    [[ ! -f $result_json ]] || cp "$result_json" "$results_dir/$mode/result.json" 2>/dev/null || true
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cp -R "$repo_root/templates/core" "$tmp/core"
extra_vars=()
if [[ ${WORKERS_SEGMENTS:-1} == 1 ]]; then
  mode=workerd+r2
  cat >>"$tmp/core/wrangler.toml" <<'TOML'

[[r2_buckets]]
binding = "SEGMENTS"
bucket_name = "durable-streams-segments"
TOML
  extra_vars=(--var "SEGMENT_MAX_ROWS:${WORKERS_SEGMENT_ROWS:-8}" --var DEBUG_TESTING:1)
fi
port=$(free_port)
url="http://127.0.0.1:$port"

# No telemetry, no update check, no Request.cf download: loopback only.
export WRANGLER_SEND_METRICS=false WRANGLER_SEND_ERROR_REPORTS=false CI=1 NO_COLOR=1 \
  CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_UPDATE_CHECK=false \
  WRANGLER_LOG_PATH="$tmp/wrangler-logs" XDG_CONFIG_HOME="$tmp/config"
wrangler="$workers_dir/node_modules/.bin/wrangler"

log "seeding the test project into local KV"
(cd "$tmp/core" && "$wrangler" kv key put --local --binding REGISTRY --persist-to "$tmp/state" acme \
  '{"signingSecrets":["acme-new","acme-old"],"corsOrigins":["https://app.example"]}') >>"$server_log" 2>&1 ||
  die "could not seed local KV (see $server_log)"

log "starting wrangler dev --local on $url"
(
  cd "$tmp/core"
  exec setsid "$wrangler" dev --local --ip 127.0.0.1 --port "$port" \
    --inspector-port 0 --persist-to "$tmp/state" --show-interactive-dev-session=false \
    --var "LONG_POLL_TIMEOUT_MS:${WORKERS_LONG_POLL_MS:-500}" --var AUTH_DEFAULT:0 ${extra_vars[@]+"${extra_vars[@]}"}
) </dev/null >"$server_log" 2>&1 &
server_pid=$!

deadline=$((SECONDS + startup_secs))
while :; do
  code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$url/health" 2>/dev/null || true)
  [[ $code != 200 ]] || break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    tail -n 40 "$server_log" | sed 's/^/  | /' >&2
    die "wrangler exited before $url/health answered"
  fi
  if ((SECONDS >= deadline)); then
    tail -n 40 "$server_log" | sed 's/^/  | /' >&2
    die "$url/health did not answer 200 within ${startup_secs}s"
  fi
  sleep 0.2
done
log "worker is up at $url"

vitest_cmd=(./node_modules/.bin/vitest run --no-coverage --reporter=default --reporter=json
  "--outputFile.json=$result_json")
if command -v timeout >/dev/null 2>&1; then
  vitest_cmd=(timeout --foreground --kill-after=30 "$timeout_secs" "${vitest_cmd[@]}")
fi
start=$SECONDS
vitest_rc=0
(
  cd "$suite_dir"
  export CONFORMANCE_TEST_URL="$url"
  if [[ ! -t 1 && -z ${FORCE_COLOR:-} ]]; then export NO_COLOR=1; fi
  exec "${vitest_cmd[@]}" "$@"
) || vitest_rc=$?
elapsed=$((SECONDS - start))

own_rc=0
own_out=$(WORKER_URL="$url" SEGMENTS_TEST="${WORKERS_SEGMENTS:-1}" node --test --test-reporter=tap "$workers_dir/core.test.mjs" 2>&1) || own_rc=$?
stop_server

if [[ -s $result_json ]]; then
  node -e '
    const fs = require("fs")
    const [file, mode, secs] = process.argv.slice(1)
    const r = JSON.parse(fs.readFileSync(file, "utf8"))
    for (const f of r.testResults || []) {
      for (const a of (f.assertionResults || []).filter((a) => a.status === "failed")) console.log(`  FAILED: ${a.fullName}`)
    }
    const skipped = (r.numPendingTests || 0) + (r.numTodoTests || 0)
    console.log(`conformance (${mode}): ${r.numPassedTests || 0} passed, ${r.numFailedTests || 0} failed, ${skipped} skipped (${secs}s)`)
  ' "$result_json" "$mode" "$elapsed" || { [[ $vitest_rc != 0 ]] || vitest_rc=1; }
else
  log "vitest wrote no JSON report (exit code $vitest_rc)"
  [[ $vitest_rc != 0 ]] || vitest_rc=1
fi
own_pass=$(printf '%s\n' "$own_out" | sed -n 's/^# pass //p')
own_fail=$(printf '%s\n' "$own_out" | sed -n 's/^# fail //p')
if [[ $own_rc != 0 ]]; then
  printf '%s\n' "$own_out" | grep -E '^not ok|^ +(error|expected|actual):|^ +message:' | head -n 40 | sed 's/^/  /'
fi
echo "workers core tests: ${own_pass:-0} passed, ${own_fail:-?} failed"
[[ $vitest_rc != 0 ]] || vitest_rc=$own_rc
exit "$vitest_rc"
