package props

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/model"
)

// TestCatalogue: every property has a unique name and a doc, and each
// safety property carries what partial-order reduction and the SPIN
// export need: its reads and (for a step invariant) its translation.
// Listed and Names give the same names, Names sorted.
func TestCatalogue(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range catalogue {
		if d.Name == "" || seen[d.Name] {
			t.Errorf("property %q: empty or listed twice", d.Name)
		}
		seen[d.Name] = true
		if d.Doc == "" || (d.make == nil) == (d.step == nil) {
			t.Errorf("%s has no doc, or not one predicate", d.Name)
		}
		if (d.Kind == checker.StepInvariant) != (d.step != nil) {
			t.Errorf("%s (%s): a step invariant, and only one, has a step predicate", d.Name, d.Kind)
		}
		if d.Kind != checker.Eventually && d.reads == nil {
			t.Errorf("%s (%s) declares no reads: partial-order reduction cannot trust it", d.Name, d.Kind)
		}
		if d.Kind == checker.StepInvariant && d.promela == nil {
			t.Errorf("%s has no SPIN translation", d.Name)
		}
	}
	if len(Defs) != len(catalogue) {
		t.Errorf("Defs has %d properties, the catalogue %d", len(Defs), len(catalogue))
	}
	sorted := slices.Sorted(slices.Values(Listed()))
	if diff := cmp.Diff(sorted, Names()); diff != "" {
		t.Errorf("Names is not Listed sorted (-want +got):\n%s", diff)
	}
}

func TestBuildUnknown(t *testing.T) {
	b := model.NewBuilder("empty")
	a := b.Actor("a", model.Toolstack, -1, true)
	a.Final("idle", "")
	sys, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Build(sys, []string{"no-such-property"}); err == nil {
		t.Error("an unknown property was accepted")
	}
	ps, err := Build(sys, Names())
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != len(Names()) {
		t.Errorf("built %d properties; want %d", len(ps), len(Names()))
	}
}
