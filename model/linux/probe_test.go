package linux_test

import (
	"testing"

	"github.com/xbcheck/xbcheck/model"
)

// TestFailedProbeIsNotRetried: a frontend whose probe failed (its backend
// key missing) stays registered without a driver; restoring the key does
// not probe it again (xenbus_dev_changed finds the device), and only the
// removal of its directory unregisters it (fidelity issue 10, item 7).
func TestFailedProbeIsNotRetried(t *testing.T) {
	r := row{name: "failed probe", drv: unbound, own: s1, other: s1, fe: map[string]string{"backend": absent}}
	sys, ai, di := build(t, blkfront, r)
	dev := sys.Devices[di]
	st := sys.Initial()
	step := func(name string) {
		t.Helper()
		var taken *model.Transition
		sys.Successors(st, make(model.State, len(st)), func(tr *model.Transition, _ model.State) bool {
			if tr.Actor == ai && tr.Name == name && taken == nil {
				taken = tr
			}
			return true
		})
		if taken == nil {
			t.Fatalf("%q is not enabled", name)
		}
		st = sys.Apply(st, taken)
	}
	enabled := func() []string {
		var n []string
		sys.Successors(st, make(model.State, len(st)), func(tr *model.Transition, _ model.State) bool {
			if tr.Actor == ai {
				n = append(n, tr.Name)
			}
			return true
		})
		return n
	}
	loc := func() string { return sys.Actors[ai].Locs[sys.LocOf(st, ai)].Name }

	step("probe")
	if loc() != "probe-failed" {
		t.Fatalf("after the failed probe: at %s, want probe-failed", loc())
	}
	// The toolstack writes the key and Initialising again: no new probe.
	backend := sys.Paths[dev.FEDir].Name + "/backend"
	for i, p := range sys.Paths {
		if p.Name == backend {
			sys.ApplyOp(st, model.Write(model.PathID(i), 1))
		}
	}
	sys.ApplyOp(st, model.Write(dev.FEState, model.StateInitialising.Value()))
	if got := enabled(); len(got) != 0 {
		t.Fatalf("a failed device was offered %v; want nothing (never probed again)", got)
	}
	sys.ApplyOp(st, model.Rm(dev.FEDir))
	step("directory removed")
	if loc() != "unbound" {
		t.Fatalf("after the directory's removal: at %s, want unbound", loc())
	}
}
