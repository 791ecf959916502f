#!/usr/bin/env bash
# Run the Durable Streams server conformance suite
# (@durable-streams/server-conformance-tests, pinned in
# testdata/conformance/package-lock.json) against a freshly started
# `dsctl serve`.
#
# Usage:
#   scripts/conformance.sh [--in-memory] [extra vitest args...]
#
#   --in-memory   serve from memory (dsctl serve --in-memory) instead of a
#                 sqlite data dir in a fresh temp directory
#   -h, --help    show this help
#
# Anything else (or everything after `--`) goes to `vitest run`, e.g.
#   scripts/conformance.sh -t "Long-Poll"
#
# Environment:
#   DSCTL_BIN                 binary to test (default bin/dsctl; `make build`)
#   CONFORMANCE_LONGPOLL_MS   suite option longPollTimeoutMs: only stretches
#                             the timeout of a few long-poll tests
#   CONFORMANCE_TIMEOUT       seconds before the vitest run is killed
#                             (default 1200)
#   CONFORMANCE_RESULTS_DIR   where the JSON report and server log of the
#                             last run are kept (default
#                             testdata/conformance/results, gitignored)
#
# The last line printed is
#   conformance (sqlite|memory): N passed, N failed, N skipped
# and the exit code is vitest's (non-zero if a test failed or the server
# never came up).
set -euo pipefail

usage() { sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; }

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
suite_dir="$repo_root/testdata/conformance"

# Resolve DSCTL_BIN before changing directory: a relative path given by the
# caller is relative to their cwd; the default is relative to the repo.
if [[ -z ${DSCTL_BIN:-} ]]; then
  DSCTL_BIN="$repo_root/bin/dsctl"
elif [[ $DSCTL_BIN == */* && $DSCTL_BIN != /* ]]; then
  DSCTL_BIN="$PWD/$DSCTL_BIN"
fi

in_memory=0
vitest_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --in-memory) in_memory=1 ;;
    -h | --help) usage; exit 0 ;;
    --) shift; vitest_args+=("$@"); break ;;
    *) vitest_args+=("$1") ;;
  esac
  shift
done

if [[ $in_memory == 1 ]]; then mode=memory; else mode=sqlite; fi
results_dir="${CONFORMANCE_RESULTS_DIR:-$suite_dir/results}"
timeout_secs="${CONFORMANCE_TIMEOUT:-1200}"
startup_secs=30

log() { printf 'conformance (%s): %s\n' "$mode" "$*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=scripts/lib.sh
source "$repo_root/scripts/lib.sh"

command -v node >/dev/null 2>&1 || die "node not found in PATH"
command -v npm >/dev/null 2>&1 || die "npm not found in PATH"
bin_ok=1
if [[ $DSCTL_BIN == */* ]]; then
  [[ -f $DSCTL_BIN && -x $DSCTL_BIN ]] || bin_ok=0
else
  command -v "$DSCTL_BIN" >/dev/null 2>&1 || bin_ok=0
fi
if [[ $bin_ok == 0 ]]; then
  die "dsctl binary not found or not executable: $DSCTL_BIN (run 'make build' or set DSCTL_BIN)"
fi

# --- npm dependencies -------------------------------------------------------
# `npm ci` only when node_modules is missing (or incomplete) or older than
# the lockfile.
install_deps "$suite_dir" vitest @durable-streams/server-conformance-tests

# --- temp dir, server lifecycle ---------------------------------------------
tmp=$(mktemp -d -t dsctl-conformance.XXXXXX)
server_log="$tmp/server.log"
result_json="$tmp/result.json"
server_pid=""

print_server_log() {
  if [[ -s $server_log ]]; then
    log "last lines of the server log:"
    tail -n 40 "$server_log" | sed 's/^/  | /' >&2
  else
    log "the server log is empty"
  fi
}

server_alive() { [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; }

# stop_server: SIGTERM, wait up to 10 s, then SIGKILL; reap it. If the
# server had already exited on its own, say so and show its log. Returns
# non-zero in that case. Safe to call more than once.
stop_server() {
  local i status=0 died_early=0 killed=0
  [[ -n $server_pid ]] || return 0
  if server_alive; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      server_alive || break
      sleep 0.1
    done
    if server_alive; then
      log "warning: server (pid $server_pid) still running 10s after SIGTERM; sending SIGKILL"
      kill -KILL "$server_pid" 2>/dev/null || true
      killed=1
    fi
    wait "$server_pid" 2>/dev/null || status=$?
    if [[ $killed == 0 && $status != 0 && $status != 143 ]]; then
      log "warning: server exited with status $status after SIGTERM"
    fi
  else
    died_early=1
    wait "$server_pid" 2>/dev/null || status=$?
    log "server exited early (status $status)"
    print_server_log
  fi
  server_pid=""
  return "$died_early"
}

# shellcheck disable=SC2317 # invoked from the EXIT trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_server || [[ $rc != 0 ]] || rc=1
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

server_args=(serve --port 0 --long-poll-timeout 500ms)
if [[ $in_memory == 1 ]]; then
  server_args+=(--in-memory)
else
  server_args+=(--data-dir "$tmp/data")
fi

log "starting $DSCTL_BIN ${server_args[*]}"
"$DSCTL_BIN" "${server_args[@]}" </dev/null >"$server_log" 2>&1 &
server_pid=$!

# The server prints one banner line on stderr with its URL, e.g.
#   dsctl serve: listening on http://127.0.0.1:38211 (data dir ..., durability full)
url=""
deadline=$((SECONDS + startup_secs))
while [[ -z $url ]]; do
  url=$(grep -oE 'http://127\.0\.0\.1:[0-9]+' "$server_log" 2>/dev/null | head -n 1 || true)
  [[ -z $url ]] || break
  server_alive || die "server exited before printing its URL"
  if ((SECONDS >= deadline)); then
    print_server_log
    die "no http://127.0.0.1:PORT URL in the server log after ${startup_secs}s"
  fi
  sleep 0.1
done

http_status() {
  if command -v curl >/dev/null 2>&1; then
    curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null || true
  else
    node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(2000) })
      .then((r) => console.log(r.status), () => console.log("000"))' "$1" 2>/dev/null || true
  fi
}

deadline=$((SECONDS + startup_secs))
code=""
while :; do
  code=$(http_status "$url/health")
  [[ $code != 200 ]] || break
  server_alive || die "server exited before $url/health answered 200"
  if ((SECONDS >= deadline)); then
    print_server_log
    die "$url/health did not answer 200 within ${startup_secs}s (last status: ${code:-none})"
  fi
  sleep 0.1
done
log "server is up at $url (pid $server_pid)"

# --- run the suite ------------------------------------------------------------
# node_modules/.bin/vitest is what `npx vitest` would run; calling it directly
# means the signals sent by timeout (or Ctrl-C) reach vitest itself rather
# than an npx wrapper that does not pass them on.
vitest_cmd=(./node_modules/.bin/vitest run --no-coverage --reporter=default --reporter=json
  "--outputFile.json=$result_json")
if command -v timeout >/dev/null 2>&1; then
  vitest_cmd=(timeout --foreground --kill-after=30 "$timeout_secs" "${vitest_cmd[@]}")
fi

vitest_rc=0
(
  cd "$suite_dir"
  export CONFORMANCE_TEST_URL="$url"
  # Plain text in logs (CI); colours stay on a terminal or with FORCE_COLOR.
  if [[ ! -t 1 && -z ${FORCE_COLOR:-} ]]; then export NO_COLOR=1; fi
  exec "${vitest_cmd[@]}" ${vitest_args[@]+"${vitest_args[@]}"}
) || vitest_rc=$?
if [[ $vitest_rc == 124 ]]; then
  log "vitest did not finish within ${timeout_secs}s (CONFORMANCE_TIMEOUT) and was stopped"
fi

# Stop the server now (not only in the EXIT trap) so that anything it has to
# say comes before the summary line.
if ! stop_server; then
  [[ $vitest_rc != 0 ]] || vitest_rc=1
fi

# --- summary --------------------------------------------------------------------
if [[ -s $result_json ]]; then
  # shellcheck disable=SC2016 # JavaScript template literals, not shell
  node -e '
    const fs = require("fs")
    const [file, mode] = process.argv.slice(1)
    const r = JSON.parse(fs.readFileSync(file, "utf8"))
    for (const f of r.testResults || []) {
      const failed = (f.assertionResults || []).filter((a) => a.status === "failed")
      for (const a of failed) console.log(`  FAILED: ${a.fullName}`)
      if (f.status === "failed" && failed.length === 0) {
        const msg = String(f.message || "").split("\n").find((l) => l.trim()) || "no details"
        console.log(`  FAILED (file): ${f.name.split("/").pop()}: ${msg.trim()}`)
      }
    }
    const skipped = (r.numPendingTests || 0) + (r.numTodoTests || 0)
    console.log(`conformance (${mode}): ${r.numPassedTests || 0} passed, ${r.numFailedTests || 0} failed, ${skipped} skipped`)
  ' "$result_json" "$mode" || { log "could not read the JSON report"; [[ $vitest_rc != 0 ]] || vitest_rc=1; }
else
  log "vitest wrote no JSON report (exit code $vitest_rc)"
  [[ $vitest_rc != 0 ]] || vitest_rc=1
fi

exit "$vitest_rc"
