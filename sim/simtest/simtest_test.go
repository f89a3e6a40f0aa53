package simtest_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/scenario"
	"github.com/xbcheck/xbcheck/sim"
	"github.com/xbcheck/xbcheck/sim/simtest"
	"github.com/xbcheck/xbcheck/trace"
)

func scenarioFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../scenarios/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	return files
}

// TestScenarios runs every scenario in scenarios/ under rapid-drawn
// schedules. A scenario that expects ok must pass rapid's checks. For one
// that expects a violation, rapid must find it within its default number
// of checks, and for a safety property the shrunk schedule must be no
// longer than the checker's shortest counterexample plus two steps.
func TestScenarios(t *testing.T) {
	for _, file := range scenarioFiles(t) {
		c, err := scenario.Load(file)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(c.Spec.Name, func(t *testing.T) {
			if c.Spec.Check.Expect == "ok" {
				simtest.Check(t, file, simtest.Options{})
				return
			}
			want := c.Spec.Check.Violates
			res := checker.Check(c.System, c.Properties, checker.Options{})
			var shortest *checker.Counterexample
			for i := range res.Violations {
				if res.Violations[i].Property == want {
					shortest = &res.Violations[i]
				}
			}
			if shortest == nil {
				t.Fatalf("the checker finds no violation of %s", want)
			}
			// The same draws in every run (unless -rapid.seed gives
			// others): with a new seed each run, rapid missed the
			// violation or shrank past the checker's shortest plus two
			// in 6 of 60 runs of this test (request-fail-vbd-remove-
			// closed-4.17, request-fail-vbd-destroy-4.17), which made
			// CI fail at random.
			defer pinRapidSeed(1)()
			f := simtest.Find(t, file, simtest.Options{})
			if f == nil && testing.Short() {
				t.Skipf("rapid found no violation of %s in -short mode (a fifth of its checks)", want)
			}
			if f == nil {
				t.Fatalf("rapid found no violation of %s", want)
			}
			v := f.Result.Violations[0]
			if v.Property != want {
				t.Errorf("rapid found %s; want %s\n%s", v.Property, want, f.Trace.Text())
			}
			got, best := len(f.Result.Path), len(shortest.Path)
			t.Logf("%s (%s): shrunk schedule %d steps, checker's shortest %d", want, v.Kind, got, best)
			safety := v.Kind == checker.Invariant || v.Kind == checker.StepInvariant
			if safety && got > best+2 {
				t.Errorf("shrunk schedule has %d steps; the checker's shortest has %d (allowed: %d)\n%s", got, best, best+2, f.Trace.Text())
			}
			if !strings.Contains(f.Report, "replay it with: go run github.com/xbcheck/xbcheck/cmd/xbsim replay ") {
				t.Errorf("the failure report lacks the replay command:\n%s", f.Report)
			}
		})
	}
}

// TestFailureReplays: the trace file a failure names replays with the
// simulator and ends in the same violation.
func TestFailureReplays(t *testing.T) {
	file := "../../scenarios/seed2-qemu-bodge-4.2.toml"
	dir := t.TempDir()
	f := simtest.Find(t, file, simtest.Options{TraceDir: dir})
	if f == nil {
		t.Fatal("no violation found")
	}
	m := regexp.MustCompile(`replay it with: go run \S+ replay (\S+)`).FindAllStringSubmatch(f.Report, -1)
	if len(m) == 0 {
		t.Fatalf("no replay command in the report:\n%s", f.Report)
	}
	path := m[len(m)-1][1]
	if !strings.HasPrefix(path, dir) {
		t.Errorf("trace written to %s, not under TraceDir %s", path, dir)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := trace.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	scen, err := sim.FindScenario(tr, path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := scenario.Load(scen)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := sim.New(c).Replay(tr)
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Agrees(tr); err != nil {
		t.Error(err)
	}
	if !strings.Contains(f.Report, tr.Text()) {
		t.Errorf("the report does not show the trace it wrote:\n%s", f.Report)
	}
}

// FuzzQemuBodgeFixed gives the property of an ok scenario to go test
// -fuzz: go test ./sim/simtest -fuzz FuzzQemuBodgeFixed.
func FuzzQemuBodgeFixed(f *testing.F) {
	f.Fuzz(simtest.Fuzz(f, "../../scenarios/seed2-generic-handshake-4.2.toml", simtest.Options{}))
}

// pinRapidSeed sets -rapid.seed to seed unless it was given, and returns
// what puts it back.
func pinRapidSeed(seed uint64) func() {
	f := flag.Lookup("rapid.seed")
	if f == nil || f.Value.String() != "0" {
		return func() {}
	}
	f.Value.Set(fmt.Sprint(seed))
	return func() { f.Value.Set("0") }
}
