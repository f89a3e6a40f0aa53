package linux

import (
	"fmt"
	"slices"

	"github.com/xbcheck/xbcheck/model"
)

// Blkback adds the blkback driver of device di, running in the backend
// domain (drivers/block/xen-blkback/xenbus.c; xenbus-protocol.md table
// 4.1), and returns the actor's index.
func Blkback(b *model.Builder, di int, start Bound) int { return genericBack(b, di, "blkback", start) }

// Netback adds the netback driver of device di
// (drivers/net/xen-netback/xenbus.c, Linux 6.1; xenbus-protocol.md 4.1
// "netback"), checked against a real Xen 4.17 host (docs/realhost.md).
// Unlike blkback it keeps a wanted state of its own (be->state) apart from
// the one written (dev->state): set_backend_state walks the shortest path
// to the wanted state one xenbus_switch_state at a time, and
// backend_switch_state defers every write while the hotplug-status watch
// that connect() registers is set, until hotplug_status_changed reads
// "connected" and writes be->state. It connects on frontend Connected
// only (frontend Initialised does nothing), and a frontend that is Closed
// (or gone) while online is not 1 makes it unregister, and netback_remove
// removes hotplug-status.
func Netback(b *model.Builder, di int, start Bound) int {
	dev := b.Sys().Devices[di]
	dr := newDriver(b, di, "netback", model.Backend, dev.BEDom, start)
	a := dr.a
	init := uint8(model.StateInitialising)
	if start.Bound {
		init = uint8(start.Cached)
	}
	// want is be->state; hpwatch is have_hotplug_status_watch.
	want := a.Var("want", init, stateNames()...)
	hpwatch := a.Var("hpwatch", 0, "no", "yes")
	be, fe := dev.BEState, dev.FEState
	S := func(x model.XenbusState) model.Value { return x.Value() }
	set := func(v model.VarID, x model.XenbusState) model.Set { return model.Set{Var: v, Val: uint8(x)} }
	online := b.BEKey(di, "online")
	frontendKey := b.BEKey(di, "frontend")
	deferred := model.VarEq(hpwatch, 1)
	direct := model.VarEq(hpwatch, 0)
	// walk is set_backend_state from `from` to `to`: the states written on
	// the way, as backend_switch_state writes them when not deferred.
	walk := func(from, to model.XenbusState) []model.XenbusState {
		var out []model.XenbusState
		for cur := from; cur != to; {
			next := map[model.XenbusState]map[model.XenbusState]model.XenbusState{
				model.StateInitialising: {model.StateInitWait: model.StateInitWait, model.StateConnected: model.StateInitWait, model.StateClosing: model.StateInitWait, model.StateClosed: model.StateClosed},
				model.StateClosed:       {model.StateInitWait: model.StateInitWait, model.StateConnected: model.StateInitWait, model.StateClosing: model.StateClosing},
				model.StateInitWait:     {model.StateConnected: model.StateConnected, model.StateClosing: model.StateClosing, model.StateClosed: model.StateClosing},
				model.StateConnected:    {model.StateInitWait: model.StateClosing, model.StateClosing: model.StateClosing, model.StateClosed: model.StateClosing},
				model.StateClosing:      {model.StateInitWait: model.StateClosed, model.StateConnected: model.StateClosed, model.StateClosed: model.StateClosed},
			}[cur][to]
			out = append(out, next)
			cur = next
		}
		return out
	}
	// setState adds the cases of set_backend_state(to) on trigger, one
	// per wanted state it can start from: the writes when not deferred,
	// none when deferred (hotplug_status_changed writes the end state).
	setState := func(name, desc string, trigger []model.Cond, reads []model.Op, to model.XenbusState, sets ...model.Set) {
		for _, from := range []model.XenbusState{model.StateInitialising, model.StateInitWait, model.StateConnected, model.StateClosing, model.StateClosed} {
			if from == to {
				continue
			}
			path := walk(from, to)
			var writes []model.Op
			for _, st := range path {
				writes = append(writes, dr.switchTo(be, st))
			}
			// Clipped: the two variants below append to it.
			g := slices.Clip(append(append([]model.Cond(nil), trigger...), model.VarEq(want, uint8(from))))
			ss := append([]model.Set{set(want, to)}, sets...)
			reads := slices.Clip(reads)
			if to == model.StateConnected {
				// backend_connect: connect() maps the rings and registers
				// the hotplug-status watch, so the write of Connected is
				// deferred; the states before it are written.
				writes = writes[:len(writes)-1]
				reads = append(reads, model.Read(b.FEKey(di, "tx-ring-ref")), model.Read(b.FEKey(di, "rx-ring-ref")))
				ss = append(ss, model.Set{Var: hpwatch, Val: 1})
			}
			dr.on(name, fmt.Sprintf("%s (be->state %s → %s)", desc, from, to), append(g, direct), append(append([]model.Op(nil), reads...), writes...), ss...)
			if to == model.StateConnected {
				netbackConnectFails(dr, be, name, fmt.Sprintf("%s (be->state %s → %s)", desc, from, to), append(g, direct), reads, writes,
					append([]model.Set{set(want, to)}, sets...), ss)
			}
			if to != model.StateConnected {
				dr.on(name+", deferred", fmt.Sprintf("%s (be->state %s → %s) while the hotplug-status watch is set: nothing written", desc, from, to),
					append(g, deferred), reads, ss...)
			}
		}
	}

	script := b.BEKey(di, "script")
	probeGuard := and(model.Eq(be, S(model.StateInitialising)), model.Present(frontendKey), model.Present(b.BEKey(di, "frontend-id")), model.Present(dev.FEDir))
	probeReads := ops(model.Read(be), model.Read(frontendKey), model.Read(b.BEKey(di, "frontend-id")), dr.switchTo(be, model.StateInitWait), model.Read(script))
	dr.probe("probe", "netback_probe: feature keys; backend_switch_state(InitWait); read script; backend_create_xenvif (its uevent runs no script: libxl does)",
		append(slices.Clip(probeGuard), model.Present(script)), probeReads,
		set(want, model.StateInitWait), model.Set{Var: hpwatch, Val: 0})
	// netback_probe after InitWait (Linux 6.1 and 6.12): "script =
	// xenbus_read(XBT_NIL, dev->nodename, "script", NULL); if
	// (IS_ERR(script)) { err = PTR_ERR(script); xenbus_dev_fatal(dev, err,
	// "reading script"); goto fail; }" and "fail: ... netback_remove(dev);":
	// xenbus_dev_fatal switches to Closing, netback_remove's
	// set_backend_state(be, XenbusStateClosed) walks be->state InitWait →
	// Closing (dev->state is Closing already: nothing written) → Closed.
	// be->vif is still NULL, so hotplug-status is not removed. The probe
	// returns the error: the device stays registered without a driver.
	a.T(model.Transition{Name: "probe, script missing", Desc: "netback_probe: InitWait, then \"reading script\" fails: xenbus_dev_fatal → Closing, netback_remove → Closed; probe fails, the device stays registered",
		From: dr.unbound, To: dr.probeFailed(dev.BEDir), Guard: append(slices.Clip(probeGuard), model.IsAbsent(script)),
		Ops:  append(probeReads, dr.switchTo(be, model.StateClosing), dr.switchTo(be, model.StateClosed)),
		Sets: []model.Set{set(want, model.StateInitialising), {Var: hpwatch, Val: 0}}})

	netbackProbeFails(dr, probeGuard, probeReads, script, dev.Hotplug,
		set(want, model.StateInitialising), model.Set{Var: hpwatch, Val: 0})

	// hotplug_status_changed: the watch fires when registered and on
	// every change; "connected" completes the pending state change.
	// The pending state is be->state, whatever it became meanwhile.
	for _, w := range []model.XenbusState{model.StateConnected, model.StateInitWait, model.StateClosing, model.StateClosed} {
		dr.on("hotplug-status connected", "hotplug_status_changed: \"connected\": xenbus_switch_state(be->state = "+w.String()+"), unregister the watch",
			and(deferred, model.VarEq(want, uint8(w)), model.Eq(dev.Hotplug, b.Value("connected"))),
			ops(model.Read(dev.Hotplug), dr.switchTo(be, w)), model.Set{Var: hpwatch, Val: 0})
	}

	setState("sees Initialising", "frontend_changed(Initialising): set_backend_state(InitWait)",
		and(model.Eq(fe, S(model.StateInitialising))), ops(model.Read(fe)), model.StateInitWait)
	setState("sees Connected", "frontend_changed(Connected): set_backend_state(Connected)",
		and(model.Eq(fe, S(model.StateConnected))), ops(model.Read(fe)), model.StateConnected)
	setState("sees Closing", "frontend_changed(Closing): set_backend_state(Closing)",
		and(model.Eq(fe, S(model.StateClosing))), ops(model.Read(fe)), model.StateClosing)
	setState("sees Closed, online", "frontend_changed(Closed): set_backend_state(Closed); online",
		and(model.Eq(fe, S(model.StateClosed)), model.Eq(online, b.Value("1"))), ops(model.Read(fe), model.Read(online)), model.StateClosed)
	// Closed with online != 1, or the frontend gone (Unknown): walk to
	// Closed, device_unregister → netback_remove: xenbus_rm hotplug-status;
	// xenbus_dev_remove writes nothing (allow_rebind, the node no longer
	// reads Closing).
	for _, from := range []model.XenbusState{model.StateInitialising, model.StateInitWait, model.StateConnected, model.StateClosing, model.StateClosed} {
		var writes []model.Op
		for _, st := range walk(from, model.StateClosed) {
			writes = append(writes, dr.switchTo(be, st))
		}
		cases := []struct {
			name string
			cond []model.Cond
			read []model.Op
		}{
			{"sees Closed, offline", and(model.Eq(fe, S(model.StateClosed)), model.In(online, model.Absent, b.Value("0"))), ops(model.Read(fe), model.Read(online))},
			{"sees Unknown", and(model.StateIn(fe, model.StateUnknown)), ops(model.Read(fe))},
		}
		if from == model.StateClosed {
			// be->state Closed: frontend_changed(Closed) has run already
			// (with online 1, or it would have unregistered). A change of
			// online alone is no event for netback: its otherend watch is
			// on the frontend's state (watch_otherend: "%s/%s",
			// dev->otherend, "state"), the bus watch on "backend" only
			// probes new nodes or cleans up removed ones
			// (xenbus_dev_changed), and xenbus_dev_is_online is read only
			// inside frontend_changed. Linux 6.1 and 6.12. The model's
			// level-triggered guards would let the unregister fire on the
			// write of online = 0; the cached want state stands for "this
			// Closed was handled" (fidelity issue 10, item 6).
			cases = cases[1:]
		}
		for _, c := range cases {
			g := slices.Clip(append(append([]model.Cond(nil), c.cond...), model.VarEq(want, uint8(from))))
			desc := fmt.Sprintf("frontend_changed: set_backend_state(Closed) (be->state %s), device_unregister; netback_remove removes hotplug-status", from)
			dr.unregister(c.name, desc, append(g, direct), append(append(append([]model.Op(nil), c.read...), writes...), model.Rm(dev.Hotplug)),
				set(want, model.StateInitialising))
			dr.unregister(c.name+", deferred", desc+"; writes deferred by the hotplug-status watch: none",
				append(g, deferred), append(append([]model.Op(nil), c.read...), model.Rm(dev.Hotplug)),
				set(want, model.StateInitialising), model.Set{Var: hpwatch, Val: 0})
		}
	}
	dr.on("sees bad state", "frontend in InitWait or Reconfigured: xenbus_dev_fatal → Closing",
		and(model.StateIn(fe, model.StateInitWait, model.StateReconfigured), cachedNotIn(dr.cached, model.StateClosing)),
		ops(model.Read(fe), dr.switchTo(be, model.StateClosing)))
	dr.unregister("directory removed", "own directory gone (xenbus_dev_changed): device_unregister; netback_remove's rm of hotplug-status finds nothing",
		and(model.IsAbsent(dev.BEDir)), ops(model.Read(be)), set(want, model.StateInitialising), model.Set{Var: hpwatch, Val: 0})
	return a.Index()
}

func genericBack(b *model.Builder, di int, name string, start Bound) int {
	dev := b.Sys().Devices[di]
	dr := newDriver(b, di, name, model.Backend, dev.BEDom, start)
	a := dr.a
	on := uint8(0)
	if start.Bound && start.Cached == model.StateConnected {
		on = 1
	}
	gate := a.Var("gate", on, "no", "yes")   // physical-device processed
	rings := a.Var("rings", on, "no", "yes") // connect_ring done
	be, fe := dev.BEState, dev.FEState
	gatePath := b.BEKey(di, "physical-device")
	gateCond := model.Present(gatePath)
	gateDesc := "physical-device written (backend_changed → xen_vbd_create)"
	frontendKey := b.BEKey(di, "frontend")
	online := b.BEKey(di, "online")
	one := b.Value("1")
	set := func(v model.VarID, x uint8) model.Set { return model.Set{Var: v, Val: x} }
	connect := ops(model.TxnStart(), model.Write(b.BEKey(di, "sectors"), b.Value("2097152")), model.TxnCommit(), dr.switchTo(be, model.StateConnected))
	readRing := ops(model.Read(fe), model.Read(b.FEKey(di, "ring-ref")), model.Read(b.FEKey(di, "event-channel")))
	S := func(x model.XenbusState) model.Value { return x.Value() }

	// A backend node without frontend, frontend-id or frontend directory
	// is not registered at all, so nothing is written and the node is
	// probed again on a later change (xenbus_dev_changed finds no device):
	// xenbus_probe_node → backend_bus_id "err = xenbus_gather(XBT_NIL,
	// nodename, "frontend-id", "%i", &domid, "frontend", NULL, &frontend,
	// NULL); if (err) return err; ... if (!err && !xenbus_exists(XBT_NIL,
	// frontend, "")) err = -ENOENT;" (drivers/xen/xenbus/
	// xenbus_probe_backend.c, Linux 6.1 and 6.12). Hence the guard.
	dr.probe("probe", "discovered with state Initialising: probe, watch the gate, switch to InitWait",
		and(model.Eq(be, S(model.StateInitialising)), model.Present(frontendKey), model.Present(b.BEKey(di, "frontend-id")), model.Present(dev.FEDir)),
		ops(model.Read(be), model.Read(frontendKey), model.Read(b.BEKey(di, "frontend-id")), dr.switchTo(be, model.StateInitWait)),
		set(gate, 0), set(rings, 0))

	// The gate: blkback's physical-device watch.
	dr.on("gate", gateDesc+"; rings not mapped yet",
		and(model.VarEq(gate, 0), gateCond, model.VarEq(rings, 0)),
		ops(model.Read(gatePath)), set(gate, 1))
	dr.on("gate, connect", gateDesc+"; rings mapped: connect → Connected",
		and(model.VarEq(gate, 0), gateCond, model.VarEq(rings, 1), cachedNotIn(dr.cached, model.StateConnected)),
		append(ops(model.Read(gatePath)), connect...), set(gate, 1))
	// connect's failures (fail.go): a start or write fails → Closing,
	// nothing written; the commit fails → Closing, then Connected.
	connectFails := func(name, desc string, guard []model.Cond, os []model.Op, sets ...model.Set) {
		dr.onFails(name, "connect's write fails", desc+"; a request of connect's transaction fails: xenbus_dev_fatal → Closing, abort",
			guard, failTxn(os, false, dr.switchTo(be, model.StateClosing)), sets...)
		dr.onFails(name, "connect's commit fails", desc+"; connect's commit fails: xenbus_dev_fatal → Closing, then xenbus_switch_state → Connected, nothing committed",
			guard, failTxn(os, true, dr.switchTo(be, model.StateClosing)), sets...)
	}
	connectFails("gate, connect", gateDesc+"; rings mapped",
		and(model.VarEq(gate, 0), gateCond, model.VarEq(rings, 1), cachedNotIn(dr.cached, model.StateConnected)),
		append(ops(model.Read(gatePath)), connect...), set(gate, 1))

	dr.on("sees Initialising, reconnect", "frontend Initialising while Closed: prepare for reconnect → InitWait",
		and(model.Eq(fe, S(model.StateInitialising)), model.VarEq(dr.cached, uint8(model.StateClosed))),
		ops(model.Read(fe), dr.switchTo(be, model.StateInitWait)))
	dr.on("sees Initialised/Connected", "connect_ring; the gate is not open yet",
		and(model.StateIn(fe, model.StateInitialised, model.StateConnected), cachedNotIn(dr.cached, model.StateConnected), model.VarEq(rings, 0), model.VarEq(gate, 0)),
		readRing, set(rings, 1))
	dr.on("sees Initialised/Connected, connect", "connect_ring; gate open: connect → Connected",
		and(model.StateIn(fe, model.StateInitialised, model.StateConnected), cachedNotIn(dr.cached, model.StateConnected), model.VarEq(rings, 0), model.VarEq(gate, 1)),
		append(readRing, connect...), set(rings, 1))
	connectFails("sees Initialised/Connected, connect", "connect_ring; gate open",
		and(model.StateIn(fe, model.StateInitialised, model.StateConnected), cachedNotIn(dr.cached, model.StateConnected), model.VarEq(rings, 0), model.VarEq(gate, 1)),
		append(readRing, connect...), set(rings, 1))
	dr.on("sees Closing", "frontend Closing → Closing",
		and(model.Eq(fe, S(model.StateClosing)), cachedNotIn(dr.cached, model.StateClosing)),
		ops(model.Read(fe), dr.switchTo(be, model.StateClosing)))
	dr.on("sees Closed, online", "frontend Closed: disconnect → Closed; online == 1, stay for a reconnect",
		and(model.Eq(fe, S(model.StateClosed)), cachedNotIn(dr.cached, model.StateClosed), model.Eq(online, one)),
		ops(model.Read(fe), model.Read(online), dr.switchTo(be, model.StateClosed)), set(rings, 0))
	// Not while cached Closed: that Closed was handled with online 1, and a
	// change of online alone is no event for the driver (its otherend
	// watch is on the frontend's state; the bus watch's xenbus_dev_changed
	// only probes new nodes or cleans up removed ones; xenbus_dev_is_online
	// is read only in frontend_changed: drivers/xen/xenbus/xenbus_probe.c,
	// xenbus_probe_backend.c, drivers/block/xen-blkback/xenbus.c
	// frontend_changed "case XenbusStateClosed: xen_blkif_disconnect(be->blkif);
	// xenbus_switch_state(dev, XenbusStateClosed); if (xenbus_dev_is_online(dev))
	// break; fallthrough; case XenbusStateUnknown: device_unregister(&dev->dev);",
	// Linux 6.1 and 6.12). Fidelity issue 10, item 6.
	dr.unregister("sees Closed, offline", "frontend Closed: disconnect → Closed; online != 1: device_unregister",
		and(model.Eq(fe, S(model.StateClosed)), cachedNotIn(dr.cached, model.StateClosed), model.In(online, model.Absent, b.Value("0"))),
		ops(model.Read(fe), model.Read(online), dr.switchTo(be, model.StateClosed)))
	unknownCases(dr, be, fe, "frontend gone: device_unregister; xenbus_dev_remove switches to Closed only if the node reads Closing (allow_rebind)", true)
	dr.on("sees bad state", "frontend in InitWait/Reconfiguring/Reconfigured: xenbus_dev_fatal → Closing",
		and(model.StateIn(fe, model.StateInitWait, model.StateReconfiguring, model.StateReconfigured), cachedNotIn(dr.cached, model.StateClosing)),
		ops(model.Read(fe), dr.switchTo(be, model.StateClosing)))
	dr.unregister("directory removed", "own directory gone (xenbus_dev_changed): device_unregister, nothing written",
		and(model.IsAbsent(dev.BEDir)), ops(model.Read(be)))
	return a.Index()
}

// Pciback adds the pciback driver of device di
// (drivers/xen/xen-pciback/xenbus.c; xenbus-protocol.md 4.1, "pciback").
// slots is how many dev-N/state-N slots the scenario can use.
func Pciback(b *model.Builder, di int, start Bound, slots int) int {
	dev := b.Sys().Devices[di]
	dr := newDriver(b, di, "pciback", model.Backend, dev.BEDom, start)
	be, fe := dev.BEState, dev.FEState
	S := func(x model.XenbusState) model.Value { return x.Value() }
	frontendKey := b.BEKey(di, "frontend")
	online := b.BEKey(di, "online")
	numDevs := b.BEKey(di, "num_devs")
	one, three, five, six := b.Value("1"), b.Value("3"), b.Value("5"), b.Value("6")
	var export, reconf []model.Op
	export = append(export, model.Read(numDevs))
	reconf = append(reconf, model.Read(fe), model.Read(be), model.Read(numDevs))
	for i := 0; i < slots; i++ {
		st := b.BEKey(di, "state-"+itoa(i))
		export = append(export, model.Replace(st, one, three))
		reconf = append(reconf, model.Replace(st, one, three), model.Replace(st, five, six))
	}
	dr.probe("probe", "discovered with state Initialising: probe → InitWait, watch own directory",
		and(model.Eq(be, S(model.StateInitialising)), model.Present(frontendKey), model.Present(dev.FEDir)),
		ops(model.Read(be), model.Read(frontendKey), dr.switchTo(be, model.StateInitWait)))
	for _, missing := range []model.PathID{numDevs, b.BEKey(di, "dev-0")} {
		dr.on("setup backend", "xen_pcibk_setup_backend: "+b.Sys().Paths[missing].Name+" missing: xenbus_dev_fatal → Closing",
			and(model.VarEq(dr.cached, uint8(model.StateInitWait)), model.Eq(be, S(model.StateInitWait)), model.IsAbsent(missing)),
			ops(model.Read(missing), dr.switchTo(be, model.StateClosing)))
	}
	setup := and(model.VarEq(dr.cached, uint8(model.StateInitWait)), model.Eq(be, S(model.StateInitWait)), model.Present(numDevs), model.Present(b.BEKey(di, "dev-0")))
	dr.on("setup backend", "xen_pcibk_setup_backend (BE == InitWait, num_devs present): export devices, state-N := 3 → Initialised",
		setup, append(export, dr.switchTo(be, model.StateInitialised)))
	pcibackSetupFails(dr, setup, export)
	dr.on("attach", "xen_pcibk_attach (BE == Initialised, FE == Initialised): map the ring → Connected",
		and(model.VarEq(dr.cached, uint8(model.StateInitialised)), model.Eq(be, S(model.StateInitialised)), model.Eq(fe, S(model.StateInitialised))),
		ops(model.Read(be), model.Read(fe), model.Read(b.FEKey(di, "pci-op-ref")), dr.switchTo(be, model.StateConnected)))
	dr.on("sees Reconfiguring", "xen_pcibk_reconfigure (FE and BE read Reconfiguring): attach state-N == 1, detach state-N == 5 → Reconfigured",
		and(model.Eq(fe, S(model.StateReconfiguring)), model.Eq(be, S(model.StateReconfiguring))),
		append(reconf, dr.switchTo(be, model.StateReconfigured)))
	dr.on("sees Connected", "frontend Connected → Connected (after Reconfigured, or any state but Closing/Closed)",
		and(model.Eq(fe, S(model.StateConnected)), cachedNotIn(dr.cached, model.StateConnected, model.StateClosing, model.StateClosed)),
		ops(model.Read(fe), dr.switchTo(be, model.StateConnected)))
	dr.on("sees Closing", "frontend Closing: disconnect → Closing",
		and(model.Eq(fe, S(model.StateClosing)), cachedNotIn(dr.cached, model.StateClosing)),
		ops(model.Read(fe), dr.switchTo(be, model.StateClosing)))
	dr.on("sees Closed, online", "frontend Closed: disconnect → Closed; online == 1, stay",
		and(model.Eq(fe, S(model.StateClosed)), cachedNotIn(dr.cached, model.StateClosed), model.Eq(online, one)),
		ops(model.Read(fe), model.Read(online), dr.switchTo(be, model.StateClosed)))
	// Not while cached Closed: a change of online alone is no event (see
	// genericBack).
	dr.unregister("sees Closed, offline", "frontend Closed: disconnect → Closed; not online: unregister",
		and(model.Eq(fe, S(model.StateClosed)), cachedNotIn(dr.cached, model.StateClosed), model.In(online, model.Absent, b.Value("0"))),
		ops(model.Read(fe), model.Read(online), dr.switchTo(be, model.StateClosed)))
	unknownCases(dr, be, fe, "frontend gone: device_unregister; pciback does not allow rebind, so xenbus_dev_remove switches to Closed", false)
	dr.unregister("directory removed", "own directory gone: device_unregister",
		and(model.IsAbsent(dev.BEDir)), ops(model.Read(be)))
	return dr.a.Index()
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + itoa(i%10)
}

// unknownCases adds the backend's reaction to a frontend state that reads
// Unknown (missing, or "0"): device_unregister, whose xenbus_dev_remove
// switches to Closed (with the cached-state rule) when the driver does not
// allow rebinding, or when the node reads Closing (xenbus-protocol.md 3).
func unknownCases(dr *driver, be, fe model.PathID, desc string, allowRebind bool) {
	unknown := model.StateIn(fe, model.StateUnknown)
	if !allowRebind {
		dr.unregister("sees Unknown", desc, and(unknown), ops(model.Read(fe), dr.switchTo(be, model.StateClosed)))
		return
	}
	closing := model.StateClosing.Value()
	dr.unregister("sees Unknown", desc, and(unknown, model.Eq(be, closing)),
		ops(model.Read(fe), model.Read(be), dr.switchTo(be, model.StateClosed)))
	dr.unregister("sees Unknown", desc, and(unknown, model.StateNotIn(be, model.StateClosing)), ops(model.Read(fe), model.Read(be)))
}
