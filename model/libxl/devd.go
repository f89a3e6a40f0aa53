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
		a.T(model.Transition{Name: "remove_device", Desc: desc, From: from, To: removed, Guard: guard,
			Ops: append(append([]model.Op(nil), reads...), model.Signal("exec "+scriptName(dev.BEKind)+" remove"),
				model.TxnStart(), model.Cleanup(dev.BEDir), model.TxnCommit())})
	}
	return a.Index()
}
