#!/usr/bin/env bash
# Write dsctl's man pages (section 1), gzipped, into manpages/ (or $2):
# dsctl.1.gz and one page per command and help topic. $1 is the version
# for the pages' footer (optional). The page date is SOURCE_DATE_EPOCH,
# else the last commit's date, so the pages are reproducible.
# Run by `make man` and by goreleaser's before hooks.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

version=${1:-}
out=${2:-manpages}
if [[ -z ${SOURCE_DATE_EPOCH:-} ]]; then
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
  export SOURCE_DATE_EPOCH
fi

rm -rf "$out"
go run ./cmd/dsctl-man -dir "$out" -version "$version"
gzip -9 -n "$out"/*.1
echo "manpages: wrote $(ls "$out" | wc -l | tr -d ' ') pages to $out/"
