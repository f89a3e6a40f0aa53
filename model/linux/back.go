package linux

import "github.com/xbcheck/xbcheck/model"

// Blkback adds the blkback driver of device di, running in the backend
// domain (drivers/block/xen-blkback/xenbus.c; xenbus-protocol.md table
// 4.1), and returns the actor's index.
func Blkback(b *model.Builder, di int, start Bound) int { return genericBack(b, di, "blkback", start) }

// Netback adds the netback driver of device di
// (drivers/net/xen-netback/xenbus.c). It is blkback's machine with another
// gate: blkback connects once physical-device has been processed, netback
// once hotplug-status reads "connected" (hotplug_status_changed).
func Netback(b *model.Builder, di int, start Bound) int { return genericBack(b, di, "netback", start) }

func genericBack(b *model.Builder, di int, name string, start Bound) int {
	dev := b.Sys().Devices[di]
	dr := newDriver(b, di, name, model.Backend, dev.BEDom, start)
	a := dr.a
	on := uint8(0)
	if start.Bound && start.Cached == model.StateConnected {
		on = 1
	}
	gate := a.Var("gate", on, "no", "yes")   // physical-device processed, or hotplug-status connected
	rings := a.Var("rings", on, "no", "yes") // connect_ring done
	be, fe := dev.BEState, dev.FEState
	gatePath := b.BEKey(di, "physical-device")
	gateCond := model.Present(gatePath)
	gateDesc := "physical-device written (backend_changed → xen_vbd_create)"
	if name == "netback" {
		gatePath = dev.Hotplug
		gateCond = model.Eq(gatePath, b.Value("connected"))
		gateDesc = "hotplug-status == \"connected\" (hotplug_status_changed)"
	}
	frontendKey := b.BEKey(di, "frontend")
	online := b.BEKey(di, "online")
	one := b.Value("1")
	set := func(v model.VarID, x uint8) model.Set { return model.Set{Var: v, Val: x} }
	connect := ops(model.TxnStart(), model.Write(b.BEKey(di, "sectors"), b.Value("2097152")), model.TxnCommit(), dr.switchTo(be, model.StateConnected))
	readRing := ops(model.Read(fe), model.Read(b.FEKey(di, "ring-ref")), model.Read(b.FEKey(di, "event-channel")))
	S := func(x model.XenbusState) model.Value { return x.Value() }

	dr.probe("probe", "discovered with state Initialising: probe, watch the gate, switch to InitWait",
		and(model.Eq(be, S(model.StateInitialising)), model.Present(frontendKey), model.Present(b.BEKey(di, "frontend-id")), model.Present(dev.FEDir)),
		ops(model.Read(be), model.Read(frontendKey), model.Read(b.BEKey(di, "frontend-id")), dr.switchTo(be, model.StateInitWait)),
		set(gate, 0), set(rings, 0))

	// The gate: blkback's physical-device watch, netback's hotplug-status watch.
	dr.on("gate", gateDesc+"; rings not mapped yet",
		and(model.VarEq(gate, 0), gateCond, model.VarEq(rings, 0)),
		ops(model.Read(gatePath)), set(gate, 1))
	dr.on("gate, connect", gateDesc+"; rings mapped: connect → Connected",
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
	dr.on("sees Closing", "frontend Closing → Closing",
		and(model.Eq(fe, S(model.StateClosing)), cachedNotIn(dr.cached, model.StateClosing)),
		ops(model.Read(fe), dr.switchTo(be, model.StateClosing)))
	dr.on("sees Closed, online", "frontend Closed: disconnect → Closed; online == 1, stay for a reconnect",
		and(model.Eq(fe, S(model.StateClosed)), cachedNotIn(dr.cached, model.StateClosed), model.Eq(online, one)),
		ops(model.Read(fe), model.Read(online), dr.switchTo(be, model.StateClosed)), set(rings, 0))
	dr.unregister("sees Closed, offline", "frontend Closed: disconnect → Closed; online != 1: device_unregister",
		and(model.Eq(fe, S(model.StateClosed)), model.In(online, model.Absent, b.Value("0"))),
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
	dr.on("setup backend", "xen_pcibk_setup_backend (BE == InitWait, num_devs present): export devices, state-N := 3 → Initialised",
		and(model.VarEq(dr.cached, uint8(model.StateInitWait)), model.Eq(be, S(model.StateInitWait)), model.Present(numDevs), model.Present(b.BEKey(di, "dev-0"))),
		append(export, dr.switchTo(be, model.StateInitialised)))
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
	dr.unregister("sees Closed, offline", "frontend Closed: disconnect → Closed; not online: unregister",
		and(model.Eq(fe, S(model.StateClosed)), model.In(online, model.Absent, b.Value("0"))),
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
