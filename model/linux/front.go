package linux

import "github.com/xbcheck/xbcheck/model"

// FrontOptions tunes a frontend driver.
type FrontOptions struct {
	// RefuseClose adds old blkfront's "Device in use; refusing to close":
	// on the backend's Closing it may switch to Closing and stay there
	// (scenario fault "frontend-refuses-close").
	RefuseClose bool
}

// Blkfront adds the blkfront driver of device di, running in the guest
// (drivers/block/xen-blkfront.c; xenbus-protocol.md table 4.2). Netfront
// has a machine of its own (Netfront).
func Blkfront(b *model.Builder, di int, start Bound, opt FrontOptions) int {
	return genericFront(b, di, "blkfront", start, opt)
}

// Netfront adds the netfront driver of device di
// (drivers/net/xen-netfront.c netback_changed, Linux 6.1), checked against
// a real Xen 4.17 host (docs/realhost.md): on the backend's InitWait, and
// only while its own state is Initialising, talk_to_netback publishes the
// rings and event channels in one transaction and the driver switches
// straight to Connected: it never writes Initialised. The backend's
// Connected changes nothing (netdev_notify_peers), so a netfront that
// missed InitWait stays Initialising. Closing, or Closed while not Closed
// itself, makes it xenbus_frontend_closed → Closed. A netfront never
// refuses to close.
func Netfront(b *model.Builder, di int, start Bound, _ FrontOptions) int {
	dev := b.Sys().Devices[di]
	dr := newDriver(b, di, "netfront", model.Frontend, dev.FEDom, start)
	be, fe := dev.BEState, dev.FEState
	S := func(x model.XenbusState) model.Value { return x.Value() }
	backendKey := b.FEKey(di, "backend")
	dr.probe("probe", "netfront_probe: discovered with state Initialising; stay Initialising",
		and(model.Eq(fe, S(model.StateInitialising)), model.Present(backendKey), model.Present(b.FEKey(di, "backend-id")), model.Present(dev.BEDir)),
		ops(model.Read(fe), model.Read(backendKey), model.Read(b.FEKey(di, "backend-id"))))
	probeFails(dr, fe, dev.BEDir, backendKey, b.FEKey(di, "backend-id"))
	talk := ops(model.TxnStart(),
		model.Write(b.FEKey(di, "tx-ring-ref"), b.Value("8")), model.Write(b.FEKey(di, "rx-ring-ref"), b.Value("9")),
		model.Write(b.FEKey(di, "event-channel-tx"), b.Value("17")), model.Write(b.FEKey(di, "event-channel-rx"), b.Value("18")),
		model.TxnCommit(), dr.switchTo(fe, model.StateConnected))
	dr.on("sees InitWait", "xennet_connect: talk_to_netback publishes the rings and event channels in one transaction → Connected",
		and(model.Eq(be, S(model.StateInitWait)), model.VarEq(dr.cached, uint8(model.StateInitialising))),
		append(ops(model.Read(be)), talk...))
	netfrontTalkFails(dr, be, fe, and(model.Eq(be, S(model.StateInitWait)), model.VarEq(dr.cached, uint8(model.StateInitialising))),
		append(ops(model.Read(be)), talk...))
	dr.on("sees Closing", "xenbus_frontend_closed → Closed",
		and(model.Eq(be, S(model.StateClosing)), cachedNotIn(dr.cached, model.StateClosed)),
		ops(model.Read(be), dr.switchTo(fe, model.StateClosed)))
	dr.on("sees Closed", "backend Closed, Closing missed: xenbus_frontend_closed → Closed",
		and(model.Eq(be, S(model.StateClosed)), cachedNotIn(dr.cached, model.StateClosed)),
		ops(model.Read(be), dr.switchTo(fe, model.StateClosed)))
	dr.unregister("directory removed", "own directory gone: device_unregister → xennet_remove",
		and(model.IsAbsent(dev.FEDir)), ops(model.Read(fe)))
	return dr.a.Index()
}

func genericFront(b *model.Builder, di int, name string, start Bound, opt FrontOptions) int {
	dev := b.Sys().Devices[di]
	dr := newDriver(b, di, name, model.Frontend, dev.FEDom, start)
	be, fe := dev.BEState, dev.FEState
	S := func(x model.XenbusState) model.Value { return x.Value() }
	backendKey := b.FEKey(di, "backend")
	talk := ops(model.TxnStart(), model.Write(b.FEKey(di, "ring-ref"), b.Value("8")), model.Write(b.FEKey(di, "event-channel"), b.Value("17")), model.TxnCommit(), dr.switchTo(fe, model.StateInitialised))
	sectors := b.BEKey(di, "sectors")
	conn := ops(model.Read(sectors), dr.switchTo(fe, model.StateConnected))

	dr.probe("probe", "discovered with state Initialising: read virtual-device and the backend; stay Initialising",
		and(model.Eq(fe, S(model.StateInitialising)), model.Present(backendKey), model.Present(b.FEKey(di, "backend-id")), model.Present(dev.BEDir)),
		ops(model.Read(fe), model.Read(backendKey), model.Read(b.FEKey(di, "backend-id"))))
	probeFails(dr, fe, dev.BEDir, backendKey, b.FEKey(di, "backend-id"))
	dr.on("sees InitWait", "talk_to_blkback: one transaction publishes ring-ref and event-channel → Initialised",
		and(model.Eq(be, S(model.StateInitWait)), model.VarEq(dr.cached, uint8(model.StateInitialising))),
		append(ops(model.Read(be)), talk...))
	talkFails := "talk_to_blkback: a request of the ring transaction fails (start, ring-ref, event-channel, protocol, or the commit): abort, xenbus_dev_fatal → Closing (fail.go)"
	dr.onFails("sees InitWait", "ring transaction fails", talkFails,
		and(model.Eq(be, S(model.StateInitWait)), model.VarEq(dr.cached, uint8(model.StateInitialising))),
		failTxn(append(ops(model.Read(be)), talk...), false, dr.switchTo(fe, model.StateClosing)))
	notConnecting := cachedNotIn(dr.cached, model.StateInitialised, model.StateConnected)
	if opt.RefuseClose {
		// A frontend refusing to close stays Closing until released.
		notConnecting = cachedNotIn(dr.cached, model.StateInitialised, model.StateConnected, model.StateClosing)
	}
	dr.on("sees Connected, catch up", "backend Connected while not Initialised/Connected: talk_to_blkback first, then connect → Connected",
		and(model.Eq(be, S(model.StateConnected)), notConnecting, model.Present(sectors)),
		append(append(ops(model.Read(be)), talk...), conn...))
	dr.onFails("sees Connected, catch up", "ring transaction fails", talkFails+"; blkback_changed breaks before blkfront_connect",
		and(model.Eq(be, S(model.StateConnected)), notConnecting, model.Present(sectors)),
		failTxn(append(append(ops(model.Read(be)), talk...), conn...), false, dr.switchTo(fe, model.StateClosing)))
	dr.on("sees Connected", "blkfront_connect: read sectors → Connected",
		and(model.Eq(be, S(model.StateConnected)), model.VarEq(dr.cached, uint8(model.StateInitialised)), model.Present(sectors)),
		append(ops(model.Read(be)), conn...))
	dr.on("sees Connected", "blkfront_connect: sectors missing: xenbus_dev_fatal → Closing",
		and(model.Eq(be, S(model.StateConnected)), model.VarEq(dr.cached, uint8(model.StateInitialised)), model.IsAbsent(sectors)),
		ops(model.Read(be), model.Read(sectors), dr.switchTo(fe, model.StateClosing)))
	dr.on("sees Closing", "blkfront_closing → xenbus_frontend_closed → Closed",
		and(model.Eq(be, S(model.StateClosing)), cachedNotIn(dr.cached, model.StateClosing, model.StateClosed)),
		ops(model.Read(be), dr.switchTo(fe, model.StateClosed)))
	if opt.RefuseClose {
		t := model.Transition{Name: "sees Closing, in use", Desc: "old blkfront: device in use; refusing to close → Closing",
			From: dr.bound, To: model.SameLoc, Fault: "frontend-refuses-close",
			Guard: and(model.StateIn(be, model.StateClosing, model.StateClosed), cachedNotIn(dr.cached, model.StateClosing, model.StateClosed)),
			Ops:   ops(model.Read(be), dr.switchTo(fe, model.StateClosing))}
		dr.a.T(t)
	}
	dr.on("sees Closed", "backend Closed, Closing missed → Closed",
		and(model.Eq(be, S(model.StateClosed)), cachedNotIn(dr.cached, model.StateClosing, model.StateClosed)),
		ops(model.Read(be), dr.switchTo(fe, model.StateClosed)))
	dr.unregister("directory removed", "own directory gone: device_unregister → blkfront_remove",
		and(model.IsAbsent(dev.FEDir)), ops(model.Read(fe)))
	return dr.a.Index()
}

// Pcifront adds the pcifront driver of device di (drivers/pci/xen-pcifront.c;
// xenbus-protocol.md 4.2, "pcifront").
func Pcifront(b *model.Builder, di int, start Bound) int {
	dev := b.Sys().Devices[di]
	dr := newDriver(b, di, "pcifront", model.Frontend, dev.FEDom, start)
	be, fe := dev.BEState, dev.FEState
	S := func(x model.XenbusState) model.Value { return x.Value() }
	backendKey := b.FEKey(di, "backend")
	probeFails(dr, fe, dev.BEDir, backendKey)
	publish := ops(model.Read(fe), model.Read(backendKey), model.TxnStart(), model.Write(b.FEKey(di, "pci-op-ref"), b.Value("8")),
		model.Write(b.FEKey(di, "event-channel"), b.Value("17")), model.TxnCommit(), dr.switchTo(fe, model.StateInitialised))
	canProbe := and(model.Eq(fe, S(model.StateInitialising)), model.Present(backendKey), model.Present(dev.BEDir))
	dr.probe("probe", "pcifront_publish_info: one transaction writes pci-op-ref, event-channel, magic → Initialised", canProbe, publish)
	probeTxnFails(dr, "pcifront_publish_info", canProbe, publish)
	dr.on("sees Connected", "pcifront_try_connect (FE == Initialised): scan the roots → Connected",
		and(model.Eq(be, S(model.StateConnected)), model.VarEq(dr.cached, uint8(model.StateInitialised))),
		ops(model.Read(be), dr.switchTo(fe, model.StateConnected)))
	dr.on("sees Closing/Closed", "pcifront_try_disconnect → Closed",
		and(model.StateIn(be, model.StateClosing, model.StateClosed), cachedNotIn(dr.cached, model.StateClosed)),
		ops(model.Read(be), dr.switchTo(fe, model.StateClosed)))
	dr.on("sees Reconfiguring", "pcifront_detach_devices (FE == Connected) → Reconfiguring",
		and(model.Eq(be, S(model.StateReconfiguring)), model.VarEq(dr.cached, uint8(model.StateConnected))),
		ops(model.Read(be), dr.switchTo(fe, model.StateReconfiguring)))
	dr.on("sees Reconfigured", "pcifront_attach_devices (FE == Reconfiguring) → Connected",
		and(model.Eq(be, S(model.StateReconfigured)), model.VarEq(dr.cached, uint8(model.StateReconfiguring))),
		ops(model.Read(be), dr.switchTo(fe, model.StateConnected)))
	dr.unregister("directory removed", "own directory gone: device_unregister",
		and(model.IsAbsent(dev.FEDir)), ops(model.Read(fe)))
	return dr.a.Index()
}

// Kbdfront adds the kbdfront driver (drivers/input/misc/xen-kbdfront.c), and
// Fbfront the fbfront driver (drivers/video/fbdev/xen-fbfront.c):
// xenbus-protocol.md 4.2, "kbdfront" and "fbfront".
func Kbdfront(b *model.Builder, di int, start Bound) int { return pvFront(b, di, "kbdfront", start) }

// Fbfront adds the fbfront driver; see Kbdfront.
func Fbfront(b *model.Builder, di int, start Bound) int { return pvFront(b, di, "fbfront", start) }

func pvFront(b *model.Builder, di int, name string, start Bound) int {
	dev := b.Sys().Devices[di]
	dr := newDriver(b, di, name, model.Frontend, dev.FEDom, start)
	be, fe := dev.BEState, dev.FEState
	S := func(x model.XenbusState) model.Value { return x.Value() }
	backendKey := b.FEKey(di, "backend")
	req := b.FEKey(di, "request-abs-pointer")
	if name == "fbfront" {
		req = b.FEKey(di, "feature-update")
	}
	probeFails(dr, fe, dev.BEDir, backendKey)
	publish := ops(model.Read(fe), model.Read(backendKey), model.TxnStart(), model.Write(b.FEKey(di, "page-ref"), b.Value("8")),
		model.Write(b.FEKey(di, "event-channel"), b.Value("17")))
	var onInitWait []model.Op
	if name == "fbfront" {
		publish = append(publish, model.Write(req, b.Value("1"))) // xenfb_connect_backend writes feature-update
	} else {
		onInitWait = append(onInitWait, model.Write(req, b.Value("1"))) // request-abs-pointer on InitWait
	}
	publish = append(publish, model.TxnCommit(), dr.switchTo(fe, model.StateInitialised))
	canProbe := and(model.Eq(fe, S(model.StateInitialising)), model.Present(backendKey), model.Present(dev.BEDir))
	dr.probe("probe", "connect_backend: publish page-ref and event-channel → Initialised", canProbe, publish)
	probeTxnFails(dr, map[string]string{"kbdfront": "xenkbd_connect_backend", "fbfront": "xenfb_connect_backend"}[name], canProbe, publish)
	dr.on("sees InitWait", "backend InitWait → Connected",
		and(model.Eq(be, S(model.StateInitWait)), cachedNotIn(dr.cached, model.StateConnected)),
		append(append(ops(model.Read(be)), onInitWait...), dr.switchTo(fe, model.StateConnected)))
	dr.on("sees Connected", "backend Connected, InitWait not seen (\"we can get Connected twice\") → Connected",
		and(model.Eq(be, S(model.StateConnected)), cachedNotIn(dr.cached, model.StateConnected)),
		ops(model.Read(be), dr.switchTo(fe, model.StateConnected)))
	dr.on("sees Closing/Closed", "xenbus_frontend_closed → Closed",
		and(model.StateIn(be, model.StateClosing, model.StateClosed), cachedNotIn(dr.cached, model.StateClosed)),
		ops(model.Read(be), dr.switchTo(fe, model.StateClosed)))
	dr.unregister("directory removed", "own directory gone: device_unregister",
		and(model.IsAbsent(dev.FEDir)), ops(model.Read(fe)))
	return dr.a.Index()
}

// probeFails adds the failed probe of a frontend: talk_to_otherend finds a
// missing backend key or a missing backend directory
// (xenbus_read_otherend_details: "xenbus_dev_fatal(xendev, err, "reading
// other end details from %s", ...)" when xenbus_gather fails,
// "xenbus_dev_fatal(xendev, -ENOENT, "unable to read other end from %s.
// missing or inaccessible.", ...)" when the backend directory does not
// exist), and xenbus_dev_fatal switches to Closing; xenbus_dev_probe
// returns the error (drivers/xen/xenbus/xenbus_probe.c, Linux 6.1 and
// 6.12). The device stays registered without a driver and is never probed
// again until its directory goes (driver.probeFailed). The driver's cached
// state is reset: no driver case reads it again before the device is
// unregistered.
func probeFails(dr *driver, fe, beDir model.PathID, keys ...model.PathID) {
	init := model.Eq(fe, model.StateInitialising.Value())
	reset := model.Set{Var: dr.cached, Val: uint8(model.StateInitialising)}
	failed := dr.probeFailed(dr.d.FEDir)
	for _, k := range append(keys, beDir) {
		dr.a.T(model.Transition{Name: "probe", Desc: "talk_to_otherend: " + dr.b.Sys().Paths[k].Name + " missing: xenbus_dev_fatal → Closing; the device stays registered, unprobed",
			From: dr.unbound, To: failed, Guard: and(init, model.IsAbsent(k)),
			Ops: ops(model.Read(fe), model.Read(k), dr.switchTo(fe, model.StateClosing)), Sets: []model.Set{reset}})
	}
}
