package difftest

import (
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/xbcheck/xbcheck/realxs"
	"github.com/xbcheck/xbcheck/realxs/xstest"
)

// Rounds and daemons: the test runs Daemons daemons side by side, each
// with Rounds rapid checks (100 sequences each by default, more with
// -rapid.checks).
const (
	Daemons = 4
	Rounds  = 8
)

const nClients = 3

// Reference: xenstore-wire.md 1.2, 1.6, 1.7; package model, "Xenstore
// semantics".
func TestModelAgreesWithOxenstored(t *testing.T) {
	u := newUniverse(t, Oxenstored, nClients)
	st := &counters{}
	start := time.Now()
	t.Run("daemons", func(t *testing.T) {
		for d := range Daemons {
			t.Run(fmt.Sprint(d), func(t *testing.T) {
				t.Parallel()
				dm := xstest.Start(t, xstest.Options{})
				clients := make([]*realxs.Client, nClients)
				for i := range clients {
					clients[i] = dm.Dial(t)
				}
				r := &runner{u: u, clients: clients, stats: st, prefix: "/d"}
				for range Rounds {
					rapid.Check(t, r.run)
				}
			})
		}
	})
	t.Logf("%s", st.stats(Oxenstored, time.Since(start)))
}

// Live runs for its budget and returns its figures.
func TestLive(t *testing.T) {
	dm := xstest.Start(t, xstest.Options{})
	clients := []*realxs.Client{dm.Dial(t), dm.Dial(t), dm.Dial(t), dm.Dial(t), dm.Dial(t), dm.Dial(t)} // two groups
	st := Live(t, clients, Oxenstored, 2*time.Second)
	if st.Sequences < 10 || st.Requests < st.Sequences || st.Commits == 0 || st.Unexplained != 0 || st.Daemon != Oxenstored {
		t.Errorf("figures: %+v", st)
	}
	if st.Elapsed < 2*time.Second || st.Elapsed > 20*time.Second {
		t.Errorf("ran for %v; budget 2s", st.Elapsed)
	}
}
