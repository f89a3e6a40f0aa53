//go:build realhost

package realhost

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xbcheck/xbcheck/realxs/xenhost"
	"github.com/xbcheck/xbcheck/realxs/xenhost/hosttest"
)

// A hostCheck is one check of the real host. run gets a host with one of
// daemons, booted, and with no domain but dom0; it creates the guests it
// needs and should destroy them.
type hostCheck struct {
	name    string
	daemons []string
	run     func(t *testing.T, h *xenhost.Host)
}

// hostChecks are the real-host checks, in the order they run on each
// daemon's host. conformance runs first on C xenstored: its judge reads
// the host's whole -T trace, which the differential test's thousands of
// requests would lengthen. domainDeath runs last: it crashes a guest.
var hostChecks = []hostCheck{
	{"conformance", []string{xenhost.CXenstored}, conformance},
	{"differential", []string{xenhost.CXenstored, xenhost.OXenstored}, differential},
	{"script-key-missing", []string{xenhost.CXenstored}, scriptKeyMissing},
	{"harness", []string{xenhost.CXenstored, xenhost.OXenstored}, harness},
	{"domain-death", []string{xenhost.CXenstored, xenhost.OXenstored}, domainDeath},
}

// harness checks the test host itself (package hosttest): dom0's
// commands and files, a xenstore client and the daemon's trace, and on C
// xenstored the xenbus probe in dom0 and a guest of its own. Closing the
// host is checked when the test ends (boot).
func harness(t *testing.T, h *xenhost.Host) {
	t.Run("dom0", func(t *testing.T) { hosttest.Dom0(t, h) })
	t.Run("xenstore", func(t *testing.T) {
		hosttest.Xenstore(t, h)
		hosttest.AccessLog(t, h)
	})
	if h.Xenstored() == xenhost.CXenstored {
		t.Run("probe-dom0", func(t *testing.T) { hosttest.ProbeDom0(t, h) })
		t.Run("guest", func(t *testing.T) { hosttest.Guest(t, h, "harness1") })
	}
}

// TestRealHost boots one host per daemon, C xenstored then oxenstored
// (one QEMU at a time), and runs that daemon's checks on it, each as a
// subtest (TestRealHost/cxenstored/domain-death), so a failure names its
// check and the checks after it still run. Before each check the host is
// brought to a known state: dom0 alone, any guest an earlier check left
// destroyed.
func TestRealHost(t *testing.T) {
	for _, daemon := range []string{xenhost.CXenstored, xenhost.OXenstored} {
		t.Run(daemon, func(t *testing.T) {
			h := boot(t, daemon)
			for _, c := range hostChecks {
				if !slices.Contains(c.daemons, daemon) {
					continue
				}
				t.Run(c.name, func(t *testing.T) {
					onlyDom0(t, h)
					c.run(t, h)
				})
			}
		})
	}
}

// onlyDom0 destroys every domain but dom0 that `xl list` shows on h, each
// logged, and waits until they are gone; a host that does not answer, or
// a domain that stays, fails the test.
func onlyDom0(t *testing.T, h *xenhost.Host) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	list := func() []xlDomain {
		res, err := h.Run(ctx, "xl", "list")
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("the host before the check: xl list: exit %d, %v: %s", res.ExitCode, err, strings.TrimSpace(string(res.Stderr)))
		}
		return xlGuests(string(res.Stdout))
	}
	left := list()
	if len(left) == 0 {
		return
	}
	for _, d := range left {
		res, err := h.Run(ctx, "xl", "destroy", strconv.Itoa(d.ID))
		t.Logf("the host before the check: destroyed %s (dom%d), left by an earlier check: exit %d, %v", d.Name, d.ID, res.ExitCode, err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		still := list()
		if len(still) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the host before the check: domains %v left by an earlier check stay after xl destroy", still)
		}
	}
}
