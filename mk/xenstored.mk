# mk/xenstored.mk: a real oxenstored for the realxs tests, with no
# hypervisor and nothing installed system-wide.
#
# Included by the top-level Makefile. `make xenstored` unpacks Debian's
# oxenstored and its libraries into $(XENSTORED_DIR) (git-ignored, under
# .cache/) and builds the LD_PRELOAD shim there; see
# tools/xenstored/setup.sh. It is a no-op once $(XENSTORED_DIR)/stamp is
# newer than its sources.
#
# For the test target:
#   test: xenstored
#   	$(XENSTORED_TEST_ENV) go test ./...
# XENSTORED_TEST_ENV sets XBCHECK_XENSTORED to the folder when the setup
# completed, and to the empty string (tests needing the daemon skip)
# otherwise. Under CI=true the setup fails instead of skipping (and so
# does `make test`).

XENSTORED_DIR ?= $(CURDIR)/.cache/xenstored
XENSTORED_SRC := tools/xenstored/setup.sh tools/xenstored/shim.c tools/xenstored/oxenstored.conf tools/xenstored/xsbench.c
XENSTORED_TEST_ENV = XBCHECK_XENSTORED="$$(test -f '$(XENSTORED_DIR)/stamp' && echo '$(XENSTORED_DIR)')"

.PHONY: xenstored xenstored-clean

xenstored: $(XENSTORED_DIR)/stamp ## Fetch oxenstored and build its shim into .cache/xenstored

$(XENSTORED_DIR)/stamp: $(XENSTORED_SRC)
	@sh tools/xenstored/setup.sh '$(XENSTORED_DIR)'

xenstored-clean: ## Remove .cache/xenstored
	rm -rf '$(XENSTORED_DIR)'
