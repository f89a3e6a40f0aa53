package props

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/xbcheck/xbcheck/model"
)

// The scenario package validates property names against its own list;
// it must be this catalogue. (scenario imports props, so the list is
// compared here through a copy kept in sync by this test.)
func TestCatalogueNames(t *testing.T) {
	want := []string{
		"already-connected-only-if-created", "backend-created-by-toolstack", "backend-written-by-trusted", "deadlock",
		"devices-connected", "guest-cannot-write-readonly", "guest-changes-own-nodes-only",
		"hotplug-connected", "no-premature-teardown", "no-resurrection",
		"operations-complete", "operations-succeed", "reconfigure-only-when-connected",
		"result-reflects-state", "wait-only-on-existing-backend",
	}
	if diff := cmp.Diff(want, Names()); diff != "" {
		t.Errorf("catalogue mismatch (-want +got):\n%s", diff)
	}
	for _, n := range Names() {
		if Defs[n].Doc == "" {
			t.Errorf("%s has no doc", n)
		}
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
