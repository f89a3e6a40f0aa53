# Diagrams drawn from the model (see diagram/ and docs/diagrams/).
#
#   make diagrams        regenerate docs/diagrams/ (DOT and SVG)
#   make diagrams-deps   install Graphviz's dot if it is missing (Debian)
#
# The DOT files are golden: `go test ./diagram` fails when one is stale,
# and `go test ./internal/archtest` when docs/diagrams/architecture (the
# package import graph, drawn from the source) is.

DIAGRAMS_DIR ?= docs/diagrams

.PHONY: diagrams diagrams-deps

diagrams-deps: ## Install Graphviz (dot) with apt-get if it is missing
	@command -v dot >/dev/null 2>&1 || { \
		echo "installing graphviz (dot)"; \
		apt-get update && apt-get install -y graphviz; }

diagrams: diagrams-deps build report-example ## Regenerate docs/diagrams/ (flowcharts, drivers, counterexamples, the package graph) as DOT and SVG, and docs/report
	$(BIN)/xbcheck diagram all --scenarios $(SCENARIOS) -o $(DIAGRAMS_DIR)
	$(GO) test ./internal/archtest -run '^TestPackageDiagram$$' -count=1 -update
