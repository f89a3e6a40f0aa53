// Package linux models the Linux xenbus frontend and backend drivers:
// blkback/blkfront, netback/netfront, pciback/pcifront, kbdfront and
// fbfront, after the state tables of xenbus-protocol.md section 4.
//
// # Watches as level-triggered guards
//
// A driver reacts to an otherend watch by reading the other end's current
// state (xenbus_otherend_changed) and to the bus watch by reading its own
// directory (xenbus_dev_changed). Because an event carries only the path and
// the handler re-reads, a handler that runs once after several changes sees
// only the last value. The model expresses each handler case as a
// transition guarded by the current values it would read: it may fire at
// any point while they hold, which allows exactly the interleavings of
// coalesced watch delivery (intermediate values may be missed) without
// keeping a pending-event bit per watch in the state. Every case's guard
// includes the driver's cached state (dev->state) or a flag the case
// changes, so a case never fires twice on the same values, as the real
// handler does nothing the second time (the cached-state rule of
// xenbus_switch_state, xenbus-protocol.md 10.5).
//
// A driver whose probe failed leaves its device registered without a
// driver (location probe-failed), never probed again until the device's
// directory is removed. The sources read are Linux 6.1.192 (the real
// host's kernel) and 6.12.118; they agree on everything modelled here.
//
// Simplifications, each named: feature keys (feature-*, sectors, info ...)
// are reduced to the one or two keys another actor reads; error nodes
// written by xenbus_dev_fatal are not modelled, only its switch to Closing;
// a driver's in-kernel transactions (talk_to_blkback, connect) retry until
// they commit, so they are atomic steps.
package linux

import (
	"fmt"

	"github.com/xbcheck/xbcheck/model"
)

// Bound says how a driver starts: not bound to the device, or bound with a
// cached state.
type Bound struct {
	Bound  bool
	Cached model.XenbusState
}

type driver struct {
	b       *model.Builder
	a       *model.ActorBuilder
	d       model.Device
	di      int
	cached  model.VarID
	unbound model.LocID
	bound   model.LocID
	failed  model.LocID // "probe-failed", made by probeFailed
	hasFail bool
}

// probeFailed returns the location of a device whose driver probe failed:
// the xenbus_device stays registered without a driver (xenbus_probe_node
// has done device_register; driver core keeps a device whose probe
// returned an error), and the driver's probe is never tried again:
// xenbus_dev_changed only probes a node xenbus_device_find does not find
// ("dev = xenbus_device_find(root, &bus->bus); if (!dev)
// xenbus_probe_node(bus, type, root); else put_device(&dev->dev);",
// drivers/xen/xenbus/xenbus_probe.c, Linux 6.1 and 6.12). Only the removal
// of the device's directory leaves it: "exists = xenbus_exists(XBT_NIL,
// node, ""); if (!exists) { xenbus_cleanup_devices(node, &bus->bus);"
// unregisters it, and a directory made again later is a new device. The
// location and its way out are made on first use.
func (dr *driver) probeFailed(dir model.PathID) model.LocID {
	if !dr.hasFail {
		dr.hasFail = true
		dr.failed = dr.a.Final("probe-failed", "device registered, driver probe failed: no driver instance, never probed again")
		dr.a.T(model.Transition{Name: "directory removed", Desc: "own directory gone: xenbus_dev_changed → xenbus_cleanup_devices unregisters the device (no driver: nothing written)",
			From: dr.failed, To: dr.unbound, Guard: and(model.IsAbsent(dir)), Ops: ops(model.Read(dir)),
			Sets: []model.Set{{Var: dr.cached, Val: uint8(model.StateInitialising)}}})
	}
	return dr.failed
}

func newDriver(b *model.Builder, di int, name string, kind model.ActorKind, dom int, start Bound) *driver {
	d := b.Sys().Devices[di]
	a := b.Actor(fmt.Sprintf("%s(%s)", name, d.Name), kind, dom, true)
	dr := &driver{b: b, a: a, d: d, di: di}
	dr.unbound = a.Final("unbound", "no driver instance for the device")
	dr.bound = a.Final("bound", "driver instance probed, watching the other end")
	init := uint8(model.StateInitialising)
	if start.Bound {
		a.StartAt(dr.bound)
		init = uint8(start.Cached)
	}
	dr.cached = a.Var("state", init, stateNames()...)
	return dr
}

func stateNames() []string {
	n := make([]string, 9)
	for i := range n {
		n[i] = model.XenbusState(i).String()
	}
	return n
}

// on adds a case at the bound location.
func (dr *driver) on(name, desc string, guard []model.Cond, ops []model.Op, sets ...model.Set) {
	dr.a.T(model.Transition{Name: name, Desc: desc, From: dr.bound, To: model.SameLoc, Guard: guard, Ops: ops, Sets: sets})
}

// unregister adds the case that destroys the driver instance.
func (dr *driver) unregister(name, desc string, guard []model.Cond, ops []model.Op, sets ...model.Set) {
	sets = append(sets, model.Set{Var: dr.cached, Val: uint8(model.StateInitialising)})
	dr.a.T(model.Transition{Name: name, Desc: desc, From: dr.bound, To: dr.unbound, Guard: guard, Ops: ops, Sets: sets})
}

func (dr *driver) probe(name, desc string, guard []model.Cond, ops []model.Op, sets ...model.Set) {
	dr.a.T(model.Transition{Name: name, Desc: desc, From: dr.unbound, To: dr.bound, Guard: guard, Ops: ops, Sets: sets})
}

func (dr *driver) switchTo(own model.PathID, s model.XenbusState) model.Op {
	return model.SwitchState(own, s, dr.cached)
}

func cachedIn(v model.VarID, xs ...model.XenbusState) model.Cond {
	u := make([]uint8, len(xs))
	for i, x := range xs {
		u[i] = uint8(x)
	}
	return model.VarIn(v, u...)
}

func cachedNotIn(v model.VarID, xs ...model.XenbusState) model.Cond {
	c := cachedIn(v, xs...)
	c.Mask = ^c.Mask
	return c
}

func and(cs ...model.Cond) []model.Cond { return cs }

func ops(os ...model.Op) []model.Op { return os }
