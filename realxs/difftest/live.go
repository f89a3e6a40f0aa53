package difftest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/realxs"
	"github.com/xbcheck/xbcheck/realxs/exec"
)

// Stats are the figures of a differential run.
type Stats struct {
	// Daemon is Oxenstored or CXenstored.
	Daemon string
	// Sequences counts the random sequences run to the end; Requests
	// the requests they made (the setup, the checks' reads and the
	// clean-up left out); Commits and EAGAINs the commits and how many
	// the daemon failed.
	Sequences, Requests, Commits, EAGAINs int64
	// DoomedReads counts the reads inside C xenstored transactions that
	// the model's rule already fails: the model never sees what such a
	// read returns (its transaction body is retried), so it is not
	// compared.
	DoomedReads int64
	// Known counts the known differences met, by name (exec.Known).
	Known map[exec.Known]int64
	// Unexplained counts the divergences that no name explains: a
	// failing sequence, reported (shrunk) through the test, which fails.
	// The run stops at the first.
	Unexplained int
	Elapsed     time.Duration
}

// String is the one-line report of a run.
func (st Stats) String() string {
	var known []string
	for k, n := range st.Known {
		known = append(known, fmt.Sprintf("%s=%d", k, n))
	}
	slices.Sort(known)
	s := fmt.Sprintf("%s: %d sequences, %d requests, %d commits (%d EAGAIN) in %v; %d unexplained; known differences: %s",
		st.Daemon, st.Sequences, st.Requests, st.Commits, st.EAGAINs, st.Elapsed.Round(time.Millisecond), st.Unexplained, strings.Join(known, " "))
	if st.DoomedReads > 0 {
		s += fmt.Sprintf("; %d reads in transactions the model fails, not compared", st.DoomedReads)
	}
	return s
}

// counters are a run's figures, shared by concurrent sequences.
type counters struct {
	seqs, ops, commits, eagains, doomed atomic.Int64
	known                               sync.Map // exec.Known -> *atomic.Int64
}

func (c *counters) count(k exec.Known) {
	v, _ := c.known.LoadOrStore(k, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func (c *counters) stats(daemon string, elapsed time.Duration) Stats {
	st := Stats{Daemon: daemon, Sequences: c.seqs.Load(), Requests: c.ops.Load(), Commits: c.commits.Load(),
		EAGAINs: c.eagains.Load(), DoomedReads: c.doomed.Load(), Known: map[exec.Known]int64{}, Elapsed: elapsed}
	c.known.Range(func(k, v any) bool {
		st.Known[k.(exec.Known)] = v.(*atomic.Int64).Load()
		return true
	})
	return st
}

// A runner runs random sequences against one daemon's clients.
type runner struct {
	u        *universe
	clients  []*realxs.Client
	stats    *counters
	prefix   string       // of each sequence's root
	n        atomic.Int64 // sequences started
	deadline time.Time    // zero: none
	// failing is set by the runner's first divergence: from then on
	// its sequences run whatever the deadline, so that rapid can shrink
	// it. stop, shared by the runners of one run, ends the others'.
	failing atomic.Bool
	stop    *atomic.Bool
}

// run is one random sequence against the daemon of clients, below a
// fresh root. Past the runner's deadline, or once another runner of the
// run failed, it does nothing, unless this runner found a divergence
// (then rapid is shrinking it).
func (r *runner) run(t *rapid.T) {
	if !r.failing.Load() && (!r.deadline.IsZero() && time.Now().After(r.deadline) || r.stop != nil && r.stop.Load()) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	u, clients, stats := r.u, r.clients, r.stats
	if r.failing.Load() {
		stats = &counters{} // rapid is shrinking: the figures are the search's
	}
	s := &seq{u: u, t: t, ctx: ctx, root: fmt.Sprintf("%s%d", r.prefix, r.n.Add(1)), st: u.sys.Initial(),
		clients: clients, watches: map[model.WatchID]*realxs.Watch{}, stats: stats, failing: &r.failing, txns: make([]*refTxn, len(clients)),
		required: make([]bool, len(watchAt)), phantom: make([]bool, len(watchAt))}
	if err := clients[0].Write(ctx, s.root, nil); err != nil {
		s.fatalf("WRITE %s: %v", s.root, err)
	}
	defer func() {
		var wg sync.WaitGroup
		for _, w := range s.watches {
			wg.Go(func() { w.Unwatch(ctx) })
		}
		for _, tx := range s.txns {
			if tx != nil {
				wg.Go(func() { tx.live.Abort(ctx) })
			}
		}
		wg.Wait()
		clients[0].Rm(ctx, s.root)
	}()
	steps := rapid.IntRange(1, 30).Draw(t, "steps")
	for range steps {
		s.step()
	}
	s.store()
	stats.seqs.Add(1)
}

// errFailNow stops a rapid check that failed, so that Live can return
// its figures (see noExit).
var errFailNow = errors.New("difftest: rapid check failed")

// noExit is the test as rapid sees it: FailNow panics with errFailNow
// instead of ending the test's goroutine.
type noExit struct{ testing.TB }

func (n noExit) FailNow() { panic(errFailNow) }
func (n noExit) Fatalf(format string, args ...any) {
	n.TB.Helper()
	n.TB.Errorf(format, args...)
	n.FailNow()
}
func (n noExit) Fatal(args ...any) {
	n.TB.Helper()
	n.TB.Error(args...)
	n.FailNow()
}

// check runs one rapid check (100 sequences, or -rapid.checks) and
// reports whether it found a divergence. t may be failed by another
// runner meanwhile: that one's failure is not this one's.
func (r *runner) check(t testing.TB) (failed bool) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil && p != errFailNow {
			panic(p)
		}
		failed = r.failing.Load()
	}()
	rapid.Check(noExit{t}, func(rt *rapid.T) {
		defer func() {
			if p := recover(); p != nil {
				r.failing.Store(true) // a failure of the sequence (rapid's Fatalf panics too)
				panic(p)
			}
		}()
		r.run(rt)
	})
	return r.failing.Load()
}

// GroupSize is the number of clients one sequence uses.
const GroupSize = 3

// Live runs random sequences of requests against the daemon that every
// client in clients is connected to (all with dom0's privileges), for
// about budget, and holds the daemon to the model: the values, listings
// and errors of every request, the watch events after each, the outcome
// of every commit, and the whole store after each sequence. daemon
// (Oxenstored or CXenstored) chooses the transaction rule the reference
// follows: oxenstored's replay (the model's oxenstored rule, with
// oxenstored's own as observed on top, see refTxn), or the model's C
// xenstored rule (model.CXenstored) itself.
//
// The clients are split into groups of GroupSize (at least one group of
// two): each group runs its own sequences, side by side with the
// others, which pays off where each request waits long for its answer
// (a daemon in a VM). Every sequence works below a fresh node
// (/difftest-<daemon>-<run>-<group>-<n>) and removes it at the end.
//
// A divergence that no known difference explains fails t, after rapid
// has shrunk it, and ends the run; the figures, returned either way,
// count it in Unexplained.
func Live(t testing.TB, clients []*realxs.Client, daemon string, budget time.Duration) Stats {
	t.Helper()
	start := time.Now()
	if daemon != Oxenstored && daemon != CXenstored {
		t.Fatalf("difftest: unknown daemon %q (want %q or %q)", daemon, Oxenstored, CXenstored)
	}
	if len(clients) < 2 {
		t.Fatalf("difftest: %d clients; want 2 at least", len(clients))
	}
	groups := [][]*realxs.Client{clients}
	if len(clients) >= 2*GroupSize {
		groups = nil
		for i := 0; i+GroupSize <= len(clients); i += GroupSize {
			groups = append(groups, clients[i:i+GroupSize])
		}
	}
	stats, stop := &counters{}, &atomic.Bool{}
	run := time.Now().UnixNano() % 1e9
	var unexplained atomic.Int64
	var wg sync.WaitGroup
	for g, cs := range groups {
		r := &runner{u: newUniverse(t, daemon, len(cs)), clients: cs, stats: stats, stop: stop,
			prefix: fmt.Sprintf("/difftest-%s-%d-%d-", daemon, run, g), deadline: start.Add(budget)}
		wg.Go(func() {
			for time.Now().Before(r.deadline) && !stop.Load() {
				if r.check(t) {
					unexplained.Add(1)
					stop.Store(true)
				}
			}
		})
	}
	wg.Wait()
	st := stats.stats(daemon, time.Since(start))
	st.Unexplained = int(unexplained.Load())
	t.Logf("difftest %s (%d groups of %d clients)", st, len(groups), len(groups[0]))
	return st
}
