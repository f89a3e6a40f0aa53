package libxl

import (
	"fmt"

	"github.com/xbcheck/xbcheck/model"
)

// Devd adds `xl devd` in the driver domain that serves device di
// (libxl_device_events_handler, backend_watch_callback; xenbus-protocol.md
// 6.5). It watches the domain's backend tree and acts on state and online
// changes only:
//   - a new backend reaching InitWait gets its add script run there
//     (add_device → libxl__wait_device_connection → device_hotplug), which
//     writes hotplug-status = connected (netback's gate);
//   - state == Closed && online == 0 (state == Closed alone before 4.6:
//     Version.DevdChecksOnline) → remove_device: the generic remove in
//     the driver domain, whose device_hotplug runs the remove script and
//     whose libxl__device_destroy removes the backend directory
//     (backend_domid == my_domid), which dom0 libxl waits for.
//
// It runs in the driver domain, so it stops when that domain is paused or
// dies. Simplification: the remove in the driver domain is one step (the
// backend is already Closed, so its own handshake has nothing to wait for).
func Devd(b *model.Builder, di int, v Version) int {
	dev := b.Sys().Devices[di]
	a := b.Actor(fmt.Sprintf("xl-devd(%s)", dev.Name), model.Toolstack, dev.BEDom, true)
	watching := a.Final("watching", "libxl_device_events_handler: watching the backend tree")
	added := a.Final("added", "add script run in the driver domain")
	removed := a.Final("removed", "device removed in the driver domain")
	online := b.BEKey(di, "online")
	a.T(model.Transition{Name: "add_device", Desc: "new backend in InitWait: run the add script here, hotplug-status = connected",
		From: watching, To: added, Guard: []model.Cond{model.Eq(dev.BEState, model.StateInitWait.Value()), model.IsAbsent(dev.Hotplug)},
		Ops: []model.Op{model.Read(dev.BEState), model.Signal("exec " + scriptName(dev.BEKind) + " add"), model.Write(dev.Hotplug, b.Value("connected"))}})
	guard := []model.Cond{model.Eq(dev.BEState, model.StateClosed.Value()), model.Eq(online, b.Value("0"))}
	reads := []model.Op{model.Read(dev.BEState), model.Read(online)}
	desc := "state == 6 && online == 0: remove script, then libxl__device_destroy removes the backend directory"
	if !v.DevdChecksOnline() {
		guard, reads = guard[:1], reads[:1]
		desc = "state == 6 (online not read before 4.6): remove script, then libxl__device_destroy removes the backend directory"
	}
	for _, from := range []model.LocID{watching, added} {
		rm := model.Transition{Name: "remove_device", Desc: desc, From: from, To: removed, Guard: guard,
			Ops: append(append([]model.Op(nil), reads...), model.Signal("exec "+scriptName(dev.BEKind)+" remove"),
				model.TxnStart(), model.Cleanup(dev.BEDir), model.TxnCommit())}
		a.T(rm)
		if b.Allowed(model.RequestFailFault) {
			// The driver domain's libxl__device_destroy (RELEASE-4.17.0
			// libxl_device.c): "rc = libxl__get_domid(gc, &domid); if (rc)
			// goto out;", "rc = libxl__xs_transaction_start(gc, &t); if
			// (rc) goto out;", "if (dev->backend_domid == domid &&
			// !libxl_only) libxl__xs_path_cleanup(gc, t, be_path);" (rc
			// ignored) and a commit failing other than with EAGAIN "goto
			// out": whichever request fails, the backend directory stays
			// (remove_device's callback only logs the rc). The reads of
			// state and online in backend_watch_callback ("if (rc ||
			// !sstate) goto skip;") skip one watch event, which the
			// model's level-triggered guard cannot express: not modelled.
			rm.Name += " (destroy's request fails)"
			rm.Desc += "; a request of the driver domain's libxl__device_destroy fails (domid read, start, path_cleanup of BE, commit): the backend directory stays"
			rm.Ops = append(append([]model.Op(nil), reads...), model.Signal("exec "+scriptName(dev.BEKind)+" remove"))
			a.T(b.RequestFails(rm))
		}
	}
	return a.Index()
}
