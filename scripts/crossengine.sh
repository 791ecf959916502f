#!/usr/bin/env bash
# Run the cross-engine HTTP suite (internal/crossengine, TestCrossEngine)
# against one engine, started here on loopback with a fresh state dir and
# the test project seeded:
#
#   scripts/crossengine.sh local     dsctl serve --port 0 on a temp data dir;
#                                    the project is made with dsctl
#                                    create-project (+ project cors add);
#                                    pub/sub routes included
#   scripts/crossengine.sh workerd   the core worker (templates/core) under
#                                    `wrangler dev --local` (the wrangler
#                                    pinned in testdata/workers), the project
#                                    seeded into local KV (REGISTRY); no
#                                    pub/sub (it lives in another worker)
#
# Environment: DSCTL_BIN (local: a built dsctl; default: go build into
# the temp dir), CROSSENGINE_TIMEOUT (go test -timeout, default 5m).
#
# The last line printed is
#   crossengine (<engine>): N passed, N failed
# (counted from `go test -v` --- PASS / --- FAIL lines, subtests included)
# and the exit code is non-zero if anything failed.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
workers_dir="$repo_root/testdata/workers"
engine=${1:-}
case "$engine" in
local | workerd) ;;
-h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
*) echo "usage: scripts/crossengine.sh local|workerd" >&2; exit 2 ;;
esac

project=acme
secret=crossengine-fixed-secret-0123456789abcdef
origin=https://app.example
startup_secs=90

log() { printf 'crossengine (%s): %s\n' "$engine" "$*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=scripts/lib.sh
source "$repo_root/scripts/lib.sh"

tmp=$(mktemp -d -t dsctl-crossengine.XXXXXX)
server_log="$tmp/server.log"
server_pid=""

# The server runs in its own process group (setsid) so that the whole
# group (wrangler and its workerd child) can be stopped.
stop_server() {
  [[ -n $server_pid ]] || return 0
  stop_group "$server_pid"
  server_pid=""
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_server
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

wait_health() { # url
  local url=$1 code deadline=$((SECONDS + startup_secs))
  while :; do
    code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$url/health" 2>/dev/null || true)
    [[ $code != 200 ]] || return 0
    if ! kill -0 "$server_pid" 2>/dev/null; then
      tail -n 40 "$server_log" | sed 's/^/  | /' >&2
      die "the server exited before $url/health answered"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 40 "$server_log" | sed 's/^/  | /' >&2
      die "$url/health did not answer 200 within ${startup_secs}s"
    fi
    sleep 0.2
  done
}

pubsub=""
if [[ $engine == local ]]; then
  dsctl=${DSCTL_BIN:-}
  if [[ -z $dsctl ]]; then
    dsctl="$tmp/dsctl"
    (cd "$repo_root" && go build -o "$dsctl" ./cmd/dsctl) || die "go build failed"
  fi
  data="$tmp/data"
  "$dsctl" create-project "$project" --secret "$secret" --data-dir "$data" >"$tmp/create.log" 2>&1 ||
    { cat "$tmp/create.log" >&2; die "create-project failed"; }
  "$dsctl" project cors add "$project" "$origin" --data-dir "$data" >>"$tmp/create.log" 2>&1 ||
    { cat "$tmp/create.log" >&2; die "project cors add failed"; }
  setsid "$dsctl" serve --port 0 --data-dir "$data" --long-poll-timeout 500ms </dev/null >"$server_log" 2>&1 &
  server_pid=$!
  url=""
  for ((i = 0; i < 300; i++)); do
    url=$(sed -n 's/^dsctl serve: listening on \(http[^ ]*\).*/\1/p' "$server_log" | head -n 1)
    [[ -z $url ]] || break
    kill -0 "$server_pid" 2>/dev/null || { cat "$server_log" >&2; die "dsctl serve exited"; }
    sleep 0.1
  done
  [[ -n $url ]] || { cat "$server_log" >&2; die "dsctl serve printed no listening URL"; }
  wait_health "$url"
  pubsub=1
else
  command -v node >/dev/null 2>&1 || die "node not found in PATH"
  install_deps "$workers_dir" wrangler
  cp -R "$repo_root/templates/core" "$tmp/core"
  port=$(free_port)
  url="http://127.0.0.1:$port"
  # No telemetry, no update check, no Request.cf download: loopback only.
  export WRANGLER_SEND_METRICS=false WRANGLER_SEND_ERROR_REPORTS=false CI=1 NO_COLOR=1 \
    CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_UPDATE_CHECK=false \
    WRANGLER_LOG_PATH="$tmp/wrangler-logs" XDG_CONFIG_HOME="$tmp/config"
  wrangler="$workers_dir/node_modules/.bin/wrangler"
  (cd "$tmp/core" && "$wrangler" kv key put --local --binding REGISTRY --persist-to "$tmp/state" "$project" \
    "{\"signingSecrets\":[\"$secret\"],\"corsOrigins\":[\"$origin\"]}") >>"$server_log" 2>&1 ||
    { tail -n 40 "$server_log" >&2; die "could not seed local KV"; }
  (
    cd "$tmp/core"
    exec setsid "$wrangler" dev --local --ip 127.0.0.1 --port "$port" \
      --inspector-port 0 --persist-to "$tmp/state" --show-interactive-dev-session=false \
      --var LONG_POLL_TIMEOUT_MS:500 --var AUTH_DEFAULT:0
  ) </dev/null >>"$server_log" 2>&1 &
  server_pid=$!
  wait_health "$url"
fi
log "engine is up at $url"

rc=0
out=$(cd "$repo_root" && DSCTL_XE_URL="$url" DSCTL_XE_PROJECT="$project" DSCTL_XE_SECRET="$secret" \
  DSCTL_XE_ORIGIN="$origin" DSCTL_XE_PUBSUB="$pubsub" \
  go test ./internal/crossengine/ -run TestCrossEngine -count=1 -v -timeout "${CROSSENGINE_TIMEOUT:-5m}" 2>&1) || rc=$?
stop_server
printf '%s\n' "$out" | grep -vE '^\s*--- PASS|^=== (RUN|PAUSE|CONT)' || true
# Subtest lines are indented; the top-level TestCrossEngine line is not.
passed=$(printf '%s\n' "$out" | grep -cE '^ +--- PASS' || true)
failed=$(printf '%s\n' "$out" | grep -cE '^ +--- FAIL' || true)
skipped=$(printf '%s\n' "$out" | grep -cE '^ +--- SKIP' || true)
if ! printf '%s\n' "$out" | grep -qE '^--- PASS: TestCrossEngine'; then
  [[ $rc != 0 ]] || rc=1
fi
if [[ $skipped != 0 ]]; then log "$skipped subtest(s) skipped"; fi
echo "crossengine ($engine): $passed passed, $failed failed"
exit "$rc"
