// Package qemu models qemu acting as a xenbus backend (qdisk, vfb, vkbd:
// the QEMU_BACKEND() devices of libxl_internal.h).
//
// "If Qemu is running, it will set the state of the device to 4 directly,
// without waiting in state 2 for any hotplug execution" (the comment in
// libxl__wait_device_connection). While it runs it answers a Closing
// backend with Closed (the flowchart's "hopefully qemu is still running"
// path). It may exit at any time, and always some time after SIGHUP,
// without writing Closing or Closed: "no confirmation from a terminating
// qemu back to the toolstack" (libxl_internal.h, xenbus-protocol.md 6.5).
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

// Add adds the qemu process of domain dom, serving devices ds, starting in
// location start (Running, SIGHUP or Exited), and returns its index.
// Spontaneous exit is the scenario fault "qemu-exit".
func Add(b *model.Builder, dom int, ds []int, start string) int {
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
		d := b.Sys().Devices[di]
		b.Device(di).QemuActor = a.Index()
		a.T(model.Transition{Name: "connect " + d.Name, Desc: "backend Initialising: set the state to Connected directly",
			From: running, To: model.SameLoc, Guard: []model.Cond{model.Eq(d.BEState, model.StateInitialising.Value())},
			Ops: []model.Op{model.Read(d.BEState), model.Write(d.BEState, model.StateConnected.Value())}})
		a.T(model.Transition{Name: "close " + d.Name, Desc: "backend Closing: disconnect, set the state to Closed",
			From: running, To: model.SameLoc, Guard: []model.Cond{model.Eq(d.BEState, model.StateClosing.Value())},
			Ops: []model.Op{model.Read(d.BEState), model.Write(d.BEState, model.StateClosed.Value())}})
	}
	a.T(model.Transition{Name: "exit", Desc: "qemu exits on its own, writing nothing", From: running, To: exited, Fault: "qemu-exit"})
	a.T(model.Transition{Name: "exit", Desc: "qemu exits after SIGHUP, writing nothing (it may take longer than a timer)", From: sighup, To: exited, Slow: true})
	return a.Index()
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
