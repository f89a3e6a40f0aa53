// Package simtest puts interleaving tests of scenarios into go test: rapid
// draws the scheduling choices of a simulation run, so that a failing run
// shrinks to a minimal schedule. A failure prints the trace, the command
// that replays it and the path of an HTML report that steps through it
// (written when the test ends, of the shrunk run); -rapid.checks, -rapid.seed and the other rapid
// flags work as usual, and Fuzz gives the same property to go test -fuzz.
//
//	func TestRemove(t *testing.T) {
//		simtest.Check(t, "scenarios/vbd-remove-4.17.toml", simtest.Options{})
//	}
//
//	func FuzzRemove(f *testing.F) {
//		f.Fuzz(simtest.Fuzz(f, "scenarios/vbd-remove-4.17.toml", simtest.Options{}))
//	}
package simtest

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"pgregory.net/rapid"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/report"
	"github.com/xbcheck/xbcheck/scenario"
	"github.com/xbcheck/xbcheck/sim"
	"github.com/xbcheck/xbcheck/trace"
)

// Options tune the runs.
type Options struct {
	// Steps bounds a run (default 200).
	Steps int
	// TraceDir is where a failing trace is written for replay (default
	// $TMPDIR/xbsim).
	TraceDir string

	_ struct{} // disallow positional literals, for extensibility
}

func (o Options) steps() int {
	if o.Steps <= 0 {
		return 200
	}
	return o.Steps
}

// Check fails t when rapid finds a schedule of the scenario at file that
// violates one of the scenario's properties. The failure shows the
// shrunk schedule as a trace and the xbsim command that replays it.
func Check(t *testing.T, file string, opts Options) {
	t.Helper()
	rapid.Check(t, property(t, file, opts, nil, true))
}

// Property returns the rapid property Check checks: one run of the
// scenario whose every choice between two or more enabled steps is a
// rapid draw (protocol steps first, then faults, so that shrinking
// prefers fewer faults). It fails tb at once if the scenario does not
// load.
func Property(tb testing.TB, file string, opts Options) func(*rapid.T) {
	tb.Helper()
	return property(tb, file, opts, nil, false)
}

// Fuzz returns Property as a fuzz target: f.Fuzz(simtest.Fuzz(f, file, opts)).
func Fuzz(tb testing.TB, file string, opts Options) func(*testing.T, []byte) {
	tb.Helper()
	return rapid.MakeFuzz(Property(tb, file, opts))
}

// A Failure is the shrunk failing run Find found.
type Failure struct {
	// Result is the run; Result.Path is its schedule.
	Result *sim.Result
	Trace  *trace.Trace
	// Report is what rapid would have printed.
	Report string
}

// Find runs rapid as Check does, with the usual flags, but returns the
// shrunk failing run instead of failing tb, or nil when rapid finds none:
// for tests that expect a violation. It sets -rapid.nofailfile while it
// runs, so it must not run in parallel with other rapid checks.
func Find(tb testing.TB, file string, opts Options) *Failure {
	tb.Helper()
	var last *Failure
	prop := property(tb, file, opts, func(r *sim.Result, tr *trace.Trace) {
		last = &Failure{Result: r.Clone(), Trace: tr}
	}, false)
	if f := flag.Lookup("rapid.nofailfile"); f != nil {
		old := f.Value.String()
		flag.Set("rapid.nofailfile", "true")
		defer flag.Set("rapid.nofailfile", old)
	}
	rec := &recorder{name: tb.Name() + "/" + strings.TrimSuffix(filepath.Base(file), ".toml")}
	rapid.Check(rec, prop)
	if !rec.failed {
		return nil
	}
	if last == nil {
		tb.Fatalf("simtest: rapid failed without a failing run:\n%s", rec.log.String())
	}
	last.Report = rec.log.String()
	return last
}

// property is Property; with html, a failure names an HTML report of
// the last failing run (rapid's shrunk one, which it reports), written
// when tb ends: rendering each failing run rapid tries while shrinking
// would cost a Graphviz run per diagram each time.
func property(tb testing.TB, file string, opts Options, onFail func(*sim.Result, *trace.Trace), html bool) func(*rapid.T) {
	tb.Helper()
	c, err := scenario.Load(file)
	if err != nil {
		tb.Fatalf("simtest: %v", err)
	}
	var lastTrace *trace.Trace
	var lastHTML string
	if html {
		tb.Cleanup(func() {
			if lastTrace == nil {
				return
			}
			run := &report.Run{Title: "simtest: " + tb.Name(), Command: "go test -run '^" + tb.Name() + "$'",
				Scenarios: []report.Scenario{report.Simulation(c, file, lastTrace)}}
			if err := report.Write(lastHTML, run, report.Options{}); err != nil {
				tb.Logf("simtest: the HTML report could not be written: %v", err)
			}
		})
	}
	s := sim.New(c)
	sched := &drawn{}
	var mu sync.Mutex // a Sim is not safe for concurrent use
	return func(t *rapid.T) {
		mu.Lock()
		defer mu.Unlock()
		sched.t = t
		r := s.Run(sched, 0, opts.steps())
		if !r.Failed() {
			return
		}
		r = s.Reduce(r)
		tr, err := s.Trace(r)
		if err != nil {
			t.Fatalf("simtest: %v", err)
		}
		if onFail != nil {
			onFail(r, tr)
		}
		v := r.Violations[0]
		var b strings.Builder
		fmt.Fprintf(&b, "%s: %s (%s) fails at step %d of this schedule:\n%s", s.Scenario, v.Property, v.Kind, v.Step, tr.Text())
		if path, err := writeTrace(opts.TraceDir, tb.Name(), tr); err == nil {
			fmt.Fprintf(&b, "replay it with: go run github.com/xbcheck/xbcheck/cmd/xbsim replay %s", path)
			if html {
				lastTrace, lastHTML = tr, strings.TrimSuffix(path, ".trace")+".html" // under mu
				fmt.Fprintf(&b, "\nstep through it in a browser: %s (written when the test ends)", lastHTML)
			}
		} else {
			fmt.Fprintf(&b, "(the trace could not be written for replay: %v)", err)
		}
		t.Fatal(b.String())
	}
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// writeTrace writes tr where xbsim replay can read it.
func writeTrace(dir, test string, tr *trace.Trace) (string, error) {
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "xbsim")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	name := unsafeName.ReplaceAllString(test, "_") + "." + tr.Scenario + "." + tr.Property + ".trace"
	p := filepath.Join(dir, name)
	return p, os.WriteFile(p, []byte(tr.Text()), 0o644)
}

// drawn is the scheduler whose choices rapid draws. Each run first draws
// its strategy:
//
//   - uniform (what shrinking goes back to): every choice between two or
//     more enabled steps is a draw, protocol steps first, then faults;
//   - slow last: the same, but a slow step (qemu's exit after SIGHUP, which
//     may outlast any timer) is taken only when no other protocol step is
//     enabled;
//   - priorities (PCT-like): rapid draws a priority per actor and two
//     priority-change points, and each step goes to the highest-priority
//     actor that can move (a draw among its steps when it has several; a
//     draw whether to inject a fault when one is enabled).
//
// Uniform choices find bugs that need many small interleavings; the other
// two find those that need one actor to stay behind for many steps, which
// uniform choices reach with probability 2^-k.
type drawn struct {
	t       *rapid.T
	sys     *model.System
	started bool
	mode    int // 0 uniform, 1 slow last, 2 priorities
	prio    []int
	change  [2]int
	order   []int
}

// pctSteps is the range of the PCT change points: about a run's length.
const pctSteps = 20

func (d *drawn) Name() string { return "rapid" }

func (d *drawn) Start(sys *model.System, _ uint64) { d.sys, d.started = sys, false }

func (d *drawn) Pick(e *sim.Enabled) int {
	if !d.started {
		d.started = true
		d.mode = rapid.IntRange(0, 2).Draw(d.t, "strategy (uniform, slow last, priorities)")
		if d.mode == 2 {
			n := len(d.sys.Actors)
			d.prio = d.prio[:0]
			for a := 0; a < n; a++ {
				d.prio = append(d.prio, rapid.IntRange(0, n-1).Draw(d.t, "priority of "+d.sys.Actors[a].Name))
			}
			for i := range d.change {
				d.change[i] = rapid.IntRange(1, pctSteps).Draw(d.t, "priority change")
			}
		}
	}
	if d.mode < 2 {
		d.order = d.order[:0]
		for _, i := range e.Plain() {
			if d.mode == 0 || !e.Transition(i).Slow {
				d.order = append(d.order, i)
			}
		}
		if len(d.order) == 0 {
			d.order = append(d.order, e.Plain()...)
		}
		d.order = append(d.order, e.Faults()...)
		return d.choose(e, "step")
	}
	if len(e.Faults()) > 0 {
		if len(e.Plain()) == 0 || rapid.IntRange(0, 3).Draw(d.t, fmt.Sprintf("step %d: fault?", e.Step)) == 3 {
			d.order = append(d.order[:0], e.Faults()...)
			return d.choose(e, "fault")
		}
	}
	a := e.Top(d.prio)
	for i, c := range d.change {
		if c == e.Step {
			d.prio[a] = -1 - i // below every drawn priority
			a = e.Top(d.prio)
		}
	}
	d.order = e.PlainOf(a, d.order[:0])
	return d.choose(e, "step")
}

// choose draws among d.order, when there is a choice.
func (d *drawn) choose(e *sim.Enabled, what string) int {
	if len(d.order) == 1 {
		return d.order[0]
	}
	return d.order[rapid.IntRange(0, len(d.order)-1).Draw(d.t, fmt.Sprintf("%s %d", what, e.Step))]
}

// recorder is the rapid.TB that Find hands to rapid: it keeps the report
// instead of failing the test.
type recorder struct {
	name   string
	failed bool
	log    strings.Builder
}

func (r *recorder) Helper()                         {}
func (r *recorder) Name() string                    { return r.name }
func (r *recorder) Logf(format string, args ...any) { fmt.Fprintf(&r.log, format+"\n", args...) }
func (r *recorder) Log(args ...any)                 { fmt.Fprintln(&r.log, args...) }
func (r *recorder) Skipf(format string, args ...any) {
	r.Logf(format, args...)
}
func (r *recorder) Skip(args ...any) { r.Log(args...) }
func (r *recorder) SkipNow()         {}
func (r *recorder) Errorf(format string, args ...any) {
	r.failed = true
	r.Logf(format, args...)
}
func (r *recorder) Error(args ...any) {
	r.failed = true
	r.Log(args...)
}
func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...) }
func (r *recorder) Fatal(args ...any)                 { r.Error(args...) }
func (r *recorder) FailNow()                          { r.failed = true }
func (r *recorder) Fail()                             { r.failed = true }
func (r *recorder) Failed() bool                      { return r.failed }
