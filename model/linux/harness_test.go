package linux_test

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/model/linux"
)

// This file is the harness of the state-table tests (tables_test.go). A row
// builds a tiny system, two domains, one device and ONE driver, with the
// store and the driver's variables set for the case, and records what the
// driver may do from there: every enabled transition, with the driver's own
// state node, its cached state, its location and whatever else it changed.
// No enabled transition means the driver ignores the case.
//
// Rows on which the model disagrees with xenbus-protocol.md hold the
// documented expectation and are skipped with "MODEL DISAGREES: ...". Set
// XBCHECK_SHOW_DISAGREEMENTS=1 to run them anyway and see the diffs.

// gone, as the State of an outcome, is a missing state node ("⊥").
const gone = model.XenbusState(0xFF)

// absent, as the value of a key in a row, removes the node.
const absent = "⊥"

// A driverSpec says how to add one kind of driver to a system.
type driverSpec struct {
	name         string            // actor name before "(": blkback, blkfront, ...
	side         model.ActorKind   // model.Frontend or model.Backend
	kind, beKind string            // frontend and backend device kinds
	be, fe       map[string]string // nodes every row starts with, relative to the directories
	add          func(b *model.Builder, di int, start linux.Bound, opt linux.FrontOptions) int
}

var (
	blkback = driverSpec{name: "blkback", side: model.Backend, kind: "vbd", beKind: "vbd",
		add: func(b *model.Builder, di int, s linux.Bound, _ linux.FrontOptions) int {
			return linux.Blkback(b, di, s)
		}}
	netback = driverSpec{name: "netback", side: model.Backend, kind: "vif", beKind: "vif",
		add: func(b *model.Builder, di int, s linux.Bound, _ linux.FrontOptions) int {
			return linux.Netback(b, di, s)
		}}
	pciback = driverSpec{name: "pciback", side: model.Backend, kind: "pci", beKind: "pci",
		be: map[string]string{"num_devs": "1", "dev-0": "0000:03:00.0", "state-0": "1"},
		add: func(b *model.Builder, di int, s linux.Bound, _ linux.FrontOptions) int {
			return linux.Pciback(b, di, s, 2)
		}}
	blkfront = driverSpec{name: "blkfront", side: model.Frontend, kind: "vbd", beKind: "vbd",
		add: linux.Blkfront}
	netfront = driverSpec{name: "netfront", side: model.Frontend, kind: "vif", beKind: "vif",
		add: linux.Netfront}
	pcifront = driverSpec{name: "pcifront", side: model.Frontend, kind: "pci", beKind: "pci",
		be: map[string]string{"num_devs": "1", "dev-0": "0000:03:00.0", "state-0": "1"},
		add: func(b *model.Builder, di int, s linux.Bound, _ linux.FrontOptions) int {
			return linux.Pcifront(b, di, s)
		}}
	kbdfront = driverSpec{name: "kbdfront", side: model.Frontend, kind: "vkbd", beKind: "vkbd",
		add: func(b *model.Builder, di int, s linux.Bound, _ linux.FrontOptions) int {
			return linux.Kbdfront(b, di, s)
		}}
	fbfront = driverSpec{name: "fbfront", side: model.Frontend, kind: "vfb", beKind: "vfb",
		add: func(b *model.Builder, di int, s linux.Bound, _ linux.FrontOptions) int {
			return linux.Fbfront(b, di, s)
		}}
)

// A row is one case of a driver's state table.
type row struct {
	name string
	// drv is how the driver starts: unbound, or bound with a cached state.
	drv linux.Bound
	// own and other are the state nodes of the driver's end and of the
	// other end; StateUnknown removes the node.
	own, other model.XenbusState
	// be and fe add, change or (with absent) remove nodes of the backend
	// and frontend directories, after own and other are set.
	be, fe map[string]string
	// rmOwn and rmOther remove the driver's own directory, or the other
	// end's, after everything else.
	rmOwn, rmOther bool
	// vars sets the driver's other variables (blkback's gate and rings) by
	// value name.
	vars map[string]string
	opt  linux.FrontOptions
	// allow lists the scenario faults the system allows.
	allow []string
	// beDom, when not 0, runs the backend in a driver domain "D" of that id.
	beDom int
	// run overrides domains' run states (default DomainRunning).
	run map[int]uint8
	// stateOnly compares outcomes without Wrote: for rows whose state
	// transition agrees with the doc while a separate, skipped row pins a
	// disagreement about the keys written.
	stateOnly bool
	// skip, when set, marks a row on which the model disagrees with the doc.
	skip string
	want []outcome
}

// An outcome is one transition the driver may take, and its effect.
type outcome struct {
	Trans  string   // transition name
	Loc    string   // the driver's location after: bound or unbound
	State  string   // the driver's own state node after ("⊥": missing)
	Cached string   // the driver's cached state after (the "<actor>.state" variable)
	Wrote  []string // other store changes, "BE/sectors=2097152", "FE/x=⊥"
	Vars   []string // other driver variables changed, "rings=yes"
}

// ignore is the outcome list of a case the driver ignores.
var ignore []outcome

func bound(s model.XenbusState) linux.Bound { return linux.Bound{Bound: true, Cached: s} }

var unbound = linux.Bound{}

// to is an outcome that stays bound; extra entries with a "/" are store
// changes, the others variable changes.
func to(trans string, state, cached model.XenbusState, extra ...string) outcome {
	o := outcome{Trans: trans, Loc: "bound", State: stateName(state), Cached: cached.String()}
	for _, e := range extra {
		if strings.Contains(e, "/") {
			o.Wrote = append(o.Wrote, e)
		} else {
			o.Vars = append(o.Vars, e)
		}
	}
	sort.Strings(o.Wrote)
	sort.Strings(o.Vars)
	return o
}

// failed is an outcome that leaves the driver's device registered with a
// failed probe (location probe-failed), its cache reset.
func failed(trans string, state model.XenbusState, extra ...string) outcome {
	o := unreg(trans, state, extra...)
	o.Loc = "probe-failed"
	return o
}

// unreg is an outcome that destroys the driver instance: device_unregister
// resets the cached state to Initialising for the next probe.
func unreg(trans string, state model.XenbusState, extra ...string) outcome {
	o := to(trans, state, model.StateInitialising, extra...)
	o.Loc = "unbound"
	return o
}

func stateName(s model.XenbusState) string {
	if s == gone {
		return "⊥"
	}
	return s.String()
}

// build compiles the system of row r for driver sp and returns it with the
// driver's actor index and the device index.
func build(t *testing.T, sp driverSpec, r row) (*model.System, int, int) {
	t.Helper()
	b := model.NewBuilder("table " + sp.name + ": " + r.name)
	runState := func(d int) uint8 {
		if s, ok := r.run[d]; ok {
			return s
		}
		return model.DomainRunning
	}
	b.Domain(0, "dom0", runState(0))
	b.Domain(1, "G", runState(1))
	if r.beDom != 0 {
		b.Domain(r.beDom, "D", runState(r.beDom))
	}
	di := b.NewDevice(model.DeviceSpec{Name: sp.kind, Kind: sp.kind, BEKind: sp.beKind, DevID: 0, FEDom: 1, BEDom: r.beDom})
	b.InitEntries(b.FrontendEntries(di))
	b.InitEntries(b.BackendEntries(di))
	dev := b.Sys().Devices[di]

	ownState, otherState := dev.BEState, dev.FEState
	ownDir, otherDir := dev.BEDir, dev.FEDir
	if sp.side == model.Frontend {
		ownState, otherState = otherState, ownState
		ownDir, otherDir = otherDir, ownDir
	}
	setState := func(p model.PathID, s model.XenbusState) {
		if s == model.StateUnknown {
			b.InitRemove(p)
		} else {
			b.Init(p, s.Value())
		}
	}
	setState(ownState, r.own)
	setState(otherState, r.other)
	setKeys := func(key func(int, string) model.PathID, kv map[string]string) {
		for _, k := range sortedKeys(kv) {
			if p := key(di, k); kv[k] == absent {
				b.InitRemove(p)
			} else {
				b.Init(p, b.Value(kv[k]))
			}
		}
	}
	setKeys(b.BEKey, sp.be)
	setKeys(b.FEKey, sp.fe)
	setKeys(b.BEKey, r.be)
	setKeys(b.FEKey, r.fe)
	if r.rmOwn {
		b.InitRemove(ownDir)
	}
	if r.rmOther {
		b.InitRemove(otherDir)
	}
	for _, f := range r.allow {
		b.Allow(f)
	}

	ai := sp.add(b, di, r.drv, r.opt)
	actor := b.Sys().Actors[ai].Name
	for _, name := range sortedKeys(r.vars) {
		v, ok := varByName(b.Sys(), actor+"."+name)
		if !ok {
			t.Fatalf("driver %s has no variable %q", actor, name)
		}
		x := -1
		for i, n := range b.Sys().Vars[v].Names {
			if n == r.vars[name] {
				x = i
			}
		}
		if x < 0 {
			t.Fatalf("variable %s.%s has no value %q", actor, name, r.vars[name])
		}
		b.SetVarInit(v, uint8(x))
	}
	sys, err := b.Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return sys, ai, di
}

// outcomes lists what driver ai may do from the initial state, sorted by
// transition name.
func outcomes(t *testing.T, sys *model.System, ai, di int) []outcome {
	t.Helper()
	a := &sys.Actors[ai]
	dev := sys.Devices[di]
	own := dev.BEState
	if a.Kind == model.Frontend {
		own = dev.FEState
	}
	cached, ok := varByName(sys, a.Name+".state")
	if !ok {
		t.Fatalf("driver %s has no cached-state variable", a.Name)
	}
	rel := func(p string) string {
		fe, be := sys.Paths[dev.FEDir].Name, sys.Paths[dev.BEDir].Name
		switch {
		case strings.HasPrefix(p, fe+"/"):
			return "FE/" + p[len(fe)+1:]
		case strings.HasPrefix(p, be+"/"):
			return "BE/" + p[len(be)+1:]
		}
		return p
	}
	init := sys.Initial()
	before := sys.Store(init)
	next := make(model.State, sys.Size())
	var outs []outcome
	sys.Successors(init, next, func(tr *model.Transition, n model.State) bool {
		if tr.Actor != ai {
			return true
		}
		o := outcome{
			Trans:  tr.Name,
			Loc:    a.LocName(sys.LocOf(n, ai)),
			State:  nodeState(sys, n, own),
			Cached: sys.FormatVar(cached, sys.VarValue(n, cached)),
		}
		after := sys.Store(n)
		ownName := sys.Paths[own].Name
		for _, p := range sortedKeys(union(before, after)) {
			v, ok := after[p]
			if p == ownName || (ok && v == before[p] && hasKey(before, p)) {
				continue
			}
			if !ok {
				v = absent
			}
			o.Wrote = append(o.Wrote, rel(p)+"="+v)
		}
		for v := range sys.Vars {
			vid := model.VarID(v)
			name, isMine := strings.CutPrefix(sys.Vars[v].Name, a.Name+".")
			if !isMine || vid == cached || vid == a.Loc {
				continue
			}
			if x := sys.VarValue(n, vid); x != sys.VarValue(init, vid) {
				o.Vars = append(o.Vars, name+"="+sys.FormatVar(vid, x))
			}
		}
		sort.Strings(o.Vars)
		outs = append(outs, o)
		return true
	})
	sort.SliceStable(outs, func(i, j int) bool { return outs[i].Trans < outs[j].Trans })
	return outs
}

// nodeState renders a state node's value by its XenbusState name.
func nodeState(sys *model.System, st model.State, p model.PathID) string {
	v := sys.Get(st, p)
	if v == model.Absent {
		return "⊥"
	}
	if x, ok := model.ParseXenbusState(sys.Values[v]); ok {
		return x.String()
	}
	return fmt.Sprintf("%q", sys.Values[v])
}

// runTable runs the rows of one driver's table.
func runTable(t *testing.T, sp driverSpec, rows []row) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range rows {
		if seen[r.name] {
			t.Fatalf("%s: duplicate row name %q", sp.name, r.name)
		}
		seen[r.name] = true
		t.Run(r.name, func(t *testing.T) { runRow(t, sp, r) })
	}
}

func runRow(t *testing.T, sp driverSpec, r row) {
	t.Helper()
	if r.skip != "" && os.Getenv("XBCHECK_SHOW_DISAGREEMENTS") == "" {
		t.Skip("MODEL DISAGREES: " + r.skip)
	}
	sys, ai, di := build(t, sp, r)
	got := outcomes(t, sys, ai, di)
	opts := []cmp.Option{cmpopts.EquateEmpty()}
	if r.stateOnly {
		opts = append(opts, cmpopts.IgnoreFields(outcome{}, "Wrote"))
	}
	want := append([]outcome(nil), r.want...)
	sort.SliceStable(want, func(i, j int) bool { return want[i].Trans < want[j].Trans })
	if diff := cmp.Diff(want, got, opts...); diff != "" {
		if r.skip != "" {
			t.Errorf("MODEL DISAGREES: %s\n%s: enabled transitions mismatch (-doc +model):\n%s", r.skip, sys.Actors[ai].Name, diff)
			return
		}
		t.Errorf("%s: enabled transitions mismatch (-want +got):\n%s", sys.Actors[ai].Name, diff)
	}
}

func varByName(sys *model.System, name string) (model.VarID, bool) {
	for i, v := range sys.Vars {
		if v.Name == name {
			return model.VarID(i), true
		}
	}
	return 0, false
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func union(a, b map[string]string) map[string]bool {
	u := make(map[string]bool, len(a)+len(b))
	for k := range a {
		u[k] = true
	}
	for k := range b {
		u[k] = true
	}
	return u
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}
