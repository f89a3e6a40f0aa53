//go:build realhost

package realhost

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/xbcheck/xbcheck/realxs"
	"github.com/xbcheck/xbcheck/realxs/difftest"
	"github.com/xbcheck/xbcheck/realxs/xenhost"
)

// DiffBudget is the time the differential test runs random sequences on
// each daemon ($XBCHECK_DIFF_BUDGET overrides it); the named C xenstored
// conflict cases and the known differences' own checks come on top
// (about 5 s and 3 s on TCG).
const DiffBudget = 25 * time.Second

// diffClients is the number of dom0 connections the sequences use: four
// groups run side by side (difftest.Live), which pays off on a daemon
// whose every answer takes a few milliseconds.
const diffClients = 4 * difftest.GroupSize

// differential runs the differential test of the model's xenstore
// (package difftest) on h's daemon for DiffBudget, with diffClients new
// dom0 connections, then, on C xenstored, the named conflict cases, and
// the live check of every known difference the daemon shows; it records
// the figures in the summary (Differential; the known differences met
// in Named, their unexplained divergences in the line's). TestRealHost
// runs it on each daemon's host, as the subtests sequences, conflict and
// known. It holds the model's xenstore to a live C xenstored 4.17 (the
// only way to run one: it cannot serve without a hypervisor) and to a
// live oxenstored 4.17 in dom0.
func differential(t *testing.T, h *xenhost.Host) {
	t.Helper()
	daemon := h.Xenstored()
	d := &Differential{Xenstored: daemon, Known: map[string]int64{}}
	summary.Differential = append(summary.Differential, d)
	start := time.Now()
	t.Run("sequences", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), DiffBudget+2*time.Minute)
		defer cancel()
		var clients []*realxs.Client
		for range diffClients {
			c, err := h.DialXenstore(ctx)
			if err != nil {
				t.Fatalf("xenstore: %v", err)
			}
			t.Cleanup(func() { c.Close() })
			clients = append(clients, c)
		}
		st := difftest.Live(t, clients, daemon, diffBudget())
		d.Sequences, d.Requests, d.Commits, d.EAGAINs, d.Unexplained = st.Sequences, st.Requests, st.Commits, st.EAGAINs, st.Unexplained
		for k, n := range st.Known {
			d.Known[string(k)] = n
			if !slices.Contains(summary.Named, string(k)) {
				summary.Named = append(summary.Named, string(k))
			}
		}
	})
	if daemon == xenhost.CXenstored {
		t.Run("conflict", func(t *testing.T) {
			difftest.CConflictCases(t, h.DialXenstore)
			if t.Failed() {
				d.Unexplained++
			}
		})
	}
	t.Run("known", func(t *testing.T) {
		difftest.Known(t, h.DialXenstore, daemon)
		for _, k := range difftest.KnownTested(daemon) {
			d.KnownChecked = append(d.KnownChecked, string(k))
		}
		if t.Failed() {
			d.Unexplained++
		}
	})
	d.Duration = time.Since(start)
	t.Logf("differential %s: %d sequences, %d requests, %d commits (%d EAGAIN), %d unexplained, known differences %v (checked live: %v) in %v",
		daemon, d.Sequences, d.Requests, d.Commits, d.EAGAINs, d.Unexplained, fmtKnown(d.Known), d.KnownChecked, d.Duration.Round(100*time.Millisecond))
}

func fmtKnown(m map[string]int64) []string {
	var out []string
	for k, n := range m {
		out = append(out, fmt.Sprintf("%s=%d", k, n))
	}
	slices.Sort(out)
	return out
}

// diffBudget is DiffBudget, or $XBCHECK_DIFF_BUDGET (a duration).
func diffBudget() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("XBCHECK_DIFF_BUDGET")); err == nil && d > 0 {
		return d
	}
	return DiffBudget
}
