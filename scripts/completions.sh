#!/usr/bin/env bash
# Write dsctl's shell completions into completions/ (or $1):
# dsctl.bash, _dsctl (zsh) and dsctl.fish. Run by `make completions` and
# by goreleaser's before hooks.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

out=${1:-completions}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/dsctl" ./cmd/dsctl

rm -rf "$out"
mkdir -p "$out"
"$tmp/dsctl" completion bash >"$out/dsctl.bash"
"$tmp/dsctl" completion zsh >"$out/_dsctl"
"$tmp/dsctl" completion fish >"$out/dsctl.fish"
bash -n "$out/dsctl.bash"
echo "completions: wrote $(ls "$out" | wc -l | tr -d ' ') files to $out/"
