// Package xend models the 2007 xend toolstack's device creation
// (DevController.createDevice called by XendDomainInfo._createDevices in a
// configurable order, then waitForDevices) and the xenfb/vncfb daemon that
// VfbifController spawns: the setting of the vfb/vkbd race fixed by
// efe6d12251 (xenbus-protocol.md 8, seed 4).
//
// Simplifications, each named: console and vtpm devices are not modelled;
// vbd and vif get their hotplug-status from a udev hotplug actor
// (Hotplug); the daemon's attach writes (feature-abs-pointer, both states
// InitWait, both hotplug-status) are one step, taken only once both
// backends exist, so no node creation hides inside it.
package xend

import (
	"fmt"

	"github.com/xbcheck/xbcheck/model"
)

// Return codes of CreateDevices.
const (
	RCOk uint8 = iota
	RCVmError
	RCTimedOut
	RCHotplugError
)

// RCNames names the outcomes.
var RCNames = []string{"ok", "VmError", "timed out", "hotplug error"}

// The modelled xend versions: before and after efe6d12251.
const (
	// Unfixed is xend before efe6d12251 (the 3.0 series).
	Unfixed = "3.0"
	// Fixed is xend with efe6d12251 (3.1).
	Fixed = "3.1"
)

// Versions lists the modelled versions, oldest first.
func Versions() []string { return []string{Unfixed, Fixed} }

// DefaultOrder returns ordered_device_refs's order of device kinds: xend
// 3.0 created vfb, vbd, vif, vkbd for the commit's simple guest; the fix
// (3.1) puts vkbd first and vfb after the rest.
func DefaultOrder(version string) []string {
	if version == Fixed {
		return []string{"vkbd", "vbd", "vif", "vfb"}
	}
	return []string{"vfb", "vbd", "vif", "vkbd"}
}

// CreateDevices adds xend's _createDevices for the devices order (indexes
// into System.Devices, in creation order) followed by waitForDevices. spawn
// is the xenfb daemon actor (or -1), started when the vfb is created.
func CreateDevices(b *model.Builder, dom int, order []int, spawn int) int {
	sys := b.Sys()
	a := b.Actor(fmt.Sprintf("xend(%s)", sys.DomainNames[dom]), model.Toolstack, -1, true)
	type locs struct{ create, commit model.LocID }
	ls := make([]locs, len(order))
	for i, di := range order {
		n := sys.Devices[di].Name
		ls[i].create = a.Loc("create-"+n, "DevController.createDevice("+n+"): transaction, \"already connected\" check")
		ls[i].commit = a.Loc("commit-"+n, "t.commit() (False: retry)")
	}
	waits := make([]model.LocID, len(order))
	for i, di := range order {
		n := sys.Devices[di].Name
		waits[i] = a.Loc("wait-"+n, "waitForDevice("+n+"): watch hotplug-status, 100 s")
	}
	done := a.Final("done", "_createDevices and waitForDevices returned or raised")
	rc := a.Var("rc", RCOk, RCNames...)
	complete := model.Mark{Kind: model.MarkComplete, Var: rc, Device: -1, Op: "create-devices"}
	T := func(t model.Transition) { a.T(t) }
	for i, di := range order {
		dev := sys.Devices[di]
		root := sys.Paths[dev.BEDir].Parent // backendRoot(): /local/domain/0/backend/<class>/<domid>
		next := done
		if i+1 < len(order) {
			next = ls[i+1].create
		} else if len(waits) > 0 {
			next = waits[0]
		}
		T(model.Transition{Name: "already connected", Desc: fmt.Sprintf("devid in deviceIDs(t): raise VmError(\"Device %d (%s) is already connected.\")", dev.DevID, dev.Kind),
			From: ls[i].create, To: done, Guard: []model.Cond{model.Present(dev.BEDir)},
			Ops:   []model.Op{model.TxnStart(), model.Directory(root), model.TxnAbort()},
			Sets:  []model.Set{{Var: rc, Val: RCVmError}},
			Marks: []model.Mark{{Kind: model.MarkRaise, Device: di}, complete}})
		var body []model.Op
		body = append(body, model.TxnStart(), model.Directory(root), model.Rm(dev.FEDir), model.Rm(dev.BEDir),
			model.Mkdir(dev.BEDir), model.SetPerms(dev.BEDir), model.Mkdir(dev.FEDir), model.SetPerms(dev.FEDir))
		body = append(body, b.FrontendEntries(di)...)
		body = append(body, b.BackendEntries(di)...)
		if dev.BEKind == "vif" {
			// netif.py getDeviceDetails: back = {'script': script, ...};
			// netback_probe reads it (model/linux.Netback).
			body = append(body, model.Write(b.BEKey(di, "script"), b.Value("/etc/xen/scripts/vif-bridge")))
		}
		T(model.Transition{Name: "write entries", Desc: "remove, mkdir and set_permissions both directories, write2 both",
			From: ls[i].create, To: ls[i].commit, Kind: model.TxnBody, Guard: []model.Cond{model.IsAbsent(dev.BEDir)}, Ops: body})
		var after []model.Op
		var sets []model.Set
		if dev.Kind == "vfb" && spawn >= 0 {
			sa := sys.Actors[spawn]
			start, _ := sa.LocByName(LocWaitVfb)
			after = append(after, model.Signal("spawn xen-vncfb --domid"))
			sets = append(sets, model.Set{Var: sa.Loc, Val: uint8(start)})
		}
		T(model.Transition{Name: "commit", Desc: "commit; VfbifController then spawns xen-vncfb", Kind: model.Commit,
			From: ls[i].commit, To: next, Guard: []model.Cond{model.NoConflict()}, Ops: append([]model.Op{model.TxnCommit()}, after...), Sets: sets})
		T(model.Transition{Name: "xenstore conflict", Desc: "t.commit() is False: retry, re-running the check", Kind: model.EAGAIN,
			From: ls[i].commit, To: ls[i].create, Guard: []model.Cond{model.Conflict()}})
		T(model.Transition{Name: "EAGAIN (injected)", Desc: "t.commit() is False (test-eagain): retry", Kind: model.EAGAIN,
			From: ls[i].commit, To: ls[i].create, Fault: "eagain"})
	}
	for i, di := range order {
		dev := sys.Devices[di]
		next := done
		if i+1 < len(waits) {
			next = waits[i+1]
		}
		var marks []model.Mark
		if next == done {
			marks = []model.Mark{complete}
		}
		T(model.Transition{Name: "hotplug connected", Desc: "hotplugStatusCallback: Connected",
			From: waits[i], To: next, Guard: []model.Cond{model.Eq(dev.Hotplug, b.Value("connected"))},
			Ops: []model.Op{model.Read(dev.Hotplug)}, Marks: marks})
		T(model.Transition{Name: "hotplug error", Desc: "hotplugStatusCallback: Error: destroyDevice, raise",
			From: waits[i], To: done, Guard: []model.Cond{model.Eq(dev.Hotplug, b.Value("error"))},
			Ops: []model.Op{model.Read(dev.Hotplug)}, Sets: []model.Set{{Var: rc, Val: RCHotplugError}}, Marks: []model.Mark{complete}})
		T(model.Transition{Name: "timeout (100 s)", Desc: "DEVICE_CREATE_TIMEOUT: destroyDevice (online = 0, then state = 5): \"Hotplug scripts not working\"",
			From: waits[i], To: done, Timeout: 100000,
			Ops:  []model.Op{model.Write(b.BEKey(di, "online"), b.Value("0")), model.Write(dev.BEState, model.StateClosing.Value())},
			Sets: []model.Set{{Var: rc, Val: RCTimedOut}}, Marks: []model.Mark{complete}})
	}
	return a.Index()
}

// Location names of the xenfb daemon.
const (
	LocNotSpawned = "not-spawned"
	LocWaitVfb    = "wait-vfb"
	LocWaitVkbd   = "wait-vkbd"
	LocAttach     = "attach"
	LocWaitFE     = "wait-frontends"
	LocFatalVfb   = "fatal-vfb"
	LocFatalVkbd  = "fatal-vkbd"
	LocExited     = "exited"
	LocRunning    = "running"
)

// Xenfb adds the 2007 xen-vncfb daemon for the vfb and vkbd devices of one
// guest (tools/xenfb/xenfb.c xenfb_attach_dom; xenbus-protocol.md 4.1): it
// waits for each backend's creation (a missing state reads Unknown and is
// an error, so it does not really wait), attaches, and on any error writes
// Closing to both backends with plain xs_writes, which create missing
// parents. It starts not spawned; CreateDevices spawns it.
func Xenfb(b *model.Builder, vfb, vkbd int) int {
	sys := b.Sys()
	fb, kb := sys.Devices[vfb], sys.Devices[vkbd]
	a := b.Actor(fmt.Sprintf("xenfb(%s)", sys.DomainNames[fb.FEDom]), model.Daemon, -1, true)
	notSpawned := a.Final(LocNotSpawned, "not started yet")
	waitVfb := a.Loc(LocWaitVfb, "xenfb_wait_for_backend_creation(vfb)")
	waitVkbd := a.Loc(LocWaitVkbd, "xenfb_wait_for_backend_creation(vkbd)")
	attach := a.Loc(LocAttach, "both backends Initialising: attach")
	waitFE := a.Loc(LocWaitFE, "wait for both frontends Initialised or Connected")
	fatalVfb := a.Loc(LocFatalVfb, "xenfb_dev_fatal: write vfb state 5")
	fatalVkbd := a.Loc(LocFatalVkbd, "xenfb_dev_fatal: write vkbd state 5")
	exited := a.Final(LocExited, "exit(1)")
	running := a.Final(LocRunning, "serving the framebuffer")
	_ = notSpawned
	S := func(x model.XenbusState) model.Value { return x.Value() }
	T := func(t model.Transition) { a.T(t) }
	for _, w := range []struct {
		from, next model.LocID
		d          model.Device
	}{{waitVfb, waitVkbd, fb}, {waitVkbd, attach, kb}} {
		T(model.Transition{Name: w.d.Kind + " Initialising", Desc: "read " + w.d.Kind + " backend state: Initialising",
			From: w.from, To: w.next, Guard: []model.Cond{model.Eq(w.d.BEState, S(model.StateInitialising))}, Ops: []model.Op{model.Read(w.d.BEState)}})
		T(model.Transition{Name: w.d.Kind + " Unknown", Desc: "read " + w.d.Kind + " backend state: missing, Unknown: error",
			From: w.from, To: fatalVfb, Guard: []model.Cond{model.IsAbsent(w.d.BEState)}, Ops: []model.Op{model.Read(w.d.BEState)}})
	}
	T(model.Transition{Name: "attach", Desc: "feature-abs-pointer = 1; both backends InitWait; hotplug-status = connected on both",
		From: attach, To: waitFE, Ops: []model.Op{
			model.Write(b.BEKey(vkbd, "feature-abs-pointer"), b.Value("1")),
			model.Write(fb.BEState, S(model.StateInitWait)), model.Write(kb.BEState, S(model.StateInitWait)),
			model.Write(fb.Hotplug, b.Value("connected")), model.Write(kb.Hotplug, b.Value("connected"))}})
	T(model.Transition{Name: "frontends ready", Desc: "bind the rings, read feature-update, write request-update; both backends Connected",
		From: waitFE, To: running, Guard: []model.Cond{
			model.StateIn(fb.FEState, model.StateInitialised, model.StateConnected),
			model.StateIn(kb.FEState, model.StateInitialised, model.StateConnected)},
		Ops: []model.Op{model.Read(fb.FEState), model.Read(kb.FEState),
			model.Write(fb.BEState, S(model.StateConnected)), model.Write(kb.BEState, S(model.StateConnected))}})
	T(model.Transition{Name: "write vfb state 5", Desc: "xs_write(vfb/state, 5), XBT_NULL", From: fatalVfb, To: fatalVkbd,
		Ops: []model.Op{model.Write(fb.BEState, S(model.StateClosing))}})
	T(model.Transition{Name: "write vkbd state 5", Desc: "xs_write(vkbd/state, 5), XBT_NULL: creates the vkbd backend path if missing",
		From: fatalVkbd, To: exited, Ops: []model.Op{model.Write(kb.BEState, S(model.StateClosing))}})
	return a.Index()
}

// Hotplug adds the udev hotplug script of a vbd or vif backend under xend:
// once the backend directory exists it writes physical-device (vbd) and
// hotplug-status = connected (xen-hotplug-common.sh success()).
func Hotplug(b *model.Builder, di int) int {
	dev := b.Sys().Devices[di]
	a := b.Actor(fmt.Sprintf("udev-hotplug(%s)", dev.Name), model.Daemon, -1, true)
	wait := a.Final("waiting", "waiting for the backend uevent")
	ran := a.Final("ran", "script done")
	ops := []model.Op{model.Read(dev.BEState)}
	if dev.BEKind == "vbd" {
		ops = append(ops, model.Write(b.BEKey(di, "physical-device"), b.Value("8:0")))
	}
	ops = append(ops, model.Write(dev.Hotplug, b.Value("connected")))
	a.T(model.Transition{Name: "online", Desc: "backend created: run the script, success()", From: wait, To: ran,
		Guard: []model.Cond{model.Eq(dev.BEState, model.StateInitialising.Value())}, Ops: ops})
	return a.Index()
}
