#!/usr/bin/env bash
# Run the pub/sub checks (testdata/workers/pubsub.test.mjs) against the
# core worker (templates/core) and the subscription worker
# (templates/subscription) under workerd, each started with the pinned
# wrangler in testdata/workers (`wrangler dev --local`, loopback only,
# temp persist dirs, ports chosen free). The subscription worker reaches
# core's CoreRPC entrypoint through its CORE service binding, resolved by
# wrangler's dev registry (a temp WRANGLER_REGISTRY_PATH shared by the two
# processes). The test project is seeded into each worker's local KV
# (with the node tests' secrets and the fixed secret of
# scripts/crossengine.sh). Sessions live WORKERS_SESSION_TTL seconds
# (default 12) so that the expiry alarm is exercised. While both workers
# are still up, the cross-engine suite (internal/crossengine) then runs
# with DSCTL_XE_URL=core, DSCTL_XE_PUBSUB_URL=subscription, pub/sub on.
#
# Usage:
#   scripts/workers-pubsub.sh
#
# The last lines printed are
#   workers pubsub tests: N passed, N failed
#   crossengine (workerd pair): N passed, N failed
# and the exit code is non-zero on a failure.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
workers_dir="$repo_root/testdata/workers"
startup_secs=90

case "${1:-}" in -h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac

log() { printf 'workers pubsub: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=scripts/lib.sh
source "$repo_root/scripts/lib.sh"

command -v node >/dev/null 2>&1 || die "node not found in PATH"
command -v npm >/dev/null 2>&1 || die "npm not found in PATH"
install_deps "$workers_dir" wrangler

tmp=$(mktemp -d -t dsctl-workers-pubsub.XXXXXX)
pids=()

stop_all() {
  local pid
  for pid in ${pids[@]+"${pids[@]}"}; do stop_group "$pid"; done
  pids=()
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_all
  if [[ ${KEEP_LOGS:-} != "" ]]; then cp "$tmp"/*.log "$KEEP_LOGS"/ 2>/dev/null || true; fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cp -R "$repo_root/templates/core" "$tmp/core"
cp -R "$repo_root/templates/subscription" "$tmp/subscription"

export WRANGLER_SEND_METRICS=false WRANGLER_SEND_ERROR_REPORTS=false CI=1 NO_COLOR=1 \
  CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_UPDATE_CHECK=false \
  WRANGLER_LOG_PATH="$tmp/wrangler-logs" XDG_CONFIG_HOME="$tmp/config" WRANGLER_REGISTRY_PATH="$tmp/registry"
wrangler="$workers_dir/node_modules/.bin/wrangler"
# The same project, secret and origin as scripts/crossengine.sh.
xe_project=acme
xe_secret=crossengine-fixed-secret-0123456789abcdef
xe_origin=https://app.example
entry="{\"signingSecrets\":[\"acme-new\",\"acme-old\",\"$xe_secret\"],\"corsOrigins\":[\"$xe_origin\"]}"

start() { # name, port, extra args...
  local name=$1 port=$2
  shift 2
  (cd "$tmp/$name" && "$wrangler" kv key put --local --binding REGISTRY --persist-to "$tmp/state-$name" acme "$entry") \
    >>"$tmp/$name.log" 2>&1 || die "could not seed local KV for $name (see $tmp/$name.log)"
  (
    cd "$tmp/$name"
    exec setsid "$wrangler" dev --local --ip 127.0.0.1 --port "$port" --inspector-port 0 \
      --persist-to "$tmp/state-$name" --show-interactive-dev-session=false "$@"
  ) </dev/null >>"$tmp/$name.log" 2>&1 &
  pids+=($!)
}

wait_up() { # name, url
  local deadline=$((SECONDS + startup_secs)) code
  while :; do
    code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$2/health" 2>/dev/null || true)
    [[ $code != 200 ]] || return 0
    if ((SECONDS >= deadline)); then
      tail -n 40 "$tmp/$1.log" | sed 's/^/  | /' >&2
      die "$2/health ($1) did not answer 200 within ${startup_secs}s"
    fi
    sleep 0.2
  done
}

session_ttl=${WORKERS_SESSION_TTL:-12}
core_port=$(free_port)
start core "$core_port" --var LONG_POLL_TIMEOUT_MS:500 --var AUTH_DEFAULT:0
wait_up core "http://127.0.0.1:$core_port"
sub_port=$(free_port)
start subscription "$sub_port" --var "SESSION_TTL_SECONDS:$session_ttl"
wait_up subscription "http://127.0.0.1:$sub_port"
log "core at http://127.0.0.1:$core_port, subscription at http://127.0.0.1:$sub_port"

rc=0
out=$(SESSION_TTL="$session_ttl" CORE_URL="http://127.0.0.1:$core_port" PUBSUB_URL="http://127.0.0.1:$sub_port" \
  node --test --test-reporter=tap "$workers_dir/pubsub.test.mjs" 2>&1) || rc=$?

# The cross-engine suite against the pair, while both workers are up:
# stream routes on core, pub/sub routes on the subscription worker.
xe_rc=0
xe_out=$(cd "$repo_root" && DSCTL_XE_URL="http://127.0.0.1:$core_port" DSCTL_XE_PUBSUB_URL="http://127.0.0.1:$sub_port" \
  DSCTL_XE_PROJECT="$xe_project" DSCTL_XE_SECRET="$xe_secret" DSCTL_XE_ORIGIN="$xe_origin" DSCTL_XE_PUBSUB=1 \
  go test ./internal/crossengine/ -run TestCrossEngine -count=1 -v -timeout "${CROSSENGINE_TIMEOUT:-5m}" 2>&1) || xe_rc=$?
stop_all
pass=$(printf '%s\n' "$out" | sed -n 's/^# pass //p')
fail=$(printf '%s\n' "$out" | sed -n 's/^# fail //p')
if [[ $rc != 0 ]]; then
  printf '%s\n' "$out" | grep -E '^not ok|^ +(error|expected|actual):|^ +message:' | head -n 40 | sed 's/^/  /'
  for n in core subscription; do grep -iE 'error|exception' "$tmp/$n.log" | grep -v '^\s*$' | head -n 10 | sed "s/^/  [$n] /"; done
fi
# Counted as scripts/crossengine.sh does: indented (subtest) lines only.
xe_pass=$(printf '%s\n' "$xe_out" | grep -cE '^ +--- PASS' || true)
xe_fail=$(printf '%s\n' "$xe_out" | grep -cE '^ +--- FAIL' || true)
if ! printf '%s\n' "$xe_out" | grep -qE '^--- PASS: TestCrossEngine'; then
  [[ $xe_rc != 0 ]] || xe_rc=1
fi
if [[ $xe_rc != 0 ]]; then
  printf '%s\n' "$xe_out" | grep -vE '^\s*--- PASS|^=== (RUN|PAUSE|CONT)' | head -n 80 | sed 's/^/  /'
fi
echo "workers pubsub tests: ${pass:-0} passed, ${fail:-?} failed"
echo "crossengine (workerd pair): $xe_pass passed, $xe_fail failed"
[[ $rc != 0 ]] || rc=$xe_rc
exit "$rc"
