package libxl_test

import (
	"testing"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/model/libxl"
)

// removeAlone builds a vbd backend in dom0, Closed on both ends, and a
// remove of it by libxl 4.17 with the given force, without drivers: the
// backend is already Closed, so the state wait reads 6 at once. It runs
// the remove until it cannot move and returns what it ended with.
func removeAlone(t *testing.T, kind string, force uint8, script bool) (rc string, feLeft bool, ran []string) {
	t.Helper()
	b := model.NewBuilder("remove " + kind)
	b.Domain(0, "dom0", model.DomainRunning)
	b.Domain(1, "G", model.DomainRunning)
	di := b.NewDevice(model.DeviceSpec{Name: kind + "0", Kind: kind, BEKind: kind, DevID: 0, FEDom: 1, BEDom: 0})
	b.InitEntries(b.FrontendEntries(di))
	b.InitEntries(b.BackendEntries(di))
	b.InitEntries(libxl.ScriptKeyOps(b, di))
	dev := b.Sys().Devices[di]
	b.Init(dev.FEState, model.StateClosed.Value())
	b.Init(dev.BEState, model.StateClosed.Value())
	if !script {
		b.InitRemove(b.BEKey(di, "script"))
	}
	ai := libxl.Remove(b, di, libxl.RemoveOptions{Version: libxl.Version{Minor: 17}, Force: force})
	sys, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	st := sys.Initial()
	for steps := 0; steps < 50; steps++ {
		var next *model.Transition
		sys.Successors(st, make(model.State, len(st)), func(tr *model.Transition, _ model.State) bool {
			if tr.Actor == ai && tr.Fault == "" && next == nil {
				next = tr
			}
			return true
		})
		if next == nil {
			break
		}
		ran = append(ran, next.Name)
		st = sys.Apply(st, next)
	}
	a := sys.Actors[ai]
	if loc := a.Locs[sys.LocOf(st, ai)].Name; loc != libxl.LocDone {
		t.Fatalf("the remove stopped at %s after %v", loc, ran)
	}
	for v := range sys.Vars {
		if sys.Vars[v].Name == a.Name+".rc" {
			rc = libxl.RCNames[sys.VarValue(st, model.VarID(v))]
		}
	}
	return rc, sys.Get(st, dev.FEDir) != model.Absent, ran
}

// TestScriptFoundThroughXenstore: libxl__hotplug_disk and
// libxl__hotplug_nic read BE/script (a vif also BE/type); a missing key is
// ERROR_FAIL, no script runs, and device_hotplug_done destroys only on
// FORCE_ON (fidelity issue 10, item 5).
func TestScriptFoundThroughXenstore(t *testing.T) {
	for _, c := range []struct {
		kind   string
		force  uint8
		script bool
		rc     string
		feLeft bool
		ran    string
	}{
		{"vbd", libxl.ForceAuto, true, "0", false, "run remove script"},
		{"vbd", libxl.ForceAuto, false, "ERROR_FAIL", true, "script key missing"},
		{"vbd", libxl.ForceOff, false, "ERROR_FAIL", true, "script key missing"},
		{"vbd", libxl.ForceOn, false, "ERROR_FAIL", false, "script key missing"},
		{"vif", libxl.ForceAuto, true, "0", false, "run remove script"},
		{"vif", libxl.ForceAuto, false, "ERROR_FAIL", true, "script key missing"},
	} {
		rc, feLeft, ran := removeAlone(t, c.kind, c.force, c.script)
		has := false
		for _, n := range ran {
			has = has || n == c.ran
		}
		if rc != c.rc || feLeft != c.feLeft || !has {
			t.Errorf("%s remove, force %d, script %v: rc %s, frontend left %v, steps %v; want rc %s, frontend left %v, a step %q",
				c.kind, c.force, c.script, rc, feLeft, ran, c.rc, c.feLeft, c.ran)
		}
	}
}
