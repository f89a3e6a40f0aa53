# The HTML report's browser tests and its example (see report/ and
# docs/report/).
#
#   make browser-deps    install Debian's chromium if it is missing
#   make report-example  regenerate docs/report (the example report and its screenshot)
#
# docs/report/example.html is golden: `go test ./report` fails when it is
# stale (SVGs aside, which depend on the Graphviz version), and when
# example.png was not taken of it (the PNG records the page's SHA-256).
# Pixels are not compared: they depend on Chromium's version and fonts.

.PHONY: browser-deps report-example

browser-deps: ## Install Chromium (for the report's browser tests) with apt-get if it is missing
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
		echo "installing chromium"; \
		apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }

report-example: diagrams-deps browser-deps ## Regenerate docs/report (example report and screenshot)
	$(GO) test -count=1 -run 'TestExample' ./report -update
