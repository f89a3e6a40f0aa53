// Package qemu models qemu acting as a xenbus backend (qdisk, vfb, vkbd:
// the QEMU_BACKEND() devices of libxl_internal.h).
//
// libxl does not wait for these backends: "If Qemu is running, it will set
// the state of the device to 4 directly, without waiting in state 2 for
// any hotplug execution" (libxl__wait_device_connection, which calls
// device_hotplug_done at once for them). Read against qemu, "directly"
// means "without a hotplug script", not "from Initialising": every qemu
// the modelled toolstacks use goes Initialising → InitWait, waits for the
// frontend's Initialised or Connected, and only then writes Connected.
// Two backend cores are modelled, chosen per device by Options:
//
//   - The legacy backend (QEMU hw/xen/xen-legacy-backend.c, before 4.0
//     hw/xen/xen_backend.c; the same code in qemu-xen-traditional's
//     hw/xen_backend.c, read in xenserver/qemu-xen-4.2): vfb and vkbd in
//     every version, and qdisk (hw/block/xen_disk.c) in QEMU before 4.0,
//     so under libxl 4.2 to 4.12. xen_be_try_init: online, then
//     "hotplug-status" = "connected" and InitWait; xen_be_try_initialise:
//     "frontend not ready (yet)" unless the frontend is Initialised or
//     Connected, then ops->initialise (xen_disk's blk_connect writes
//     "sector-size" and "sectors") and Connected; xen_be_check_state:
//     "frontend may request shutdown from almost anywhere":
//     xen_be_disconnect sets the backend to the frontend's Closing or
//     Closed. A toolstack's write of Closing to the backend state is never
//     answered by the backend itself: xen_be_backend_changed only reads
//     "online", and the cached be_state drives xen_be_check_state.
//   - The XenBus device (QEMU 4.0+ hw/xen/xen-bus.c and
//     hw/block/xen-block.c): qdisk under libxl 4.13+. Xen 4.17's
//     Config.mk pins qemu-xen at b746458e1c (an upstream commit of October
//     2022, after 7.1, not readable here); Debian's Xen 4.17, the real
//     host's, runs Debian's QEMU 7.2. Read here: xen-bus.c as of QEMU 7.x
//     (before 8.0's xenstore abstraction) and xen-block.c as of 8.x; the
//     earliest xen-block.c (QEMU 4.0's development) writes "sectors" in
//     realize too. libxl still writes
//     the backend entries (device_disk_add); xen_bus_type_enumerate creates
//     the device for a backend that is "online && state ==
//     XenbusStateInitialising", and xen_device_realize runs
//     xen_block_realize ("info", "sector-size", "sectors" via
//     xen_block_set_size, feature-*) before it writes "hotplug-status",
//     "online" and InitWait. xen_block_frontend_changed connects on the
//     frontend's Initialised or Connected (→ Connected), follows Closing,
//     and disconnects on Closed or Unknown (→ Closed).
//     xen_device_backend_changed answers a toolstack's Closing with
//     Closed itself, but only when the frontend is not active
//     (xen_device_frontend_is_active: InitWait, Initialised, Connected
//     or Closing are active).
//
// While it runs qemu takes these steps; it may exit at any time, and
// always some time after SIGHUP, without writing Closing or Closed: "no
// confirmation from a terminating qemu back to the toolstack"
// (libxl_internal.h, xenbus-protocol.md 6.5).
//
// Simplifications, each named: qemu's steps are guarded by the store's
// values rather than by its watch events and cached states (a step whose
// condition holds is taken once; re-connecting on a frontend event that
// arrives after a toolstack's Closing, which xen_block_frontend_changed
// would do from any backend state but Connected, is not modelled); the
// keys written besides the state are "sectors" for a disk, written in the
// step that writes the state (in xen-bus.c realize before InitWait, in
// xen_disk.c blk_connect before Connected), no other key; the XenBus
// device's destruction once the backend is Closed with online 0
// (xen_bus_cleanup → xen_device_unrealize removes the frontend and
// backend directories) is not modelled, nor the re-initialisation when a
// frontend goes back to Initialising after Closed.
package qemu

import (
	"fmt"

	"github.com/xbcheck/xbcheck/model"
)

// Location names of the qemu actor.
const (
	Running = "running"
	SIGHUP  = "sighup"
	Exited  = "exited"
)

// XenBusLibxlMinor is the first libxl 4.x whose qemu-xen serves qdisk
// with the XenBus device: QEMU 4.0 removed hw/block/xen_disk.c
// (the legacy qdisk) for hw/block/xen-block.c, and Xen 4.13 was the first
// to ship a qemu-xen based on QEMU 4.x (4.1); Xen 4.12 shipped 3.1.
const XenBusLibxlMinor = 13

// Options say which backend core serves a qdisk.
type Options struct {
	// XenBus: qdisk devices are XenBus devices (hw/xen/xen-bus.c,
	// hw/block/xen-block.c; QEMU 4.0+). vfb and vkbd are legacy backends
	// in every version.
	XenBus bool
}

// ForLibxl returns the options for the qemu-xen that libxl 4.minor ships.
func ForLibxl(minor int) Options { return Options{XenBus: minor >= XenBusLibxlMinor} }

// Add adds the qemu process of domain dom, serving devices ds, starting in
// location start (Running, SIGHUP or Exited), and returns its index.
// Spontaneous exit is the scenario fault "qemu-exit".
func Add(b *model.Builder, dom int, ds []int, start string, opt Options) int {
	a := b.Actor(fmt.Sprintf("qemu(%s)", b.Sys().DomainNames[dom]), model.Qemu, -1, true)
	running := a.Final(Running, "device model running, serving its backends")
	sighup := a.Loc(SIGHUP, "SIGHUP received: tearing down, holding its fds until it exits")
	exited := a.Final(Exited, "exited; its fds are closed")
	switch start {
	case SIGHUP:
		a.StartAt(sighup)
	case Exited:
		a.StartAt(exited)
	}
	for _, di := range ds {
		b.Device(di).QemuActor = a.Index()
		for _, t := range deviceTransitions(b, di, opt) {
			t.From, t.To = running, model.SameLoc
			a.T(t)
		}
	}
	a.T(model.Transition{Name: "exit", Desc: "qemu exits on its own, writing nothing", From: running, To: exited, Fault: "qemu-exit"})
	a.T(model.Transition{Name: "exit", Desc: "qemu exits after SIGHUP, writing nothing (it may take longer than a timer)", From: sighup, To: exited, Slow: true})
	return a.Index()
}

// deviceTransitions returns the steps qemu takes for device di while it
// runs (From and To are set by Add).
func deviceTransitions(b *model.Builder, di int, opt Options) []model.Transition {
	d := b.Sys().Devices[di]
	be, fe := d.BEState, d.FEState
	S := func(x model.XenbusState) model.Value { return x.Value() }
	online := b.BEKey(di, "online")
	xenbus := opt.XenBus && d.BEKind == "qdisk"
	var sectors []model.Op
	if d.BEKind == "qdisk" {
		sectors = []model.Op{model.Write(b.BEKey(di, "sectors"), b.Value("2097152"))}
	}
	var ts []model.Transition
	add := func(name, desc string, guard []model.Cond, ops ...model.Op) {
		ts = append(ts, model.Transition{Name: name + " " + d.Name, Desc: desc, Guard: guard, Ops: ops})
	}
	if xenbus {
		// hw/xen/xen-bus.c xen_bus_type_enumerate ("if (online && state ==
		// XenbusStateInitialising)") → xen_device_realize: xen_block_realize
		// writes "sectors" (xen_block_set_size), then
		// xen_device_backend_set_state(xendev, XenbusStateInitWait).
		add("init", "xen_device_realize: xen_block_realize writes sectors; backend InitWait",
			[]model.Cond{model.Eq(be, S(model.StateInitialising)), model.Eq(online, b.Value("1"))},
			append(append([]model.Op{model.Read(be), model.Read(online)}, sectors...), model.Write(be, S(model.StateInitWait)))...)
		// hw/block/xen-block.c xen_block_frontend_changed: "case
		// XenbusStateInitialised: case XenbusStateConnected:" →
		// xen_block_connect → xen_device_backend_set_state(xendev,
		// XenbusStateConnected).
		add("connect", "xen_block_frontend_changed: frontend Initialised/Connected: xen_block_connect; backend Connected",
			[]model.Cond{model.Eq(be, S(model.StateInitWait)), model.StateIn(fe, model.StateInitialised, model.StateConnected)},
			model.Read(fe), model.Write(be, S(model.StateConnected)))
	} else {
		// xen-legacy-backend.c xen_be_try_init: "if (!xendev->online) ...
		// return -1"; xenstore_write_be_str(xendev, "hotplug-status",
		// "connected"); xen_be_set_state(xendev, XenbusStateInitWait).
		add("init", "xen_be_try_init: online; backend InitWait",
			[]model.Cond{model.Eq(be, S(model.StateInitialising)), model.Eq(online, b.Value("1"))},
			model.Read(be), model.Read(online), model.Write(be, S(model.StateInitWait)))
		// xen_be_try_initialise: "frontend not ready (yet)" unless
		// Initialised or Connected; ops->initialise (xen_disk.c
		// blk_connect: "sector-size", "sectors"); xen_be_set_state(xendev,
		// XenbusStateConnected).
		add("connect", "xen_be_try_initialise: frontend Initialised/Connected: initialise; backend Connected",
			[]model.Cond{model.Eq(be, S(model.StateInitWait)), model.StateIn(fe, model.StateInitialised, model.StateConnected)},
			append(append([]model.Op{model.Read(fe)}, sectors...), model.Write(be, S(model.StateConnected)))...)
	}
	// Both cores follow the frontend's Closing and Closed: xen-block.c
	// "case XenbusStateClosing: xen_device_backend_set_state(xendev,
	// XenbusStateClosing)", "case XenbusStateClosed: case
	// XenbusStateUnknown: xen_block_disconnect ...
	// xen_device_backend_set_state(xendev, XenbusStateClosed)";
	// xen_be_check_state: "frontend may request shutdown from almost
	// anywhere" → xen_be_disconnect(xendev, xendev->fe_state). A backend
	// still Initialising has no device yet (not realized; legacy: not
	// past xen_be_try_init) and is left alone.
	add("frontend Closing", "frontend Closing: disconnect; backend Closing",
		[]model.Cond{model.Eq(fe, S(model.StateClosing)), model.StateNotIn(be, model.StateUnknown, model.StateInitialising, model.StateClosing, model.StateClosed)},
		model.Read(fe), model.Write(be, S(model.StateClosing)))
	add("frontend Closed", "frontend Closed: disconnect; backend Closed",
		[]model.Cond{model.Eq(fe, S(model.StateClosed)), model.StateNotIn(be, model.StateUnknown, model.StateInitialising, model.StateClosed)},
		model.Read(fe), model.Write(be, S(model.StateClosed)))
	if xenbus {
		// xen_block_frontend_changed's XenbusStateUnknown: the frontend's
		// state node is gone (xen_device_frontend_changed: "if
		// (xen_device_frontend_scanf(...) != 1) state =
		// XenbusStateUnknown"). The legacy core reads Unknown too and does
		// nothing with it. Only a realized device (past Initialising) has
		// the watch.
		add("frontend gone", "frontend state missing (Unknown): xen_block_disconnect; backend Closed",
			[]model.Cond{model.IsAbsent(fe), model.StateNotIn(be, model.StateUnknown, model.StateInitialising, model.StateClosed)},
			model.Read(fe), model.Write(be, S(model.StateClosed)))
		// xen_device_backend_changed: "If the toolstack (or unplug request
		// callback) has set the backend state to Closing, but there is no
		// active frontend then set the backend state to Closed." A
		// frontend Closed or missing is covered by the two steps above,
		// with the same effect; this is the Initialising one.
		add("toolstack Closing", "backend Closing, frontend not active (Initialising): backend Closed",
			[]model.Cond{model.Eq(be, S(model.StateClosing)), model.Eq(fe, S(model.StateInitialising))},
			model.Read(be), model.Read(fe), model.Write(be, S(model.StateClosed)))
	}
	return ts
}

// Signal returns the transitions a toolstack actor uses to send SIGHUP to
// qemu actor q (libxl__destroy_device_model): one for a running qemu and
// one for a qemu that has already exited.
func Signal(b *model.Builder, q int, from, to model.LocID) []model.Transition {
	qa := b.Sys().Actors[q]
	running, _ := qa.LocByName(Running)
	sighup, _ := qa.LocByName(SIGHUP)
	return []model.Transition{
		{Name: "SIGHUP qemu", Desc: "libxl__destroy_device_model: kill(pid, SIGHUP), no wait",
			From: from, To: to, Guard: []model.Cond{model.VarEq(qa.Loc, uint8(running))},
			Ops: []model.Op{model.Signal("SIGHUP " + qa.Name)}, Sets: []model.Set{{Var: qa.Loc, Val: uint8(sighup)}}},
		{Name: "qemu not running", Desc: "the device model is not running: nothing to signal",
			From: from, To: to, Guard: []model.Cond{model.VarNe(qa.Loc, uint8(running))}},
	}
}
