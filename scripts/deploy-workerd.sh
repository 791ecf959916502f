#!/usr/bin/env bash
# Check the worker folder `dsctl setup` scaffolds under workerd: the Go test
# TestScaffoldedWorkersUnderWorkerd (internal/cli) runs `dsctl setup --yes`
# and `dsctl create-project --remote` against an in-process fake of the
# Cloudflare API, seeds the stored registry entry into local KV, starts
# ./workers/core and ./workers/subscription with the wrangler pinned in
# testdata/workers (`wrangler dev --local`, loopback only), and checks
# /health, create/append/read with a token from `dsctl token --remote`,
# that wrong or missing tokens are refused, and the --remote client
# commands against both workers (stream append/read/list, subscribe,
# publish with its fan-out to the session stream).
#
# The last line printed is
#   deploy scaffold (workerd): N passed, N failed
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
workers_dir="$repo_root/testdata/workers"

case "${1:-}" in -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac

log() { printf 'deploy scaffold (workerd): %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=scripts/lib.sh
source "$repo_root/scripts/lib.sh"

command -v node >/dev/null 2>&1 || die "node not found in PATH"
command -v npm >/dev/null 2>&1 || die "npm not found in PATH"
install_deps "$workers_dir" wrangler

out=$(mktemp -t dsctl-deploy-workerd.XXXXXX)
trap 'rm -f "$out"' EXIT
rc=0
(cd "$repo_root" && DSCTL_WRANGLER="$workers_dir/node_modules/.bin/wrangler" \
  go test -count=1 -v -run '^TestScaffoldedWorkersUnderWorkerd$' ./internal/cli/) >"$out" 2>&1 || rc=$?
passed=$(grep -c '^--- PASS' "$out" || true)
failed=$(grep -c '^--- FAIL' "$out" || true)
skipped=$(grep -c '^--- SKIP' "$out" || true)
if ((rc != 0 || passed == 0)); then
  cat "$out" >&2
  ((failed > 0)) || failed=1
fi
((skipped == 0)) || { cat "$out" >&2; failed=$((failed + skipped)); }
echo "deploy scaffold (workerd): $passed passed, $failed failed"
((failed == 0))
