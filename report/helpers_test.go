package report

import (
	"testing"

	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/scenario"
	"github.com/xbcheck/xbcheck/trace"
)

const scenarioDir = "../scenarios/"

// checked checks the scenario files (names in scenarios/, without .toml)
// as xbcheck does and returns the run to report.
func checked(t testing.TB, names ...string) *Run {
	t.Helper()
	run := &Run{Title: "test report", Command: "xbcheck (test)"}
	for _, n := range names {
		file := scenarioDir + n + ".toml"
		c, err := scenario.Load(file)
		if err != nil {
			t.Fatal(err)
		}
		res := checker.Check(c.System, c.Properties, checker.Options{Workers: 1})
		st := res.Stats
		sc := Scenario{Name: c.Spec.Name, File: "scenarios/" + n + ".toml", Description: c.Spec.Description, Verdict: res.Verdict,
			Expect: c.Spec.Check.Expect, Stats: &st, System: c.System, Reason: res.Reason}
		for _, v := range res.Violations {
			tr, err := trace.FromPath(c.System, c.Spec.Name, v.Property, v.Path, v.Loop)
			if err != nil {
				t.Fatal(err)
			}
			sc.Violated = append(sc.Violated, v.Property)
			sc.Traces = append(sc.Traces, Trace{Trace: tr, Kind: v.Kind})
		}
		switch c.Spec.Check.Expect {
		case "ok":
			sc.Match = res.Verdict == checker.Ok
		case "violation":
			sc.Expect = "violation(" + c.Spec.Check.Violates + ")"
			sc.Match = len(sc.Violated) == 1 && sc.Violated[0] == c.Spec.Check.Violates
		}
		run.Scenarios = append(run.Scenarios, sc)
	}
	return run
}
