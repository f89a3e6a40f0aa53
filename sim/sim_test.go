package sim_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/scenario"
	"github.com/xbcheck/xbcheck/sim"
	"github.com/xbcheck/xbcheck/trace"
)

// scenarios loads every scenario in scenarios/.
func scenarios(t testing.TB) []*scenario.Compiled {
	t.Helper()
	files, err := filepath.Glob("../scenarios/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	var out []*scenario.Compiled
	for _, f := range files {
		c, err := scenario.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

func load(t testing.TB, name string) *scenario.Compiled {
	t.Helper()
	c, err := scenario.Load(filepath.Join("..", "scenarios", name+".toml"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustScheduler(t testing.TB, c sim.Config) sim.Scheduler {
	t.Helper()
	s, err := c.New()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSameSeedSameRun: a run is a function of its seed, for every
// scheduler; different seeds give different runs somewhere.
func TestSameSeedSameRun(t *testing.T) {
	c := load(t, "seed3-concurrent-attach-4.17")
	for _, name := range sim.Schedulers {
		s := sim.New(c)
		sched := mustScheduler(t, sim.Config{Scheduler: name, FaultProb: 0.1})
		distinct := map[string]bool{}
		for seed := uint64(0); seed < 50; seed++ {
			a := s.Run(sched, seed, 1000).Clone()
			b := sim.New(c).Run(mustScheduler(t, sim.Config{Scheduler: name, FaultProb: 0.1}), seed, 1000)
			if diff := cmp.Diff(a, b, cmp.AllowUnexported(sim.Result{})); diff != "" {
				t.Fatalf("%s seed %d: two runs differ (-first +second):\n%s", name, seed, diff)
			}
			distinct[fmt.Sprint(a.Path)] = true
		}
		if len(distinct) < 2 {
			t.Errorf("%s: 50 seeds gave one run", name)
		}
	}
}

// violating returns the scenarios that expect a violation, with the
// checker's shortest counterexample of the expected property.
func violating(t testing.TB) map[*scenario.Compiled]checker.Counterexample {
	out := map[*scenario.Compiled]checker.Counterexample{}
	for _, c := range scenarios(t) {
		if c.Spec.Check.Expect != "violation" {
			continue
		}
		res := checker.Check(c.System, c.Properties, checker.Options{})
		found := false
		for _, v := range res.Violations {
			if v.Property == c.Spec.Check.Violates {
				out[c] = v
				found = true
			}
		}
		if !found {
			t.Fatalf("%s: the checker finds no violation of %s", c.Spec.Name, c.Spec.Check.Violates)
		}
	}
	return out
}

// TestReplayCheckerCounterexamples: every checker counterexample, in
// both forms, parses back and replays to the same violation.
func TestReplayCheckerCounterexamples(t *testing.T) {
	for c, v := range violating(t) {
		tr, err := trace.FromPath(c.System, c.Spec.Name, v.Property, v.Path, v.Loop)
		if err != nil {
			t.Fatal(err)
		}
		js, _ := tr.JSON()
		for form, data := range map[string][]byte{"text": []byte(tr.Text()), "json": js} {
			back, err := trace.Parse(data)
			if err != nil {
				t.Fatalf("%s %s: %v", c.Spec.Name, form, err)
			}
			rep, err := sim.New(c).Replay(back)
			if err != nil {
				t.Errorf("%s %s: %v", c.Spec.Name, form, err)
				continue
			}
			if err := rep.Agrees(back); err != nil {
				t.Errorf("%s %s: %v", c.Spec.Name, form, err)
			}
		}
	}
}

// TestReplayRejectsImpossibleStep: edited traces are refused at the
// edited step, with the diff.
func TestReplayRejectsImpossibleStep(t *testing.T) {
	c := load(t, "seed1-backend-gone-4.10")
	res := checker.Check(c.System, c.Properties, checker.Options{})
	tr, err := trace.FromPath(c.System, c.Spec.Name, res.Violations[0].Property, res.Violations[0].Path, -1)
	if err != nil {
		t.Fatal(err)
	}
	text := tr.Text()
	for _, tc := range []struct {
		name, old, new string
		step           int
		msg, diff      string
	}{
		{"wrong value", `= /local/domain/1/backend/vif/2/0/online = "0"`, `= /local/domain/1/backend/vif/2/0/online = "1"`, 3,
			"does not lead to the recorded state", `"1"`},
		{"wrong location", `"commit" commit -> wait-closed`, `"commit" commit -> done`, 3,
			"does not lead to the recorded state", "wait-closed"},
		{"step not enabled", `step 4 libxl-remove(vif0) "state removed" wait-closed -> hotplug-done`,
			`step 4 libxl-remove(vif0) "initiate" wait-closed -> hotplug-done`, 4, `"initiate" is not enabled`, "Transition"},
		{"no such actor", `step 1 libxl-remove(vif0)`, `step 1 libxl-remove(vif9)`, 1, `no actor "libxl-remove(vif9)"`, ""},
	} {
		if !strings.Contains(text, tc.old) {
			t.Fatalf("%s: the trace lacks %q:\n%s", tc.name, tc.old, text)
		}
		edited, err := trace.Parse([]byte(strings.Replace(text, tc.old, tc.new, 1)))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		_, err = sim.New(c).Replay(edited)
		d, ok := err.(*sim.Divergence)
		if !ok {
			t.Errorf("%s: err = %v; want a divergence", tc.name, err)
			continue
		}
		if d.Step != tc.step || !strings.Contains(d.Msg, tc.msg) || !strings.Contains(d.Diff, tc.diff) {
			t.Errorf("%s: got %v; want step %d, %q, a diff with %q", tc.name, err, tc.step, tc.msg, tc.diff)
		}
		if !strings.HasPrefix(err.Error(), "step ") {
			t.Errorf("%s: error %q does not start with the step", tc.name, err)
		}
	}
}
