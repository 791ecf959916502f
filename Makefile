# dsctl developer targets. `make test` is what CI runs (via .ci/run).

GO        ?= go
GOFMT     ?= gofmt
BIN       ?= bin/dsctl

# `make test` runs its steps strictly one after another, in the order listed.
.NOTPARALLEL:

.PHONY: all build vet fmt-check unit conformance test bench clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/dsctl

vet:
	$(GO) vet ./...

fmt-check:
	@files=$$(find . \( -path ./.git -o -path ./testdata/conformance/node_modules \) -prune \
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

# Both storage modes always run; the target fails if either one failed.
conformance: build
	@rc=0; \
	DSCTL_BIN=$(BIN) bash scripts/conformance.sh || rc=1; \
	DSCTL_BIN=$(BIN) bash scripts/conformance.sh --in-memory || rc=1; \
	exit $$rc

test: fmt-check vet unit conformance

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./internal/engine/...

clean:
	rm -rf bin testdata/conformance/results
