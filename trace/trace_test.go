package trace_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/scenario"
	"github.com/xbcheck/xbcheck/trace"
)

func counterexample(t *testing.T, file string) (*scenario.Compiled, checker.Counterexample) {
	t.Helper()
	c, err := scenario.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	res := checker.Check(c.System, c.Properties, checker.Options{})
	if len(res.Violations) == 0 {
		t.Fatalf("%s: no violation", file)
	}
	return c, res.Violations[0]
}

func TestJSONRoundTrip(t *testing.T) {
	c, v := counterexample(t, "../scenarios/seed1-backend-gone-4.10.toml")
	tr, err := trace.FromPath(c.System, c.Spec.Name, v.Property, v.Path, v.Loop)
	if err != nil {
		t.Fatal(err)
	}
	js, err := tr.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back trace.Trace
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(*tr, back); diff != "" {
		t.Errorf("JSON round trip mismatch (-want +got):\n%s", diff)
	}
}

// TestFromPathRejectsDisabledStep: a path whose step is not enabled is
// refused with the step's number.
func TestFromPathRejectsDisabledStep(t *testing.T) {
	c, v := counterexample(t, "../scenarios/seed1-backend-gone-4.10.toml")
	bad := append([]int32{}, v.Path...)
	bad[1], bad[2] = bad[2], bad[1] // commit before the transaction body
	_, err := trace.FromPath(c.System, c.Spec.Name, v.Property, bad, -1)
	if err == nil || !strings.HasPrefix(err.Error(), "step 2:") {
		t.Errorf("err = %v; want a step 2 error", err)
	}
	if _, err := trace.FromPath(c.System, c.Spec.Name, v.Property, []int32{99999}, -1); err == nil {
		t.Errorf("an unknown transition id was accepted")
	}
}

func TestLassoText(t *testing.T) {
	c, v := counterexample(t, "../scenarios/seed4-xend-vfb-first-liveness.toml")
	tr, err := trace.FromPath(c.System, c.Spec.Name, v.Property, v.Path, v.Loop)
	if err != nil {
		t.Fatal(err)
	}
	text := tr.Text()
	if v.Loop == len(v.Path) && !strings.Contains(text, "end: no transition but faults is enabled") {
		t.Errorf("a dead-end lasso does not say so:\n%s", text)
	}
	if v.Loop < len(v.Path) && !strings.Contains(text, "cycle:") {
		t.Errorf("a cyclic lasso does not mark its cycle:\n%s", text)
	}
}
