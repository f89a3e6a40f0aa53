package linux

import (
	"fmt"

	"github.com/xbcheck/xbcheck/model"
)

// Failing requests (model.RequestFailFault) of the drivers' own
// transactions, beside the xenbus_switch_state failures model.Builder
// adds for every driver (model/fail.go). Each variant shares the one
// failure of the run (model.Builder.RequestFails) and exists only when
// the fault is allowed. The handling is Linux 6.1's:
//
//   - blkfront's talk_to_blkback (drivers/block/xen-blkfront.c): a failed
//     xenbus_transaction_start ("xenbus_dev_fatal(dev, err, "starting
//     transaction"); goto destroy_blkring;"), a failed write of ring-ref or
//     event-channel (write_per_ring_nodes: "message = "writing ring-ref";
//     goto abort_transaction; ... xenbus_transaction_end(xbt, 1); if
//     (message) xenbus_dev_fatal(info->xbdev, err, "%s", message);") or of
//     protocol (the same in talk_to_blkback), and a commit failing other
//     than with EAGAIN ("xenbus_dev_fatal(dev, err, "completing
//     transaction"); goto destroy_blkring;") all end in xenbus_dev_fatal,
//     a switch to Closing, with nothing of the transaction written and no
//     switch to Initialised; talk_to_blkback returns the error and
//     blkback_changed breaks (the catch-up from Connected does not
//     connect either). A failed write of feature-persistent is only a
//     dev_warn (not a modelled key);
//   - blkback's connect (drivers/block/xen-blkback/xenbus.c): a failed
//     start ("xenbus_dev_fatal(dev, err, "starting transaction");
//     return;") or write of feature-persistent, sectors, info or
//     sector-size ("xenbus_dev_fatal(...); goto abort;" → "abort:
//     xenbus_transaction_end(xbt, 1);") switches to Closing and writes
//     nothing; a commit failing other than with EAGAIN is
//     "xenbus_dev_fatal(dev, err, "ending transaction");" and then, with
//     nothing committed, "err = xenbus_switch_state(dev,
//     XenbusStateConnected);": Closing, then Connected without sectors.
//     physical-sector-size's failure is a xenbus_dev_error only.

// failTxn returns os with the driver transaction (OpTxnStart to
// OpTxnCommit) replaced by fatal, and what followed it kept (keep) or
// dropped.
func failTxn(os []model.Op, keep bool, fatal ...model.Op) []model.Op {
	start, end := -1, -1
	for i, op := range os {
		if op.Kind == model.OpTxnStart && start < 0 {
			start = i
		}
		if op.Kind == model.OpTxnCommit && start >= 0 && end < 0 {
			end = i
		}
	}
	if start < 0 || end < 0 {
		return nil
	}
	out := append(append([]model.Op(nil), os[:start]...), fatal...)
	if keep {
		out = append(out, os[end+1:]...)
	}
	return out
}

// onFails adds, when the fault is allowed, the variant of the bound case
// name whose transaction fails: its ops are os with the transaction
// replaced (failTxn), under the shared budget.
func (dr *driver) onFails(name, how, desc string, guard []model.Cond, os []model.Op, sets ...model.Set) {
	if !dr.b.Allowed(model.RequestFailFault) || os == nil {
		return
	}
	dr.a.T(dr.b.RequestFails(model.Transition{Name: name + " (" + how + ")", Desc: desc,
		From: dr.bound, To: model.SameLoc, Guard: guard, Ops: os, Sets: sets}))
}

// netbackProbeFails adds the failed requests of netback_probe
// (drivers/net/xen-netback/xenbus.c, Linux 6.1), from the unbound
// location to probe-failed, with sets applied:
//
//   - the feature transaction (start; the writes of feature-sg,
//     feature-gso-tcpv4, feature-gso-tcpv6, feature-ipv6-csum-offload,
//     feature-rx-copy, feature-xdp-headroom, feature-rx-flip,
//     feature-multicast-control, feature-dynamic-multicast-control; the
//     commit other than EAGAIN): "xenbus_dev_fatal(dev, err, "starting
//     transaction"); goto fail;", "abort_transaction:
//     xenbus_transaction_end(xbt, 1); xenbus_dev_fatal(dev, err, "%s",
//     message);", "xenbus_dev_fatal(dev, err, "completing transaction");
//     goto fail;": Closing written, before InitWait;
//   - after "backend_switch_state(be, XenbusStateInitWait);", the XBT_NIL
//     read of script ("xenbus_dev_fatal(dev, err, "reading script"); goto
//     fail;") or backend_create_xenvif's read of handle
//     ("xenbus_dev_fatal(dev, err, "reading handle");"): InitWait, then
//     Closing.
//
// Both end in "fail: netback_remove(dev); return err;". Linux 6.1's
// netback_remove is "unregister_hotplug_status_watch(be);
// xenbus_rm(XBT_NIL, dev->nodename, "hotplug-status"); if (be->vif) {...}":
// no set_backend_state, so nothing more is written ("xen-netback:
// support dynamic unbind/bind", Linux 5.6, removed it; the transition
// "probe, script missing" writes Closed as well, as netback_remove did
// before 5.6; docs/model.md "Failing requests" says so). The
// three XBT_NIL writes between the two (feature-split-event-channels,
// multi-queue-max-queues, feature-ctrl-ring) are only pr_debug on failure
// and no modelled key.
func netbackProbeFails(dr *driver, guard []model.Cond, probeReads []model.Op, script, hotplug model.PathID, sets ...model.Set) {
	if !dr.b.Allowed(model.RequestFailFault) {
		return
	}
	be := dr.d.BEState
	failed := dr.probeFailed(dr.d.BEDir)
	// probeReads: the reads of the node, frontend and frontend-id, the
	// switch to InitWait, the read of script.
	var before []model.Op
	for _, op := range probeReads {
		if op.Kind == model.OpSwitchState {
			break
		}
		before = append(before, op)
	}
	dr.a.T(dr.b.RequestFails(model.Transition{Name: "probe (feature transaction fails)",
		Desc: "netback_probe: a request of the feature transaction fails: xenbus_dev_fatal → Closing, netback_remove removes hotplug-status; the probe fails, the device stays registered",
		From: dr.unbound, To: failed, Guard: guard,
		Ops: append(append([]model.Op(nil), before...), dr.switchTo(be, model.StateClosing), model.Rm(hotplug)), Sets: sets}))
	dr.a.T(dr.b.RequestFails(model.Transition{Name: "probe (reading script or handle fails)",
		Desc: "netback_probe: InitWait, then the read of script or handle fails: xenbus_dev_fatal → Closing, netback_remove removes hotplug-status; the probe fails, the device stays registered",
		From: dr.unbound, To: failed, Guard: append(append([]model.Cond(nil), guard...), model.Present(script)),
		Ops: append(append([]model.Op(nil), probeReads...), dr.switchTo(be, model.StateClosing), model.Rm(hotplug)), Sets: sets}))
}

// netbackConnectFails adds, for a set_backend_state(Connected) case of
// netback (reads and the writes on the way to InitWait given), the
// variants where a request of connect() fails (drivers/net/xen-netback/
// xenbus.c, Linux 6.1). set_backend_state's InitWait → Connected step is
// "backend_connect(be); backend_switch_state(be, XenbusStateConnected);",
// and connect returns nothing, so the switch to Connected is made
// whatever connect did:
//
//   - a read fails: xen_net_read_mac's read of mac ("xenbus_dev_fatal(dev,
//     err, "parsing %s/mac", dev->nodename); return;"), connect_data_rings'
//     xenbus_gather of tx-ring-ref and rx-ring-ref or its reads of the
//     event channels ("xenbus_dev_fatal(dev, err, "reading %s/ring-ref",
//     xspath); goto err;"), connect_ctrl_ring's read of event-channel-ctrl:
//     xenbus_dev_fatal writes Closing, connect returns before registering
//     the hotplug-status watch, and backend_switch_state, with no watch to
//     defer to, writes Connected: a backend Connected without its rings
//     mapped;
//   - read_xenbus_vif_flags' read of request-rx-copy fails other than
//     with ENOENT: "xenbus_dev_fatal(dev, err, "reading
//     %s/request-rx-copy", dev->otherend); return err;", which connect
//     ignores ("read_xenbus_vif_flags(be);"): Closing written, the rings
//     mapped and the hotplug-status watch registered, Connected deferred
//     as without a failure (the feature reads after it are
//     xenbus_read_unsigned, whose failure is the default);
//   - the WATCH of hotplug-status fails ("err = xenbus_watch_pathfmt(...);
//     if (!err) be->have_hotplug_status_watch = 1;"): nothing deferred,
//     Connected written at once, before the hotplug script's "connected".
func netbackConnectFails(dr *driver, be model.PathID, name, desc string, guard []model.Cond, reads, writes []model.Op, sets, deferred []model.Set) {
	if !dr.b.Allowed(model.RequestFailFault) {
		return
	}
	pre := append(append([]model.Op(nil), reads...), writes...)
	dr.a.T(dr.b.RequestFails(model.Transition{Name: name + " (connect's read fails)",
		Desc: desc + "; a read of connect fails: xenbus_dev_fatal → Closing, no hotplug-status watch, backend_switch_state → Connected",
		From: dr.bound, To: model.SameLoc, Guard: guard,
		Ops: append(append([]model.Op(nil), pre...), dr.switchTo(be, model.StateClosing), dr.switchTo(be, model.StateConnected)), Sets: sets}))
	dr.a.T(dr.b.RequestFails(model.Transition{Name: name + " (request-rx-copy read fails)",
		Desc: desc + "; read_xenbus_vif_flags' read of request-rx-copy fails: xenbus_dev_fatal → Closing, ignored by connect: the watch is registered, Connected deferred",
		From: dr.bound, To: model.SameLoc, Guard: guard,
		Ops: append(append([]model.Op(nil), pre...), dr.switchTo(be, model.StateClosing)), Sets: deferred}))
	dr.a.T(dr.b.RequestFails(model.Transition{Name: name + " (hotplug-status watch fails)",
		Desc: desc + "; the WATCH of hotplug-status fails: nothing deferred, backend_switch_state → Connected before the script's \"connected\"",
		From: dr.bound, To: model.SameLoc, Guard: guard,
		Ops: append(append([]model.Op(nil), pre...), dr.switchTo(be, model.StateConnected)), Sets: sets}))
}

// netfrontTalkFails adds the failure of a request of talk_to_netback
// (drivers/net/xen-netfront.c, Linux 6.1), called by xennet_connect from
// netback_changed(InitWait) in the xenwatch thread: the XBT_NIL read of
// mac ("xenbus_dev_fatal(dev, err, "parsing %s/mac", dev->nodename); goto
// out_unlocked;"), the transaction's start ("xenbus_dev_fatal(dev, err,
// "starting transaction"); goto destroy_ring;"), its writes
// (write_queue_xenstore_keys' tx-ring-ref, rx-ring-ref, event-channel(-tx,
// -rx): xenbus_dev_fatal there, then "goto
// abort_transaction_no_dev_fatal"; request-rx-copy, feature-rx-notify,
// feature-sg, feature-gso-tcpv4, feature-gso-tcpv6,
// feature-ipv6-csum-offload: "goto abort_transaction" →
// xenbus_dev_fatal; multi-queue-num-queues: no xenbus_dev_fatal) and its
// commit other than EAGAIN ("xenbus_dev_fatal(dev, err, "completing
// transaction"); goto destroy_ring;") all end in "out_unlocked:
// device_unregister(&dev->dev);", nothing of the transaction written.
// device_unregister runs xennet_remove → xennet_bus_close in the xenwatch
// thread:
//
//	if (xenbus_read_driver_state(dev->otherend) == XenbusStateClosed) return;
//	do { xenbus_switch_state(dev, XenbusStateClosing); wait_event_timeout(
//	     ... otherend Closing || Closed || Unknown, XENNET_TIMEOUT); } while (!ret);
//	if (xenbus_read_driver_state(dev->otherend) == XenbusStateClosed) return;
//	do { xenbus_switch_state(dev, XenbusStateClosed); wait_event_timeout(
//	     ... otherend Closed || Unknown, XENNET_TIMEOUT); } while (!ret);
//
// then xenbus_dev_remove, which switches to Closed (netfront does not
// allow rebind). The model has this as two locations: bus-close-closing
// (Closing written, by xenbus_dev_fatal or by the loop: one write, as the
// cached state makes the loop's switch nothing) and bus-close-closed, each
// left when the backend's state reads what the wait wants; the wait loops
// every XENNET_TIMEOUT (5 s) for ever, so a backend that never closes
// leaves netfront there. The device is unregistered with the frontend
// Closed, so xenbus_probe_node ("if (state != XenbusStateInitialising)
// return 0") never probes it again until the directory is made anew.
//
// Left out: the xenwatch thread is blocked for the whole exchange, so in
// the real guest no other watch callback runs meanwhile (its other
// devices' drivers, or this device's own directory-removed event); the
// model blocks only this driver. And the failures that leave netfront
// bound without any write (xennet_connect's read of feature-rx-copy: a
// failed xenbus_read_unsigned gives 0, "backend does not support copying
// receive path", -ENODEV, netback_changed breaks; netfront waits for an
// InitWait event that does not come again) need an edge-triggered watch
// the model's level-triggered guard does not have.
func netfrontTalkFails(dr *driver, be, fe model.PathID, guard []model.Cond, talk []model.Op) {
	if !dr.b.Allowed(model.RequestFailFault) {
		return
	}
	closing := dr.a.Loc("bus-close-closing", "xennet_bus_close after a failed talk_to_netback: Closing written, the xenwatch thread waits for the backend's Closing, Closed or Unknown")
	closed := dr.a.Loc("bus-close-closed", "xennet_bus_close: Closed written, the xenwatch thread waits for the backend's Closed or Unknown")
	reset := model.Set{Var: dr.cached, Val: uint8(model.StateInitialising)}
	dr.a.T(dr.b.RequestFails(model.Transition{Name: "sees InitWait (talk_to_netback fails)",
		Desc: "xennet_connect: a request of talk_to_netback fails (mac, the transaction's start, a write, the commit): abort, xenbus_dev_fatal → Closing, device_unregister → xennet_bus_close",
		From: dr.bound, To: closing, Guard: guard, Ops: failTxn(talk, false, dr.switchTo(fe, model.StateClosing))}))
	dr.a.T(model.Transition{Name: "bus close, backend Closed", Desc: "xennet_bus_close: the backend is Closed: return; xenbus_dev_remove switches to Closed; unregistered",
		From: closing, To: dr.unbound, Guard: and(model.Eq(be, model.StateClosed.Value())),
		Ops: ops(model.Read(be), dr.switchTo(fe, model.StateClosed)), Sets: []model.Set{reset}})
	dr.a.T(model.Transition{Name: "bus close, backend Closing", Desc: "xennet_bus_close: the backend is Closing or gone: switch to Closed and wait for its Closed",
		From: closing, To: closed, Guard: and(model.StateIn(be, model.StateClosing, model.StateUnknown)),
		Ops: ops(model.Read(be), dr.switchTo(fe, model.StateClosed))})
	dr.a.T(model.Transition{Name: "bus close done", Desc: "xennet_bus_close returns (the backend is Closed or gone); xennet_remove; xenbus_dev_remove's switch to Closed is nothing (cached); unregistered",
		From: closed, To: dr.unbound, Guard: and(model.StateIn(be, model.StateClosed, model.StateUnknown)),
		Ops: ops(model.Read(be)), Sets: []model.Set{reset}})
}

// probeTxnFails adds, when the fault is allowed, the variant of a
// frontend's probe (from unbound, guard given) whose publishing
// transaction in publish fails: the transaction is replaced by
// xenbus_dev_fatal's switch to Closing and what followed it (the switch
// to Initialised) is dropped; the probe returns the error, so the driver
// is not bound and the device is never probed again (probe-failed, as
// for a missing key). Linux 6.1, the same shape in each:
//
//   - pcifront_publish_info (drivers/pci/xen-pcifront.c): a failed start
//     ("xenbus_dev_fatal(pdev->xdev, err, "Error writing configuration for
//     backend (start transaction)"); goto out;"), a failed write of
//     pci-op-ref, event-channel or magic ("xenbus_transaction_end(trans,
//     1); xenbus_dev_fatal(...); goto out;") or a commit failing other than
//     with EAGAIN ("xenbus_dev_fatal(pdev->xdev, err, "Error completing
//     transaction for backend"); goto out;") returns err before
//     xenbus_switch_state(Initialised); pcifront_xenbus_probe "if (err)
//     goto out;" frees the device and returns it;
//   - xenkbd_connect_backend (drivers/input/misc/xen-kbdfront.c) and
//     xenfb_connect_backend (drivers/video/fbdev/xen-fbfront.c): a failed
//     start ("xenbus_dev_fatal(dev, ret, "starting transaction"); goto
//     error_irqh;"), write ("goto error_xenbus;" → "xenbus_transaction_end
//     (xbt, 1); xenbus_dev_fatal(dev, ret, "writing xenstore");") or commit
//     ("xenbus_dev_fatal(dev, ret, "completing transaction"); goto
//     error_irqh;") returns the error; the probe's "if (ret < 0) goto
//     error;" removes the driver's state and returns it.
//
// xenbus_dev_probe then only logs ("xenbus_dev_error(dev, err,
// "xenbus_dev_probe on %s", dev->nodename)": the error node is not
// modelled, docs/model.md).
func probeTxnFails(dr *driver, fn string, guard []model.Cond, publish []model.Op) {
	os := failTxn(publish, false, dr.switchTo(dr.d.FEState, model.StateClosing))
	if !dr.b.Allowed(model.RequestFailFault) || os == nil {
		return
	}
	dr.a.T(dr.b.RequestFails(model.Transition{Name: "probe (transaction fails)",
		Desc: fn + ": a request of the publishing transaction fails: xenbus_dev_fatal → Closing, nothing written; the probe fails, the device stays registered, unprobed",
		From: dr.unbound, To: dr.probeFailed(dr.d.FEDir), Guard: guard, Ops: os,
		Sets: []model.Set{{Var: dr.cached, Val: uint8(model.StateInitialising)}}}))
}

// pcibackSetupFails adds, when the fault is allowed, the variants of
// pciback's xen_pcibk_setup_backend (drivers/xen/xen-pciback/xenbus.c,
// Linux 6.1) where one of its own requests fails; export is the step's
// read of num_devs followed by its writes of state-N, in order. Every
// failure is xenbus_dev_fatal, a switch to Closing, after the writes
// made before it ("goto out", no switch to Initialised, no attach):
//
//   - the read of num_devs ("if (err != 1) { ... xenbus_dev_fatal(
//     pdev->xdev, err, "Error reading number of devices"); goto out; }"):
//     nothing written;
//   - device i's read of dev-i ("Error reading device configuration") or
//     write of state-i ("Error switching substate of dev-%d"): state-0 to
//     state-(i-1) written;
//   - xen_pcibk_publish_pci_roots' requests (root_num, root-N: keys the
//     model does not have; "Error while publish PCI root buses for
//     frontend"): every state-N written.
func pcibackSetupFails(dr *driver, guard []model.Cond, export []model.Op) {
	if !dr.b.Allowed(model.RequestFailFault) {
		return
	}
	writes := export[1:]
	for k := 0; k <= len(writes); k++ {
		how := "reading num_devs or dev-0 fails, or writing state-0: nothing written"
		switch {
		case k == len(writes) && k > 0:
			how = "publishing the PCI roots fails: every state-N written"
		case k > 0:
			how = fmt.Sprintf("reading dev-%d or writing state-%d fails: state-0 to state-%d written", k, k, k-1)
		}
		os := append(append([]model.Op{export[0]}, writes[:k]...), dr.switchTo(dr.d.BEState, model.StateClosing))
		dr.a.T(dr.b.RequestFails(model.Transition{Name: fmt.Sprintf("setup backend (request fails after %d writes)", k),
			Desc: "xen_pcibk_setup_backend: " + how + "; xenbus_dev_fatal → Closing, no Initialised",
			From: dr.bound, To: model.SameLoc, Guard: guard, Ops: os}))
	}
}
