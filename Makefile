# dsctl developer targets. `make test` is what CI runs (via .ci/run).

GO        ?= go
GOFMT     ?= gofmt
BIN       ?= bin/dsctl
# goreleaser v2, pinned in its own module (tools/goreleaser/go.mod) so its
# dependencies stay out of dsctl's module graph.
GORELEASER ?= $(GO) tool -modfile=tools/goreleaser/go.mod goreleaser

# `make test` runs its steps strictly one after another, in the order listed.
.NOTPARALLEL:

.PHONY: all build vet fmt-check unit conformance conformance-workers pubsub-workers deploy-workerd crossengine test bench clean man completions release-config-check release-check release

all: build

build:
	$(GO) build -o $(BIN) ./cmd/dsctl

vet:
	$(GO) vet ./...

fmt-check:
	@files=$$(find . \( -path ./.git -o -path ./testdata/conformance/node_modules -o -path ./testdata/workers/node_modules \) -prune \
		-o -type f -name '*.go' -print | sed 's|^\./||' | sort); \
	if [ -z "$$files" ]; then echo "fmt-check: no Go files"; exit 0; fi; \
	unformatted=$$($(GOFMT) -l $$files) || exit 1; \
	if [ -n "$$unformatted" ]; then \
		echo "fmt-check: these files need gofmt:"; \
		echo "$$unformatted" | sed 's/^/  /'; \
		exit 1; \
	fi; \
	echo "fmt-check: ok"

unit:
	$(GO) test -race -count=1 ./...
	# The tmux-driven dsctl ui test skips under -race; run it as users run dsctl.
	$(GO) test -count=1 -run 'TestUITmux' ./internal/cli/


# Both storage modes always run; the target fails if either one failed.
conformance: build
	@rc=0; \
	DSCTL_BIN=$(BIN) bash scripts/conformance.sh || rc=1; \
	DSCTL_BIN=$(BIN) bash scripts/conformance.sh --in-memory || rc=1; \
	if command -v node >/dev/null 2>&1; then \
		bash scripts/workers-conformance.sh || rc=1; \
		bash scripts/workers-pubsub.sh || rc=1; \
		bash scripts/deploy-workerd.sh || rc=1; \
	else \
		echo "conformance (workerd): skipped: node not found"; \
		echo "workers pubsub tests: skipped: node not found"; \
		echo "deploy scaffold (workerd): skipped: node not found"; \
	fi; \
	exit $$rc

# The core worker (templates/core) under workerd, run by the wrangler
# pinned in testdata/workers (wrangler dev --local, loopback only).
conformance-workers:
	bash scripts/workers-conformance.sh

# The subscription worker (templates/subscription) next to core under
# workerd: the pub/sub checks of testdata/workers/pubsub.test.mjs.
pubsub-workers:
	bash scripts/workers-pubsub.sh

# The ./workers folder dsctl setup scaffolds (against a fake Cloudflare
# API) under workerd, with a token minted from the registry entry that
# create-project --remote stored.
deploy-workerd:
	bash scripts/deploy-workerd.sh

# The cross-engine HTTP suite (internal/crossengine) against dsctl serve
# and, when node is present, the core worker under workerd.
crossengine: build
	@rc=0; \
	DSCTL_BIN=$(BIN) bash scripts/crossengine.sh local || rc=1; \
	if command -v node >/dev/null 2>&1; then \
		bash scripts/crossengine.sh workerd || rc=1; \
	else \
		echo "crossengine (workerd): skipped: node not found"; \
	fi; \
	exit $$rc

test: fmt-check vet unit conformance crossengine

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./internal/engine/...

# Man pages (gzipped, one per command) into manpages/; shell completions into completions/.
man:
	bash scripts/manpages.sh "$(VERSION)" manpages

completions:
	bash scripts/completions.sh completions

# Validate .goreleaser.yaml (what CI runs).
release-config-check:
	$(GORELEASER) check

# Validate .goreleaser.yaml and build a snapshot release into dist/ (nothing is published).
release-check: release-config-check
	$(GORELEASER) release --snapshot --clean --skip=publish

# A real release from a vX.Y.Z tag (needs GITHUB_TOKEN and HOMEBREW_TAP_GITHUB_TOKEN).
release:
	$(GORELEASER) release --clean

clean:
	rm -rf bin dist completions manpages testdata/conformance/results
