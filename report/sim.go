package report

import (
	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/scenario"
	"github.com/xbcheck/xbcheck/trace"
)

// Simulation is the report entry of runs of the compiled scenario c (by
// xbsim or sim/simtest), read from file: its verdict is "violation" when
// a trace records one and "ok" otherwise, with no expectation to match,
// since a simulation proves nothing.
func Simulation(c *scenario.Compiled, file string, traces ...*trace.Trace) Scenario {
	sc := Scenario{Name: c.Spec.Name, File: file, Description: c.Spec.Description, Verdict: checker.Ok, System: c.System}
	for _, tr := range traces {
		t := Trace{Trace: tr}
		for _, p := range c.Properties {
			if p.Name == tr.Property {
				t.Kind = p.Kind
			}
		}
		if tr.Property != "" {
			sc.Verdict = checker.Violation
			sc.Violated = append(sc.Violated, tr.Property)
		}
		sc.Traces = append(sc.Traces, t)
	}
	return sc
}
