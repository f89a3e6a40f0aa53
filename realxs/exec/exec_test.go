package exec_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/realxs/exec"
	"github.com/xbcheck/xbcheck/realxs/xstest"
	"github.com/xbcheck/xbcheck/scenario"
)

// A counterexample of a seed scenario.
type seedCase struct {
	name string
	sys  *model.System
	ids  []int32
}

var seedCache []seedCase

// seedCounterexamples checks every seed scenario that expects a violation
// and returns the counterexample of each violated property.
func seedCounterexamples(t testing.TB) []seedCase {
	t.Helper()
	if seedCache != nil {
		return seedCache
	}
	files, err := filepath.Glob("../../scenarios/seed*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed scenarios: %v", err)
	}
	for _, f := range files {
		c, err := scenario.Load(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if c.Spec.Check.Expect != "violation" {
			continue
		}
		res := checker.Check(c.System, c.Properties, checker.Options{MaxStates: 2_000_000})
		for _, v := range res.Violations {
			seedCache = append(seedCache, seedCase{
				name: strings.TrimSuffix(filepath.Base(f), ".toml") + "/" + v.Property,
				sys:  c.System, ids: v.Path,
			})
		}
	}
	if len(seedCache) == 0 {
		t.Fatal("no counterexamples in the seed scenarios")
	}
	return seedCache
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Against the in-memory store with the model's semantics, every seed
// counterexample replays without a divergence: the executor's mapping of
// operations is right where the store cannot disagree.
func TestReplaySeedsModelStore(t *testing.T) {
	for _, c := range seedCounterexamples(t) {
		t.Run(c.name, func(t *testing.T) {
			ms := exec.NewModelStore()
			rep, err := exec.Replay(testCtx(t), ms, "/run", c.sys, c.ids)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Divergence != nil {
				t.Fatal(rep.Divergence)
			}
			if len(rep.Steps) != len(c.ids) {
				t.Errorf("%d steps done; want %d", len(rep.Steps), len(c.ids))
			}
			if kids, _ := ms.Directory(testCtx(t), "/"); len(kids) != 0 {
				t.Errorf("the run left %v behind", kids)
			}
		})
	}
}

// Reference: the "Done when": every counterexample of the seed
// scenarios replays against the live daemon with no divergence, or with a
// known one (counted in the report).
func TestReplaySeedsLive(t *testing.T) {
	d := xstest.Start(t, xstest.Options{})
	c := d.Dial(t)
	known := map[exec.Known]int{}
	for i, sc := range seedCounterexamples(t) {
		t.Run(sc.name, func(t *testing.T) {
			root := "/xbcheck-" + strings.ReplaceAll(strings.ReplaceAll(sc.name, "/", "-"), ".", "_")
			_ = i
			rep, err := exec.Replay(testCtx(t), exec.Live(c), root, sc.sys, sc.ids)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Divergence != nil {
				t.Fatalf("%v\ntrace:\n%s", rep.Divergence, rep.Trace.Text())
			}
			for k, n := range rep.Known {
				known[k] += n
			}
			if _, err := c.Read(testCtx(t), root); err == nil {
				t.Errorf("the run left %s behind", root)
			}
		})
	}
	t.Logf("known differences met: %v", known)
}
