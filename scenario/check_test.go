package scenario_test

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/scenario"
	"github.com/xbcheck/xbcheck/trace"
)

var update = flag.Bool("update", false, "rewrite the golden counterexamples in testdata/counterexamples")

type outcome struct {
	spec     *scenario.Spec
	res      checker.Result
	violated []string
	traces   map[string]*trace.Trace
}

func checkAll(t *testing.T) map[string]outcome {
	t.Helper()
	files, err := filepath.Glob("../scenarios/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios in ../scenarios (%v)", err)
	}
	out := map[string]outcome{}
	for _, f := range files {
		c, err := scenario.Load(f)
		if err != nil {
			t.Fatalf("%v", err)
		}
		res := checker.Check(c.System, c.Properties, checker.Options{MaxStates: 5_000_000})
		o := outcome{spec: c.Spec, res: res, traces: map[string]*trace.Trace{}}
		for _, v := range res.Violations {
			o.violated = append(o.violated, v.Property)
			tr, err := trace.FromPath(c.System, c.Spec.Name, v.Property, v.Path, v.Loop)
			if err != nil {
				t.Errorf("%s: the counterexample of %s does not replay: %v", f, v.Property, err)
				continue
			}
			o.traces[v.Property] = tr
		}
		out[filepath.Base(f)] = o
	}
	return out
}

// TestScenarioVerdicts checks every scenario file and compares the verdict
// with the one the file expects: ok after exhaustive exploration, or a
// violation of exactly the named property.
func TestScenarioVerdicts(t *testing.T) {
	for file, o := range checkAll(t) {
		want := []string(nil)
		if o.spec.Check.Expect == "violation" {
			want = []string{o.spec.Check.Violates}
		}
		if diff := cmp.Diff(want, o.violated); diff != "" {
			t.Errorf("%s: violated properties mismatch (-want +got):\n%s", file, diff)
		}
		if o.spec.Check.Expect == "ok" && !o.res.Stats.Complete {
			t.Errorf("%s: ok without exhaustive exploration (%s)", file, o.res.Reason)
		}
	}
}

// TestEveryPropertyHasBothVerdicts: every property is violated by some
// scenario and satisfied by another, so a checker that never (or always)
// fails cannot pass.
func TestEveryPropertyHasBothVerdicts(t *testing.T) {
	all := checkAll(t)
	for _, p := range scenario.PropertyNames {
		var violating, satisfying []string
		for file, o := range all {
			if !slices.Contains(o.spec.Check.Properties, p) {
				continue
			}
			if slices.Contains(o.violated, p) {
				violating = append(violating, file)
			} else if o.res.Stats.Complete {
				satisfying = append(satisfying, file)
			}
		}
		if len(violating) == 0 {
			t.Errorf("property %s: no scenario violates it", p)
		}
		if len(satisfying) == 0 {
			t.Errorf("property %s: no scenario satisfies it", p)
		}
	}
}

// TestSeedCounterexamples pins the shortest counterexample of every
// violating scenario as text (testdata/counterexamples/*.trace). A model
// change that alters one fails here; run `go test ./scenario -run
// TestSeedCounterexamples -update` and read the diff before committing it.
func TestSeedCounterexamples(t *testing.T) {
	dir := filepath.Join("testdata", "counterexamples")
	if *update {
		os.RemoveAll(dir)
		os.MkdirAll(dir, 0o755)
	}
	for file, o := range checkAll(t) {
		for p, tr := range o.traces {
			name := filepath.Join(dir, strings.TrimSuffix(file, ".toml")+"."+p+".trace")
			got := tr.Text()
			if *update {
				if err := os.WriteFile(name, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(name)
			if err != nil {
				t.Errorf("%s: no golden counterexample (run with -update): %v", file, err)
				continue
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s: counterexample of %s changed (-golden +now):\n%s", file, p, diff)
			}
		}
	}
}

// TestSeedTraceShapes checks the counterexamples of the four seed bugs
// against the shortest bad traces of xenbus-protocol.md section 9: the
// sequence of actors' steps, by transition name.
func TestSeedTraceShapes(t *testing.T) {
	all := checkAll(t)
	for _, tc := range []struct {
		file, property string
		want           []string
	}{
		{ // Seed 1: TxnStart, Read ⊥, Write online, Commit, initial watch event → Read ⊥ (ERROR_INVAL), Destroy, Complete.
			"seed1-backend-gone-4.10.toml", "result-reflects-state",
			[]string{"initiate", "backend state missing", "commit", "state removed", "destroy", "NUKE BACKEND", "commit"},
		},
		{ // Seed 2 (c): pause, SIGHUP, initiate (arm 2 s), timer fires, Write(BE/state, 6).
			"seed2-qemu-bodge-4.2.toml", "no-premature-teardown",
			[]string{"pause domain", "SIGHUP qemu", "start removals", "qemu backend, domain not running", "timeout (2 s)", "SET B.E. STATE:=6"},
		},
		{ // Seed 3: Read(num_devs) = ⊥, wait_for_backend on a missing state.
			"seed3-pci-attach-4.16.toml", "wait-only-on-existing-backend",
			[]string{"num_devs missing", "wait_for_backend"},
		},
		{ // Seed 4: create(vfb), commit + spawn, F reads vfb = 1, vkbd = ⊥, writes 5 to both.
			"seed4-xend-vfb-first.toml", "backend-created-by-toolstack",
			[]string{"write entries", "commit", "vfb Initialising", "vkbd Unknown", "write vfb state 5", "write vkbd state 5"},
		},
	} {
		o, ok := all[tc.file]
		if !ok || o.traces[tc.property] == nil {
			t.Errorf("%s: no counterexample of %s", tc.file, tc.property)
			continue
		}
		var got []string
		for _, s := range o.traces[tc.property].Steps {
			got = append(got, s.Transition)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: trace shape mismatch (-want +got):\n%s", tc.file, diff)
		}
	}
}

func checkStates(c *scenario.Compiled) int {
	return checker.Check(c.System, c.Properties, checker.Options{}).Stats.States
}
