package scenario_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/xbcheck/xbcheck/props"
	"github.com/xbcheck/xbcheck/scenario"
)

// TestPropertyNamesMatchCatalogue: every name a scenario may use is a
// property the checker knows, and the other way round.
func TestPropertyNamesMatchCatalogue(t *testing.T) {
	got := slices.Clone(scenario.PropertyNames)
	slices.Sort(got)
	if diff := cmp.Diff(props.Names(), got); diff != "" {
		t.Errorf("scenario.PropertyNames vs props (-props +scenario):\n%s", diff)
	}
}
