# xbcheck: a model checker for the Xen xenbus protocol.
#
#   make check   build, then check every scenario in scenarios/ (the main job)
#   make test    set up a private oxenstored, then run every test
#
# `make` alone lists the targets.

GO      ?= go
BIN     := bin
SCENARIOS ?= scenarios

.DEFAULT_GOAL := help
.PHONY: help build check test race vet fmt fuzz clean

include mk/xenstored.mk
include mk/diagrams.mk
include mk/report.mk
include mk/xenhost.mk

help: ## Show the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort | expand -t 18

build: ## Build bin/xbcheck
	$(GO) build -o $(BIN)/ ./cmd/...

check: build ## Check every scenario in scenarios/ and print the verdicts and counterexamples
	$(BIN)/xbcheck $(SCENARIOS)

test: xenstored diagrams-deps bench-deps browser-deps vet ## Run every test (the realxs tests against a private oxenstored), then the real-host tests
	$(XENSTORED_TEST_ENV) $(GO) test -count=1 ./...
	@$(MAKE) --no-print-directory realhost

race: xenstored ## Run every test with the race detector
	$(XENSTORED_TEST_ENV) $(GO) test -race -count=1 ./...

vet: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Each target runs for FUZZTIME, one after the other (go test fuzzes one
# target at a time): the scenario and trace parsers, the xenstore frame
# reader and the client's read loop (seeded with real oxenstored frames).
FUZZTIME ?= 30s
FUZZ_TARGETS := ./scenario/:FuzzParse ./trace/:FuzzParseText ./realxs/:FuzzReadMsg ./realxs/:FuzzClient

fuzz: ## Fuzz the scenario and trace parsers and the xenstore wire decoder, FUZZTIME (30s) each
	@set -e; for t in $(FUZZ_TARGETS); do \
	  echo "fuzz: $${t#*:} in $${t%%:*} for $(FUZZTIME)"; \
	  $(GO) test -run '^$$' -fuzz "^$${t#*:}\$$" -fuzztime $(FUZZTIME) $${t%%:*}; \
	done

clean: ## Remove build output (keeps .cache/)
	rm -rf $(BIN)

.PHONY: sim
sim: build ## Simulate every scenario 10000 times (random scheduler) and print each property's failure rate
	@for f in $(SCENARIOS)/*.toml; do $(BIN)/xbsim run $$f --runs 10000 --seed 1; done; true

.PHONY: bench bench-deps
# tcc compiles the verifiers the tests only count with (bench.CountOnly),
# about 40 times faster than gcc -O0; without it they use gcc, so it is
# installed on its own: a missing tcc package costs time, not the tests.
bench-deps: ## Install spin, gcc and tcc for the SPIN comparison (apt-get)
	@command -v spin >/dev/null && command -v gcc >/dev/null || \
	  { apt-get update -q >/dev/null && apt-get install -y -q spin gcc >/dev/null; } || \
	  echo "bench-deps: could not install spin and gcc; the SPIN comparison will be skipped (and fail under CI=true)"
	@command -v tcc >/dev/null || apt-get install -y -q tcc >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null && apt-get install -y -q tcc >/dev/null; } || \
	  echo "bench-deps: could not install tcc; the SPIN tests will compile with gcc -O0 (minutes slower)"

bench: bench-deps ## Benchmark the checker against SPIN and write docs/performance.md
	$(GO) test -run '^$$' -bench . -benchtime 3x ./bench/ ./checker/
	$(GO) run ./bench/perf -o docs/performance.md
