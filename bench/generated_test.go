package bench

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xbcheck/xbcheck/bench/family"
	"github.com/xbcheck/xbcheck/checker"
)

// TestGeneratedUpToDate: the generated guards in the package are what the
// model generates now (go generate ./bench writes them again).
func TestGeneratedUpToDate(t *testing.T) {
	for n := 1; n <= MaxGenerated; n++ {
		want, err := family.Generate(n)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(family.GeneratedFile(n))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale (-file +generated):\n%s\nrun go generate ./bench", family.GeneratedFile(n), cmp.Diff(string(got), string(want)))
		}
	}
}

// TestGeneratedCounts: the checker finds the same states and transitions
// and the same verdict with the generated guards as with the tables.
func TestGeneratedCounts(t *testing.T) {
	for n := 1; n <= MaxGenerated; n++ {
		tables, _ := AttachDetach(n)
		gen, err := AttachDetachGenerated(n)
		if err != nil {
			t.Fatal(err)
		}
		want := checker.Check(tables.System, tables.Properties, checker.Options{})
		got := checker.Check(gen.System, gen.Properties, checker.Options{})
		if got.Verdict != want.Verdict || got.Stats.States != want.Stats.States || got.Stats.Transitions != want.Stats.Transitions {
			t.Errorf("N=%d: generated %s, %d states, %d transitions; tables %s, %d, %d", n,
				got.Verdict, got.Stats.States, got.Stats.Transitions, want.Verdict, want.Stats.States, want.Stats.Transitions)
		}
	}
}

// TestGeneratedRefusesOtherSystems: guards generated for one N are not
// taken for another, whose offsets and transitions differ.
func TestGeneratedRefusesOtherSystems(t *testing.T) {
	c, err := AttachDetach(3)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.System.WithGenerated(generated[2])
	if err == nil || !strings.Contains(err.Error(), "generate them again") {
		t.Errorf("N=3 with N=2's guards: err = %v, want one that says to generate them again", err)
	}
	if _, err := AttachDetachGenerated(MaxGenerated + 1); err == nil {
		t.Errorf("N=%d: no error, though no guards are generated for it", MaxGenerated+1)
	}
}
