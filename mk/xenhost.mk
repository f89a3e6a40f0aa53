# mk/xenhost.mk: the real Xen test host (realxs/xenhost), included by the
# top-level Makefile.
#
#   make xenhost    fetch Xen 4.17, the Debian kernel and the userland with
#                   apt-get download (nothing of Xen installed; QEMU, cpio,
#                   kmod, xz-utils are installed on the host), and build the
#                   boot images into $(XENHOST_DIR). Cached: fetch.sh and
#                   build.sh each write a stamp, and Make reruns a step only
#                   when its sources are newer.
#   make realhost   run the tests that boot the host (build tag realhost),
#                   one package at a time (-p 1): one QEMU at a time on
#                   these 2-core machines. Plain `go test ./...` never boots
#                   a VM.
#
# Under CI=true a missing cache or a failed boot fails the run with one
# line saying why; elsewhere the tests skip, saying `make xenhost` fixes it.

XENHOST_DIR ?= $(CURDIR)/.cache/xenhost
# The packages with real-host tests: every folder holding a _test.go file
# with the realhost build tag.
XENHOST_PKGS = $$(grep -rlE --include='*_test.go' --exclude-dir=.cache --exclude-dir=.git '^//go:build.*\brealhost\b' . | xargs -r -n1 dirname | sort -u)

.PHONY: xenhost realhost xenhost-clean

xenhost: $(XENHOST_DIR)/build.stamp ## Fetch and build the real Xen test host's images into .cache/xenhost

$(XENHOST_DIR)/fetch.stamp: tools/xenhost/fetch.sh
	@sh tools/xenhost/fetch.sh '$(XENHOST_DIR)'

$(XENHOST_DIR)/build.stamp: $(XENHOST_DIR)/fetch.stamp tools/xenhost/build.sh tools/xenhost/dom0-init tools/xenhost/guest-init tools/xenhost/oxenstored.conf
	@bash tools/xenhost/build.sh '$(XENHOST_DIR)'

realhost: ## Make xenhost, then run the tests that boot a real Xen host in QEMU
	@if ! $(MAKE) -s --no-print-directory xenhost; then \
	  if [ "$$CI" = true ]; then echo "realhost: make xenhost failed (see above)"; exit 1; fi; \
	  echo "realhost: make xenhost failed; the real-host tests will skip"; fi
	@pkgs="$(XENHOST_PKGS)"; [ -n "$$pkgs" ] || { echo "realhost: no real-host tests found"; exit 0; }; \
	  echo "XBCHECK_XENHOST=$(XENHOST_DIR) $(GO) test -tags realhost -count=1 -p 1" $$pkgs; \
	  rm -f '$(XENHOST_DIR)/report/summary.txt'; \
	  XBCHECK_XENHOST='$(XENHOST_DIR)' $(GO) test -tags realhost -count=1 -p 1 -timeout 15m $$pkgs; rc=$$?; \
	  cat '$(XENHOST_DIR)/report/summary.txt' 2>/dev/null || echo "realhost: no summary (the run stopped before it)"; \
	  exit $$rc

xenhost-clean: ## Remove .cache/xenhost
	rm -rf '$(XENHOST_DIR)'
