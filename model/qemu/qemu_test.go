package qemu_test

import (
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/model/qemu"
)

// A row is one case of qemu's per-device table: a guest G with one device
// served by a running qemu, the backend and frontend state nodes set
// (StateUnknown removes the node), and what qemu may do from there: each
// enabled step as "name: store changes" (the device's name left out).
type row struct {
	name   string
	kind   string // backend kind: qdisk, vfb
	opt    qemu.Options
	be, fe model.XenbusState
	online string
	want   []string
}

var (
	xenbus = qemu.Options{XenBus: true}
	legacy = qemu.Options{}
)

func TestDeviceSteps(t *testing.T) {
	rows := []row{
		// hw/xen/xen-bus.c and hw/block/xen-block.c (QEMU 7.x).
		{name: "xen-bus realize", kind: "qdisk", opt: xenbus, be: model.StateInitialising, fe: model.StateInitialising,
			want: []string{"init: BE/sectors=2097152 BE/state=2"}},
		{name: "xen-bus not online", kind: "qdisk", opt: xenbus, be: model.StateInitialising, fe: model.StateInitialising, online: "0"},
		{name: "xen-bus waits for the frontend", kind: "qdisk", opt: xenbus, be: model.StateInitWait, fe: model.StateInitialising},
		{name: "xen-bus connect on Initialised", kind: "qdisk", opt: xenbus, be: model.StateInitWait, fe: model.StateInitialised,
			want: []string{"connect: BE/state=4"}},
		{name: "xen-bus connect on Connected", kind: "qdisk", opt: xenbus, be: model.StateInitWait, fe: model.StateConnected,
			want: []string{"connect: BE/state=4"}},
		{name: "xen-bus connected", kind: "qdisk", opt: xenbus, be: model.StateConnected, fe: model.StateConnected},
		{name: "xen-bus follows Closing", kind: "qdisk", opt: xenbus, be: model.StateConnected, fe: model.StateClosing,
			want: []string{"frontend Closing: BE/state=5"}},
		{name: "xen-bus follows Closed", kind: "qdisk", opt: xenbus, be: model.StateClosing, fe: model.StateClosed,
			want: []string{"frontend Closed: BE/state=6"}},
		{name: "xen-bus toolstack Closing, frontend active", kind: "qdisk", opt: xenbus, be: model.StateClosing, fe: model.StateConnected},
		{name: "xen-bus toolstack Closing, frontend Initialising", kind: "qdisk", opt: xenbus, be: model.StateClosing, fe: model.StateInitialising,
			want: []string{"toolstack Closing: BE/state=6"}},
		{name: "xen-bus frontend gone", kind: "qdisk", opt: xenbus, be: model.StateConnected, fe: model.StateUnknown,
			want: []string{"frontend gone: BE/state=6"}},
		{name: "xen-bus frontend gone, not realized", kind: "qdisk", opt: xenbus, be: model.StateInitialising, fe: model.StateUnknown,
			want: []string{"init: BE/sectors=2097152 BE/state=2"}},
		// hw/xen/xen-legacy-backend.c (and hw/block/xen_disk.c for qdisk).
		{name: "legacy init", kind: "qdisk", opt: legacy, be: model.StateInitialising, fe: model.StateInitialising,
			want: []string{"init: BE/state=2"}},
		{name: "legacy not online", kind: "qdisk", opt: legacy, be: model.StateInitialising, fe: model.StateInitialising, online: "0"},
		{name: "legacy waits for the frontend", kind: "qdisk", opt: legacy, be: model.StateInitWait, fe: model.StateInitialising},
		{name: "legacy qdisk connect writes sectors", kind: "qdisk", opt: legacy, be: model.StateInitWait, fe: model.StateInitialised,
			want: []string{"connect: BE/sectors=2097152 BE/state=4"}},
		{name: "legacy follows Closing", kind: "qdisk", opt: legacy, be: model.StateConnected, fe: model.StateClosing,
			want: []string{"frontend Closing: BE/state=5"}},
		{name: "legacy follows Closed", kind: "qdisk", opt: legacy, be: model.StateClosing, fe: model.StateClosed,
			want: []string{"frontend Closed: BE/state=6"}},
		{name: "legacy ignores a toolstack Closing", kind: "qdisk", opt: legacy, be: model.StateClosing, fe: model.StateInitialising},
		{name: "legacy ignores a missing frontend", kind: "qdisk", opt: legacy, be: model.StateConnected, fe: model.StateUnknown},
		// vfb and vkbd are legacy backends whatever the qdisk's core.
		{name: "vfb connect writes no sectors", kind: "vfb", opt: xenbus, be: model.StateInitWait, fe: model.StateConnected,
			want: []string{"connect: BE/state=4"}},
		{name: "vfb ignores a toolstack Closing", kind: "vfb", opt: xenbus, be: model.StateClosing, fe: model.StateInitialising},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			got := steps(t, r)
			if diff := cmp.Diff(r.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("qemu's steps (-want +got):\n%s", diff)
			}
		})
	}
}

// steps builds row r's system and lists qemu's enabled steps.
func steps(t *testing.T, r row) []string {
	t.Helper()
	b := model.NewBuilder("qemu table: " + r.name)
	b.Domain(0, "dom0", model.DomainRunning)
	b.Domain(1, "G", model.DomainRunning)
	kind := r.kind
	if kind == "qdisk" {
		kind = "vbd"
	}
	di := b.NewDevice(model.DeviceSpec{Name: "dev", Kind: kind, BEKind: r.kind, FEDom: 1, BEDom: 0})
	b.InitEntries(b.FrontendEntries(di))
	b.InitEntries(b.BackendEntries(di))
	dev := b.Sys().Devices[di]
	for p, s := range map[model.PathID]model.XenbusState{dev.BEState: r.be, dev.FEState: r.fe} {
		if s == model.StateUnknown {
			b.InitRemove(p)
		} else {
			b.Init(p, s.Value())
		}
	}
	if r.online != "" {
		b.Init(b.BEKey(di, "online"), b.Value(r.online))
	}
	q := qemu.Add(b, 1, []int{di}, qemu.Running, r.opt)
	sys, err := b.Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	fe, be := sys.Paths[dev.FEDir].Name, sys.Paths[dev.BEDir].Name
	rel := strings.NewReplacer(be+"/", "BE/", fe+"/", "FE/")
	init := sys.Initial()
	before := sys.Store(init)
	next := make(model.State, sys.Size())
	var out []string
	sys.Successors(init, next, func(tr *model.Transition, n model.State) bool {
		if tr.Actor != q {
			return true
		}
		after := sys.Store(n)
		var ch []string
		for p, v := range after {
			if w, ok := before[p]; !ok || w != v {
				ch = append(ch, rel.Replace(p)+"="+v)
			}
		}
		for p := range before {
			if _, ok := after[p]; !ok {
				ch = append(ch, rel.Replace(p)+"=⊥")
			}
		}
		sort.Strings(ch)
		out = append(out, strings.TrimSuffix(tr.Name, " dev")+": "+strings.Join(ch, " "))
		return true
	})
	sort.Strings(out)
	return out
}
