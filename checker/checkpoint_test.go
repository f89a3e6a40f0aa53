package checker_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/xbcheck/xbcheck/bench"
	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/scenario"
)

// resumeCases are models for the resume tests: the family at N = 2 (with
// and without symmetry), with an invariant violated deep in wide levels,
// and with an eventually-property violated by a lasso (exact states and
// the graph); a scenario with an eventually-property; one whose
// counterexample is a step; and one under partial-order reduction.
func resumeCases(t *testing.T) []struct {
	name string
	c    *scenario.Compiled
	opt  checker.Options
} {
	t.Helper()
	type rc = struct {
		name string
		c    *scenario.Compiled
		opt  checker.Options
	}
	var out []rc
	family := allCases(t, 2)
	for _, tc := range family {
		switch tc.name {
		case "attach-detach-2":
			out = append(out, rc{tc.name, tc.c, checker.Options{}}, rc{tc.name + "-symmetry", tc.c, checker.Options{Symmetry: true}})
		case "attach-detach-2-all-connected":
			out = append(out, rc{tc.name, tc.c, checker.Options{Symmetry: true}})
		case "seed4-xend-vfb-first-liveness.toml", "seed1-backend-gone-4.10.toml":
			out = append(out, rc{tc.name, tc.c, checker.Options{}})
		case "two-disks-attach-detach-4.17.toml":
			out = append(out, rc{tc.name + "-por", tc.c, checker.Options{POR: tc.c.POR}})
		}
	}
	src := strings.Replace(bench.AttachDetachSource(2), `"deadlock"]`, `"deadlock", "devices-connected"]`, 1)
	sp, err := scenario.Parse("attach-detach-2-devices-connected.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	c, err := scenario.Build(sp)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, rc{"attach-detach-2-devices-connected", c, checker.Options{}})
	if len(out) != 7 {
		t.Fatalf("%d resume cases; want 7 (a scenario was renamed?)", len(out))
	}
	return out
}

// TestResumeGivesUninterruptedResult: a check stopped at several points
// and resumed from its checkpoint gives the uninterrupted check's
// verdict, counts and counterexamples. The stops: the state bound (at the
// end of a level), the context cancelled at a level boundary (Ctrl-C),
// the memory budget before a level is committed (the seen set put back as
// it was), and a chain of two stops before the end.
func TestResumeGivesUninterruptedResult(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range resumeCases(t) {
		opt := tc.opt
		opt.Identity, opt.Version = tc.name, "test"
		full := checker.Check(tc.c.System, tc.c.Properties, opt)
		want := outcomeOf(full)
		depth := full.Stats.Depth
		points := []int{1, depth / 3, 2 * depth / 3, depth - 1}
		file := filepath.Join(dir, tc.name+".xbckpt")
		for _, mode := range []string{"max-states", "cancel", "commit", "chain"} {
			for _, k := range points {
				os.Remove(file)
				first := opt
				first.Checkpoint = file
				ctx, cancel := context.WithCancel(context.Background())
				first.Context = ctx
				var restore func()
				switch mode {
				case "max-states":
					first.MaxStates = max(1, full.Stats.States*k/max(1, depth))
				case "cancel":
					restore = checker.SetTestHook(func(ev string, d int) bool {
						if ev == "level" && d == k {
							cancel()
						}
						return false
					})
				case "commit", "chain":
					restore = checker.SetTestHook(func(ev string, d int) bool { return ev == "commit" && d == k })
				}
				got := checker.Check(tc.c.System, tc.c.Properties, first)
				if restore != nil {
					restore()
				}
				cancel()
				if got.Checkpoint == nil && got.Err == nil {
					// It ended before the stop (every property failed).
					if diff := cmp.Diff(want, outcomeOf(got), cmpopts.EquateEmpty()); diff != "" {
						t.Errorf("%s, %s at %d: differs from the uninterrupted check (-want +got):\n%s", tc.name, mode, k, diff)
					}
					continue
				}
				if got.Err != nil || got.Stats.Complete {
					t.Fatalf("%s, %s at %d: %s (%s), complete %v, err %v; want a stop with a checkpoint", tc.name, mode, k, got.Verdict, got.Reason, got.Stats.Complete, got.Err)
				}
				next := opt
				next.Resume = file
				if mode == "chain" {
					// Stopped again further on, then resumed to the end.
					next.Checkpoint = file
					restore = checker.SetTestHook(func(ev string, d int) bool { return ev == "commit" && d == (k+depth)/2+1 })
					mid := checker.Check(tc.c.System, tc.c.Properties, next)
					restore()
					if mid.Err != nil {
						t.Fatalf("%s, chain at %d: %v", tc.name, k, mid.Err)
					}
					next.Checkpoint = ""
				}
				res := checker.Check(tc.c.System, tc.c.Properties, next)
				if res.Err != nil {
					t.Fatalf("%s, %s at %d: resume: %v", tc.name, mode, k, res.Err)
				}
				if res.Resumed == nil || res.Resumed.Depth != got.Checkpoint.Depth && mode != "chain" {
					t.Errorf("%s, %s at %d: Resumed = %+v; want the checkpoint at depth %d", tc.name, mode, k, res.Resumed, got.Checkpoint.Depth)
				}
				if diff := cmp.Diff(want, outcomeOf(res), cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("%s, %s at %d: resumed check differs from the uninterrupted one (-want +got):\n%s", tc.name, mode, k, diff)
				}
			}
		}
	}
}

// TestResumeRefusesOtherCheckpoints: a checkpoint of another identity,
// version, reduction, seed or property list, a damaged or cut one, and a
// file that is none are refused with one line saying which; the verdict
// is unknown and nothing is explored.
func TestResumeRefusesOtherCheckpoints(t *testing.T) {
	c, err := bench.AttachDetach(2)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "a.xbckpt")
	base := checker.Options{Identity: `scenario "a"`, Version: "v1", Symmetry: true}
	first := base
	first.Checkpoint, first.MaxStates = file, 1000
	if r := checker.Check(c.System, c.Properties, first); r.Checkpoint == nil {
		t.Fatalf("no checkpoint written: %s %v", r.Reason, r.Err)
	}
	good, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)/2] ^= 0x10
	fewer := c.Properties[:2]
	for _, tc := range []struct {
		name  string
		edit  func(o *checker.Options)
		props []checker.Property
		want  string
	}{
		{"identity", func(o *checker.Options) { o.Identity = `scenario "b"` }, nil, `a checkpoint of scenario "a", not of scenario "b"`},
		{"version", func(o *checker.Options) { o.Version = "v2" }, nil, "written by xbcheck v1, this is v2"},
		{"symmetry", func(o *checker.Options) { o.Symmetry = false }, nil, "symmetry reduction on, this check has it off"},
		{"exact", func(o *checker.Options) { o.Exact = true }, nil, "exact states off"},
		{"seed", func(o *checker.Options) { o.HashSeed = 7 }, nil, "hash seed 0, this check has 7"},
		{"properties", func(o *checker.Options) {}, fewer, "made for the properties"},
		{"damaged", func(o *checker.Options) { o.Resume = write("flipped.xbckpt", flipped) }, nil, "damaged or incomplete"},
		{"cut", func(o *checker.Options) { o.Resume = write("cut.xbckpt", good[:len(good)*2/3]) }, nil, "damaged or incomplete"},
		{"not one", func(o *checker.Options) { o.Resume = write("x.toml", []byte("name = \"x\"\n")) }, nil, "not an xbcheck checkpoint"},
		{"missing", func(o *checker.Options) { o.Resume = filepath.Join(dir, "none.xbckpt") }, nil, "no such file"},
	} {
		o := base
		o.Resume = file
		tc.edit(&o)
		props := c.Properties
		if tc.props != nil {
			props = tc.props
		}
		r := checker.Check(c.System, props, o)
		var ce *checker.CheckpointError
		if !errors.As(r.Err, &ce) {
			t.Errorf("%s: err %v; want a *CheckpointError", tc.name, r.Err)
			continue
		}
		if msg := r.Err.Error(); !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
			t.Errorf("%s: error %q; want one line with %q", tc.name, msg, tc.want)
		}
		if r.Verdict != checker.Unknown || r.Stats.States != 0 {
			t.Errorf("%s: verdict %s after %d states; want unknown, nothing explored", tc.name, r.Verdict, r.Stats.States)
		}
	}
	// The good one still resumes.
	o := base
	o.Resume = file
	if r := checker.Check(c.System, c.Properties, o); r.Err != nil || r.Verdict != checker.Ok {
		t.Errorf("good checkpoint: %s, %v; want ok", r.Verdict, r.Err)
	}
}

// TestBudgetStopResumes: a check stopped by a real memory budget (while a
// level expands or before it is committed) leaves a checkpoint from which
// an unbounded check ends as the uninterrupted one.
func TestBudgetStopResumes(t *testing.T) {
	// Unreduced, and with partial-order reduction (whose edges out of
	// reduced states and their cycle check count in the budget): searches
	// whose memory grows well past what they need at their start, so that
	// the budgets in between are not a band narrower than the process's
	// own variations from run to run (the family at N = 2 on two workers:
	// 1.6 to 2.1 MB, against 1.20 to 1.25 on one; with the reduction at
	// N = 3 on one).
	for _, tc := range []struct {
		n, workers int
		por        bool
	}{{2, 2, false}, {3, 1, true}} {
		c, err := bench.AttachDetach(tc.n)
		if err != nil {
			t.Fatal(err)
		}
		opt := checker.Options{Identity: "family", Version: "test", Workers: tc.workers}
		if tc.por {
			opt.POR = c.POR
		}
		budgetStopResumes(t, c, opt)
	}
}

func budgetStopResumes(t *testing.T, c *scenario.Compiled, opt checker.Options) {
	t.Helper()
	want := outcomeOf(checker.Check(c.System, c.Properties, opt))
	file := filepath.Join(t.TempDir(), "b.xbckpt")
	// A budget that stops the search after its first level and before its
	// end: doubled from one that stops it at once until it does not stop
	// at the start, then, if that budget let the search finish, bisected
	// between the two. (A fixed ladder of budgets depended on how much the
	// process held beside the search, which varies from run to run.)
	var got checker.Result
	try := func(search int64) checker.Result {
		os.Remove(file)
		first := opt
		first.Checkpoint = file
		first.MemoryBudget = checker.BudgetFor(search)
		return checker.Check(c.System, c.Properties, first)
	}
	atStart := func(r checker.Result) bool { return r.Verdict == checker.Unknown && r.Stats.Depth == 0 }
	lo, hi := int64(16<<10), int64(0)
	for search := lo; search <= 64<<20; search *= 2 {
		got = try(search)
		if !atStart(got) {
			hi = search
			break
		}
		lo = search
	}
	for i := 0; i < 24 && hi > 0 && got.Verdict != checker.Unknown && hi-lo > 1; i++ {
		mid := lo + (hi-lo)/2
		r := try(mid)
		switch {
		case atStart(r):
			lo = mid
		case r.Verdict != checker.Unknown:
			hi = mid
		default:
			got = r
		}
	}
	if got.Verdict != checker.Unknown || !strings.HasPrefix(got.Reason, "memory budget reached") || got.Checkpoint == nil {
		t.Fatalf("verdict %s (%s) at depth %d, checkpoint %v; want unknown for the budget, with a checkpoint", got.Verdict, got.Reason, got.Stats.Depth, got.Checkpoint)
	}
	next := opt
	next.Resume = file
	res := checker.Check(c.System, c.Properties, next)
	if diff := cmp.Diff(want, outcomeOf(res), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("resumed after the budget stop (%s): differs (-want +got):\n%s", got.Reason, diff)
	}
}
