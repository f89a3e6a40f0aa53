package libxl

import (
	"fmt"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/model/qemu"
)

// DomainDestroy adds libxl__destroy_domid for domain dom
// (xenbus-protocol.md 6.2, 6.3): pause the domain, SIGHUP its device model
// (no wait), start a forced remove of each of the domain's devices
// (libxl__devices_destroy, all at once), wait for them, then
// devices_destroy_cb removes /local/domain/<id> and /libxl/<id> whatever
// the results, and the domain is destroyed. removals are the remove actors,
// built with RemoveOptions.Idle and Force = ForceOn; q is the qemu actor or
// -1.
func DomainDestroy(b *model.Builder, dom int, v Version, removals []int, q int) int {
	sys := b.Sys()
	a := b.Actor(fmt.Sprintf("libxl-destroy(%s)", sys.DomainNames[dom]), model.Toolstack, -1, true)
	pause := a.Loc("pause", "xc_domain_pause")
	dm := a.Loc("destroy-device-model", "libxl__destroy_device_model: SIGHUP qemu")
	devices := a.Loc("devices-destroy", "libxl__devices_destroy: start a forced remove of every device")
	wait := a.Loc("wait-devices", "wait for every device removal")
	cleanup := a.Loc("devices-destroy-cb", "devices_destroy_cb: xs_rm the domain's paths, destroy the domain")
	done := a.Final(LocDone, "the domain is gone")
	dv := sys.Domains[dom]
	a.T(model.Transition{Name: "pause domain", Desc: "xc_domain_pause", From: pause, To: dm,
		Ops: []model.Op{model.Signal("pause " + sys.DomainNames[dom])}, Sets: []model.Set{{Var: dv, Val: model.DomainPaused}}})
	if q >= 0 {
		for _, t := range qemu.Signal(b, q, dm, devices) {
			a.T(t)
		}
	} else {
		a.T(model.Transition{Name: "no device model", From: dm, To: devices})
	}
	var starts []model.Set
	var allDone []model.Cond
	for _, r := range removals {
		ra := sys.Actors[r]
		init, _ := ra.LocByName(LocInitiate)
		fin, _ := ra.LocByName(LocDone)
		starts = append(starts, model.Set{Var: ra.Loc, Val: uint8(init)})
		allDone = append(allDone, model.VarEq(ra.Loc, uint8(fin)))
	}
	a.T(model.Transition{Name: "start removals", Desc: "libxl__initiate_device_remove for every device, force", From: devices, To: wait, Sets: starts})
	a.T(model.Transition{Name: "removals done", Desc: "every device removal called back", From: wait, To: cleanup, Guard: allDone})
	ops := []model.Op{model.Rm(b.Path(fmt.Sprintf("/local/domain/%d", dom)))}
	if v.LibxlRecords() {
		ops = append(ops, model.Rm(b.Path(fmt.Sprintf("/libxl/%d", dom))))
	}
	// xc_domain_destroy leaves the domain dying (still listed) until its
	// last reference goes (model.Builder.AddRelease); xenstored releases
	// it at once (OpDomainGone).
	ops = append(ops, model.Signal("xc_domain_destroy"), model.DomainGone(dom))
	rmPaths := model.Transition{Name: "xs_rm domain paths", Desc: "devices_destroy_cb: rm /local/domain/<id> and /libxl/<id> regardless of rc; xc_domain_destroy",
		From: cleanup, To: done, Ops: ops, Sets: []model.Set{{Var: dv, Val: model.DomainDying}}}
	a.T(rmPaths)
	if b.Allowed(model.RequestFailFault) {
		devicesDestroyCbFailures(a, b, rmPaths)
	}
	return a.Index()
}
