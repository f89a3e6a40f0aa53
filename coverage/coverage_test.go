package coverage

import (
	"context"
	"testing"

	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/scenario"
)

func load(t *testing.T, name string) *scenario.Compiled {
	t.Helper()
	c, err := scenario.Load("../scenarios/" + name + ".toml")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func libxl417(a *model.Actor) string {
	if a.Kind == model.Toolstack {
		return "libxl 4.17"
	}
	return ""
}

// TestExploreRecordsWhatFires: in a disk detach every step of the
// handshake fires, and the fault transitions the scenario allows
// (EAGAIN) fire too; a transition fires exactly when some reachable state
// enables it, which a plain search of the model confirms.
func TestExploreRecordsWhatFires(t *testing.T) {
	c := load(t, "vbd-remove-4.17")
	fired, res := Explore(context.Background(), c.System, checker.Options{Symmetry: true})
	if res.Verdict != checker.Ok || !res.Stats.Complete {
		t.Fatalf("exploration: %v, complete %v", res.Verdict, res.Stats.Complete)
	}
	// What a search of the model itself finds enabled.
	want := make([]bool, len(c.System.Trans))
	c.System.Walk(nil, func(_ model.State, tr *model.Transition, _ model.State) bool {
		want[tr.ID] = true
		return true
	})
	n := 0
	for id := range want {
		if fired[id] != want[id] {
			t.Errorf("transition %d (%s %q): fired %v, enabled in some reachable state %v", id, c.System.Actors[c.System.Trans[id].Actor].Name, c.System.Trans[id].Name, fired[id], want[id])
		}
		if want[id] {
			n++
		}
	}
	if n == 0 || n == len(want) {
		t.Fatalf("%d of %d transitions enabled: the scenario checks nothing", n, len(want))
	}
}

// TestReport: a role's transitions are counted once across scenarios and
// versions, fired when they fired in any, with the versions of each.
func TestReport(t *testing.T) {
	col := NewCollector()
	a, b := load(t, "vbd-remove-4.17"), load(t, "vbd-remove-4.2")
	fa, _ := Explore(context.Background(), a.System, checker.Options{})
	fb, _ := Explore(context.Background(), b.System, checker.Options{})
	col.Add("a", a.System, fa, true, libxl417)
	col.Add("b", b.System, fb, false, func(ac *model.Actor) string {
		if ac.Kind == model.Toolstack {
			return "libxl 4.2"
		}
		return ""
	})
	rep := col.Report()
	if rep.Total == 0 || rep.Fired == 0 || rep.Fired > rep.Total {
		t.Fatalf("fired %d of %d", rep.Fired, rep.Total)
	}
	if len(rep.Incomplete) != 1 || rep.Incomplete[0] != "b" {
		t.Errorf("incomplete: %v, want [b]", rep.Incomplete)
	}
	sum := 0
	for _, ac := range rep.Actors {
		sum += ac.Total
		names := map[string]bool{}
		for _, tr := range ac.Transitions {
			if names[tr.Name] {
				t.Errorf("%s: %q listed twice", ac.Actor, tr.Name)
			}
			names[tr.Name] = true
			if ac.Actor == "libxl-remove(·)" && tr.Fired && len(tr.FiredIn) == 0 {
				t.Errorf("%s %q fired in no version", ac.Actor, tr.Name)
			}
		}
		if ac.Actor == "libxl-remove(·)" && (len(ac.Versions) != 2 || ac.Versions[0] != "libxl 4.2") {
			t.Errorf("libxl-remove versions %v, want [libxl 4.2 libxl 4.17]", ac.Versions)
		}
		if ac.Actor == "blkback(·)" && (len(ac.Versions) != 0 || ac.Scenarios != 2) {
			t.Errorf("blkback: versions %v, %d scenarios; want unversioned, 2", ac.Versions, ac.Scenarios)
		}
	}
	if sum != rep.Total {
		t.Errorf("the roles' totals add to %d, the report says %d", sum, rep.Total)
	}
}

// TestHostileWritesNotCounted: a hostile guest's generated writes are
// left out.
func TestHostileWritesNotCounted(t *testing.T) {
	c := load(t, "hostile-blkfront-destroy-4.17")
	fired, _ := Explore(context.Background(), c.System, checker.Options{Symmetry: true})
	col := NewCollector()
	col.Add("h", c.System, fired, true, libxl417)
	hostile := false
	for _, a := range c.System.Actors {
		hostile = hostile || a.Kind == model.Guest
	}
	if !hostile {
		t.Fatal("the scenario has no hostile guest")
	}
	for _, a := range col.Report().Actors {
		if a.Actor == "hostile(·)" {
			t.Errorf("hostile guest counted: %+v", a)
		}
	}
}

func TestRole(t *testing.T) {
	for in, want := range map[string]string{"blkback(xvda)": "blkback(·)", "libxl-remove(vif0)": "libxl-remove(·)", "xend(G)": "xend(·)", "x": "x"} {
		if got := Role(in); got != want {
			t.Errorf("Role(%q) = %q, want %q", in, got, want)
		}
	}
}
