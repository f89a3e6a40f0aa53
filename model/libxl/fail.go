package libxl

import (
	"strings"

	"github.com/xbcheck/xbcheck/model"
)

// Failing requests (model.RequestFailFault): xenstored fails one request
// of libxl's (ENOMEM, EQUOTA in oxenstored, ENOSPC in C xenstored; EAGAIN
// is a commit's own outcome and is modelled by commitT). Each operation
// adds, only when the fault is allowed, one variant per request whose
// failure the code handles in its own way, under the budget of
// model.Builder.RequestFails (one failure per run, shared with the Linux
// drivers' xenbus_switch_state). The handling is the code's, version by
// version (docs/model.md "Failing requests" has the table):
//
//   - libxl__xs_transaction_start, libxl__xs_read_checked and
//     libxl__xs_write_checked return ERROR_FAIL on any error but ENOENT
//     (libxl_xshelp.c); libxl__xs_transaction_commit returns ERROR_FAIL on
//     any error but EAGAIN ("if (errno == EAGAIN) return +1; ... return
//     ERROR_FAIL"), with the transaction gone and nothing written;
//   - the plain xs_rm, xs_mkdir, xs_set_permissions and xs_write of
//     libxl__device_generic_add, and libxl__xs_writev_perms (which "xs_write
//     (...); if (perms) xs_set_permissions(...)" and returns 0 whatever
//     happened) are unchecked before 4.19; 531d3bea5e (4.19, backported to
//     4.17.5 and 4.18.3) checks every one and returns at the first
//     failure;
//   - libxl__device_generic_add's callers for a vbd (device_disk_add,
//     libxl_disk.c) and a vif (libxl__device_add_async, libxl_device.c)
//     ignore its result in every modelled version ("libxl__device_generic_add
//     (gc, t, device, ...); rc = libxl__xs_transaction_commit(gc, &t);",
//     RELEASE-4.2.0 tools/libxl/libxl.c to RELEASE-4.22.0
//     tools/libs/light/libxl_disk.c): what was written before the return
//     is committed.
//
// Not failed, as no failure of theirs leaves a store the model does not
// have already: the per-key xs_set_permissions of the frontend entries
// (libxl__xs_writev_perms: before 4.19 ignored, the key keeping its
// directory's list, which is the list it would have set; from 4.19 it
// returns, leaving the store of the next request's failure) and the
// /libxl copy of the backend entries (libxl__xs_writev(gc, t, libxl_path,
// bents), last in the body: keys the model does not write). The reads of
// libxl's event machinery (libxl__ev_devstate_wait, libxl__xswait) fail
// as waitReadFails says.

// GenericAddChecked: libxl__device_generic_add checks every xenstore
// request and returns at the first failure (531d3bea5e "libxl: Fix
// handling XenStore errors in device creation", RELEASE-4.19.0; before,
// only its /libxl record's libxl__xs_rm_checked and
// libxl__xs_write_checked from 4.7, and nothing before 4.7).
func (v Version) GenericAddChecked() bool { return v.Minor >= 19 }

// reqName names a request for a transition's name: "WRITE FE/state",
// "MKDIR BE", "WRITE /libxl/backend".
func reqName(b *model.Builder, di int, op model.Op) string {
	sys := b.Sys()
	dev := sys.Devices[di]
	kind := map[model.OpKind]string{model.OpRead: "READ", model.OpWrite: "WRITE", model.OpMkdir: "MKDIR", model.OpRm: "RM",
		model.OpSetPerms: "SET_PERMS", model.OpCleanup: "path_cleanup"}[op.Kind]
	name := sys.Paths[op.Path].Name
	for _, d := range []struct {
		p     model.PathID
		short string
	}{{dev.FEDir, "FE"}, {dev.BEDir, "BE"}, {dev.LibxlDir, "/libxl"}} {
		if d.p == model.NoPath {
			continue
		}
		base := sys.Paths[d.p].Name
		if name == base {
			return kind + " " + d.short
		}
		if rest, ok := strings.CutPrefix(name, base+"/"); ok {
			return kind + " " + d.short + "/" + rest
		}
	}
	return kind + " " + name
}

// genericAddOrder returns the requests of libxl__device_generic_add as the
// code makes them (RELEASE-4.7.0 to RELEASE-4.22.0): the /libxl record
// first, then the frontend (rm, mkdir, set_permissions, "backend", the
// entries), then the backend (rm, mkdir, set_permissions, "frontend", the
// entries in the caller's order: a vbd's "params" and "script" before
// "frontend-id", "online" and "state" (device_disk_add), a vif's after
// (libxl__device_add_async, then libxl__set_xenstore_nic)). nLibxl is the
// number of /libxl requests at its head.
func genericAddOrder(b *model.Builder, di int, extra []model.Op) (order []model.Op, nLibxl int) {
	dev := b.Sys().Devices[di]
	if dev.LibxlDir != model.NoPath {
		order = append(order, LibxlRecordOps(b, di)...)
		nLibxl = len(order)
	}
	order = append(order, model.Rm(dev.FEDir), model.Mkdir(dev.FEDir), model.SetPerms(dev.FEDir))
	order = append(order, b.FrontendEntries(di)...)
	order = append(order, model.Rm(dev.BEDir), model.Mkdir(dev.BEDir), model.SetPerms(dev.BEDir))
	be := b.BackendEntries(di)
	order = append(order, be[0])
	if dev.BEKind == "vbd" {
		order = append(append(order, extra...), be[1:]...)
	} else {
		order = append(append(order, be[1:]...), extra...)
	}
	return order, nLibxl
}

// addFailures adds the add operation's failing requests: the transaction's
// start or libxl__device_exists's read (goto out: ERROR_FAIL, the
// transaction aborted, nothing written), each request of
// libxl__device_generic_add (the commit follows: see the package comment
// above for what is written), and the commit (ERROR_FAIL, nothing
// written). pre is the body's start (TRANSACTION_START and the exists
// read), guard the body's guard.
func addFailures(a *model.ActorBuilder, b *model.Builder, di int, v Version, txn, commit, done model.LocID, rc model.VarID,
	guard []model.Cond, pre, extra []model.Op, complete []model.Mark) {
	F := func(t model.Transition) { a.T(b.RequestFails(t)) }
	fail := []model.Set{{Var: rc, Val: RCFail}}
	what := "xs_transaction_start"
	if v.DeviceExists() != "" {
		what = "xs_transaction_start or libxl__device_exists's read"
	}
	F(model.Transition{Name: "request fails before generic_add", Desc: what + " fails: goto out, ERROR_FAIL, nothing written",
		From: txn, To: done, Sets: fail, Marks: complete})
	order, nLibxl := genericAddOrder(b, di, extra)
	for k, op := range order {
		var ops []model.Op
		var name, how string
		if v.GenericAddChecked() || k < nLibxl {
			ops = append(ops, order[:k]...)
			name = " fails, generic_add returns"
			how = "checked: libxl__device_generic_add returns ERROR_FAIL, which its caller ignores; the requests before it are committed"
		} else {
			ops = append(append(ops, order[:k]...), order[k+1:]...)
			name = " fails, ignored"
			how = "unchecked (\"xxx much of this function lacks error checks!\"): the rest is written and committed"
		}
		a.T(b.RequestFails(model.Transition{Name: "write entries (" + reqName(b, di, op) + name + ")", Desc: reqName(b, di, op) + " fails: " + how,
			From: txn, To: commit, Kind: model.TxnBody, Guard: guard, Ops: append(append([]model.Op(nil), pre...), ops...)}))
	}
	F(model.Transition{Name: "commit fails", Desc: "TRANSACTION_END fails (not EAGAIN): libxl__xs_transaction_commit returns ERROR_FAIL, goto out; nothing written",
		From: commit, To: done, Kind: model.EAGAIN, Sets: fail, Marks: complete})
}

// removeFailures adds the remove operation's failing requests, all
// handled alike by libxl__initiate_device_generic_remove (4.4+; 4.2's
// libxl__initiate_device_remove the same): libxl__xs_transaction_start,
// the libxl__xs_read_checked of BE/state and the libxl__xs_write_checked
// of BE/online and BE/state each "goto out" ("aodev->rc = rc; ...
// libxl__xs_transaction_abort(gc, &t); device_hotplug_done(egc, aodev)"),
// and so does a commit failing other than with EAGAIN ("if (rc < 0) goto
// out"): ERROR_FAIL, nothing written, device_hotplug_done, which destroys
// on FORCE_ON only from 4.15 (always before). The forced
// libxl__xs_path_cleanup of the frontend ("if (aodev->force.flag ==
// LIBXL__FORCE_ON) libxl__xs_path_cleanup(gc, t, ...)") is unchecked: its
// failure leaves the frontend and the rest goes on; forced lists the
// forced body transitions that have it. The qemu bodge's XBT_NULL read
// and write (device_qemu_timeout, 4.4+: "rc = libxl__xs_read_checked(gc,
// XBT_NULL, state_path, &xs_state); if (rc) goto out;", the write the
// same; 4.2's unconditional write too) go to out as well: ERROR_FAIL,
// device_hotplug_done.
func removeFailures(a *model.ActorBuilder, b *model.Builder, di int, v Version, txn, commit, hotplugDone model.LocID, bodge []model.LocID,
	rc model.VarID, forced []model.Transition) {
	F := func(t model.Transition) { a.T(b.RequestFails(t)) }
	fail := []model.Set{{Var: rc, Val: RCFail}}
	F(model.Transition{Name: "request fails", Desc: "TRANSACTION_START, the read of BE/state or a write of BE/online or BE/state fails: goto out, ERROR_FAIL, abort, device_hotplug_done",
		From: txn, To: hotplugDone, Sets: fail})
	fe := b.Sys().Devices[di].FEDir
	for _, t := range forced {
		var ops []model.Op
		for _, op := range t.Ops {
			if !(op.Kind == model.OpCleanup && op.Path == fe) {
				ops = append(ops, op)
			}
		}
		t.Name += " (path_cleanup of FE fails, ignored)"
		t.Desc += "; the frontend's libxl__xs_path_cleanup fails, unchecked: the frontend stays"
		t.Ops = ops
		F(t)
	}
	F(model.Transition{Name: "commit fails", Desc: "TRANSACTION_END fails (not EAGAIN): ERROR_FAIL, goto out, device_hotplug_done",
		From: commit, To: hotplugDone, Kind: model.EAGAIN, Sets: fail})
	for _, l := range bodge {
		F(model.Transition{Name: "bodge request fails", Desc: "device_qemu_timeout's XBT_NULL read or write of BE/state fails: goto out, ERROR_FAIL, device_hotplug_done",
			From: l, To: hotplugDone, Sets: fail})
	}
}

// destroyFailures adds libxl__device_destroy's failing requests:
// libxl__xs_transaction_start and a commit failing other than with
// EAGAIN "goto out" and return ERROR_FAIL with nothing removed, which
// device_hotplug_done keeps only when the operation had no error yet ("rc
// = libxl__device_destroy(gc, aodev->dev); if (!aodev->rc) aodev->rc =
// rc;", RELEASE-4.2.0 to RELEASE-4.22.0); each libxl__xs_path_cleanup's
// result is ignored ("libxl__xs_path_cleanup(gc, t, fe_path);"), so a
// failed RM leaves that path and the rest is removed. (4.2's destroy also
// reads BE/tapdisk-params, checked, with the start's outcome; not a
// modelled request.)
func destroyFailures(a *model.ActorBuilder, b *model.Builder, di int, destroy, destroyCommit, done model.LocID, rc model.VarID,
	nuke []model.Op, complete []model.Mark) {
	F := func(t model.Transition) { a.T(b.RequestFails(t)) }
	for _, first := range []bool{true, false} {
		g := []model.Cond{model.VarEq(rc, RCOk)}
		sets := []model.Set{{Var: rc, Val: RCFail}}
		suffix := ", rc was 0"
		if !first {
			g, sets, suffix = []model.Cond{model.VarNe(rc, RCOk)}, nil, ", rc kept"
		}
		F(model.Transition{Name: "destroy: transaction start fails" + suffix, Desc: "libxl__device_destroy: xs_transaction_start fails: ERROR_FAIL, nothing removed; device_hotplug_done keeps an earlier rc",
			From: destroy, To: done, Guard: g, Sets: sets, Marks: complete})
		F(model.Transition{Name: "destroy: commit fails" + suffix, Desc: "libxl__device_destroy: TRANSACTION_END fails (not EAGAIN): ERROR_FAIL, nothing removed; device_hotplug_done keeps an earlier rc",
			From: destroyCommit, To: done, Kind: model.EAGAIN, Guard: g, Sets: sets, Marks: complete})
	}
	for k, op := range nuke {
		if op.Kind != model.OpCleanup {
			continue
		}
		ops := append(append([]model.Op(nil), nuke[:k]...), nuke[k+1:]...)
		F(model.Transition{Name: "NUKE BACKEND (" + reqName(b, di, op) + " fails, ignored)", Desc: "libxl__xs_path_cleanup fails, its rc ignored: that path stays, the rest is removed",
			From: destroy, To: destroyCommit, Kind: model.TxnBody, Ops: ops})
	}
}

// pciBodyFailures adds the failed requests of a PCI add's transaction
// body (variants B and C, and A's num_devs != 0 path), whose every request
// goes unchecked: libxl__device_pci_add_xenstore calls "if (!num_devs)
// libxl__create_pci_backend(gc, t, domid, pci);" (void: its xs_rm,
// xs_mkdir and xs_set_permissions of the backend and the frontend and its
// two libxl__xs_writev go unchecked) and then "libxl__xs_writev(gc, t,
// be_path, libxl__xs_kvs_of_flexarray(gc, back));" without looking at the
// result, and commits (RELEASE-4.14.0 tools/libxl/libxl_pci.c to
// RELEASE-4.22.0 tools/libs/light/libxl_pci.c). So a failed request's
// effect is missing and the rest is committed, rc 0. libxl__xs_writev
// (libxl__xs_writev_perms) ignores xs_write's result before 4.19 and
// from 531d3bea5e returns ERROR_FAIL at the first failed write ("if
// (!xs_write(...)) return ERROR_FAIL;"), so from 4.19 the keys after the
// failed one in the same libxl__xs_writev call are missing too: the
// backend's entries (frontend, frontend-id, online, state), the
// frontend's (backend, backend-id, state), the body's (key-N, dev-N,
// state-N, num_devs, state = 7). The model's body for a first device has
// /libxl record writes libxl__create_pci_backend does not make (it is
// built from GenericAddOps): those are not failed. pci lists the body's
// own writev (pciEntries, and the write of state = 7).
func pciBodyFailures(a *model.ActorBuilder, b *model.Builder, di int, v Version, body model.Transition, pci []model.Op) {
	type kv struct {
		p model.PathID
		v model.Value
	}
	group := map[kv]int{}
	for g, ops := range [][]model.Op{b.FrontendEntries(di), b.BackendEntries(di), pci} {
		for _, op := range ops {
			group[kv{op.Path, op.Val}] = g + 1
		}
	}
	record := recordPaths(b, di)
	for _, k := range failable(body.Ops, record) {
		op := body.Ops[k]
		var ops []model.Op
		ops = append(ops, body.Ops[:k]...)
		how := "unchecked: that request's effect is missing, the rest is committed"
		for _, o := range body.Ops[k+1:] {
			if g := group[kv{op.Path, op.Val}]; v.GenericAddChecked() && op.Kind == model.OpWrite && o.Kind == model.OpWrite && g != 0 && group[kv{o.Path, o.Val}] == g {
				how = "libxl__xs_writev returns at the failed write (531d3bea5e), its caller ignores it: the keys after it in that writev are missing, the rest is committed"
				continue
			}
			ops = append(ops, o)
		}
		t := body
		t.Name = body.Name + " (" + reqName(b, di, op) + " fails, ignored)"
		t.Desc = body.Desc + "; " + reqName(b, di, op) + " fails: " + how
		t.Ops = ops
		a.T(b.RequestFails(t))
	}
}

// pciCreateAFailures adds the failed requests of variant A's
// libxl__create_pci_backend (before 0fdb48ffe7a1, libxl 4.2–4.14), which
// "return libxl__device_generic_add(gc, XBT_NULL, &device, ...)" and whose
// rc libxl__device_pci_add_xenstore returns ("if (!num_devs) return
// libxl__create_pci_backend(gc, domid, pcidev, 1);", RELEASE-4.14.0
// tools/libxl/libxl_pci.c). generic_add with XBT_NULL makes its own
// transaction ("if (create_transaction) t =
// xs_transaction_start(ctx->xsh);", unchecked) and ends it ("if
// (!xs_transaction_end(ctx->xsh, t, 0)) { if (errno == EAGAIN) goto
// retry_transaction; else { ... return ERROR_FAIL; } }"), RELEASE-4.14.0
// tools/libxl/libxl_device.c:
//
//   - a failed start returns XBT_NULL (libxenstore), so every request is
//     made outside any transaction and is written; the TRANSACTION_END of
//     transaction 0 then fails with ENOENT (C xenstored's
//     do_transaction_end "if ((trans = conn->transaction) == NULL) return
//     ENOENT;", oxenstored's Hashtbl.find of the unknown id): ERROR_FAIL
//     for a backend it created;
//   - the /libxl record's libxl__xs_rm_checked and libxl__xs_write_checked
//     (4.7+) "goto out": "if (create_transaction && t)
//     libxl__xs_transaction_abort(gc, &t); return rc;": ERROR_FAIL, nothing
//     written (its own transaction, unlike a caller's);
//   - the frontend's and backend's xs_rm, xs_mkdir, xs_set_permissions,
//     xs_write and libxl__xs_writev(_perms) are unchecked ("xxx much of
//     this function lacks error checks!"): that effect is missing, the rest
//     committed, rc 0;
//   - a commit failing other than with EAGAIN: ERROR_FAIL, nothing
//     written.
func pciCreateAFailures(a *model.ActorBuilder, b *model.Builder, di int, create model.Transition, rc model.VarID) {
	fail := []model.Set{{Var: rc, Val: RCFail}}
	var plain []model.Op
	record := recordPaths(b, di)
	for _, op := range create.Ops {
		if op.Kind != model.OpTxnStart && op.Kind != model.OpTxnCommit {
			plain = append(plain, op)
		}
	}
	t := create
	t.Name, t.Desc = create.Name+" (transaction start fails)", "xs_transaction_start fails, unchecked: every request made outside a transaction, written; the end of transaction 0 fails (ENOENT): ERROR_FAIL"
	t.Ops, t.Sets = plain, fail
	a.T(b.RequestFails(t))
	t = create
	t.Name, t.Desc = create.Name+" (commit fails)", "generic_add's TRANSACTION_END fails (not EAGAIN): ERROR_FAIL, nothing written"
	t.Ops, t.Sets = nil, fail
	a.T(b.RequestFails(t))
	if len(record) > 0 {
		t = create
		t.Name, t.Desc = create.Name+" (/libxl record fails)", "generic_add's checked /libxl record request fails: goto out, its own transaction aborted, ERROR_FAIL, nothing written"
		t.Ops, t.Sets = nil, fail
		a.T(b.RequestFails(t))
	}
	for _, k := range failable(create.Ops, record) {
		op := create.Ops[k]
		t = create
		t.Name = create.Name + " (" + reqName(b, di, op) + " fails, ignored)"
		t.Desc = create.Desc + "; " + reqName(b, di, op) + " fails, unchecked: the rest is written and committed"
		t.Ops = append(append([]model.Op(nil), create.Ops[:k]...), create.Ops[k+1:]...)
		a.T(b.RequestFails(t))
	}
}

// devicesDestroyCbFailures adds the failed requests of devices_destroy_cb
// (RELEASE-4.2.0 tools/libxl/libxl.c to RELEASE-4.22.0
// tools/libs/light/libxl_domain.c), rm the modelled transition that removes
// the domain's paths and destroys it:
//
//   - the GET_DOMAIN_PATH of "dom_path = libxl__xs_get_dompath(gc,
//     domid); if (!dom_path) { rc = ERROR_FAIL; goto out; }": the
//     callback gets ERROR_FAIL, nothing is removed and the domain is not
//     destroyed (it stays paused, its devices removed): location
//     "dompath-failed";
//   - "if (!xs_rm(ctx->xsh, XBT_NULL, dom_path)) LOGED(ERROR, ...)" and
//     "xs_rm(ctx->xsh, XBT_NULL, libxl__xs_libxl_path(gc, domid));": a
//     failure is logged or ignored, that path stays and the domain is
//     destroyed; xenstored's own cleanup of a dead domain removes only the
//     nodes the domain owns (OpDomainGone), not /local/domain/<id>, which
//     dom0 owns, so the stale tree stays until the domid is used again
//     (libxl__domain_make's xs_rm).
//
// The reads before (the vm path, libxl__xs_read: NULL skips its rm) and
// the other xs_rm (vm path, hvmloader, 4.2's device-model) are not
// modelled requests.
func devicesDestroyCbFailures(a *model.ActorBuilder, b *model.Builder, rm model.Transition) {
	failed := a.Final("dompath-failed", "devices_destroy_cb: libxl__xs_get_dompath failed: ERROR_FAIL, nothing removed, the domain not destroyed")
	t := rm
	t.Name, t.Desc = "get dompath fails", "devices_destroy_cb: GET_DOMAIN_PATH fails: rc = ERROR_FAIL, goto out; nothing removed, no xc_domain_destroy"
	t.To, t.Ops, t.Sets = failed, nil, nil
	a.T(b.RequestFails(t))
	for k, op := range rm.Ops {
		if op.Kind != model.OpRm {
			continue
		}
		t := rm
		t.Name = rm.Name + " (rm " + b.Sys().Paths[op.Path].Name + " fails, ignored)"
		t.Desc = rm.Desc + "; xs_rm of " + b.Sys().Paths[op.Path].Name + " fails: logged or ignored, the path stays"
		t.Ops = append(append([]model.Op(nil), rm.Ops[:k]...), rm.Ops[k+1:]...)
		a.T(b.RequestFails(t))
	}
}

// waitReadFails adds the failed read of a wait of libxl's event machinery
// at from: the XBT_NULL read of path that each watch event makes (w, the
// wait's watch). The read comes with every event, the one
// libxl__ev_xswatch_register's XS_WATCH fires at once included, so the
// variant has no guard on the node's value. A failed read other than
// ENOENT ends the wait with ERROR_FAIL in every modelled version:
//
//   - libxl__ev_devstate_wait from 4.6 (libxl_event.c on libxl__xswait,
//     libxl_aoutils.c): xswait_xswatch_callback "rc =
//     libxl__xs_read_checked(gc, XBT_NULL, xswa->path, &data); if (rc) {
//     xswait_report_error(egc, xswa, rc); return; }", and
//     xswait_report_error "libxl__xswait_stop(gc, xswa);
//     xswa->callback(egc, xswa, rc, 0);"; devstate_callback "if (rc) { if
//     (rc == ERROR_TIMEDOUT) LOG(...); goto out; } ... out:
//     libxl__ev_devstate_cancel(gc, ds); ds->callback(egc, ds, rc);";
//   - 4.2 to 4.5 (RELEASE-4.2.0 tools/libxl/libxl_event.c
//     devstate_watch_callback): "char *sstate = libxl__xs_read(gc,
//     XBT_NULL, watch_path); if (!sstate) { if (errno == ENOENT) { ... rc =
//     ERROR_INVAL; } else { ... \"but read failed\" ...; rc = ERROR_FAIL;
//     } }", then "libxl__ev_devstate_cancel(gc, ds); ds->callback(egc, ds,
//     rc);";
//   - the callback, device_backend_callback (libxl_device.c, RELEASE-4.2.0
//     to RELEASE-4.22.0), forces and restarts a remove only on
//     ERROR_TIMEDOUT; any other rc "goto out; ... out: aodev->rc = rc;
//     device_hotplug_done(egc, aodev);": an add ends with ERROR_FAIL (the
//     entries stay), a remove goes to device_hotplug_done with ERROR_FAIL,
//     which destroys before 4.15 always and from 4.15 on FORCE_ON only,
//     keeping ERROR_FAIL;
//   - the driver-domain wait for the backend directory to go (4.4+,
//     device_hotplug's libxl__xswait_start from 4.6; 4.4 and 4.5 its own
//     watch, "rc = libxl__xs_read_checked(gc, XBT_NULL, watch_path, &dir);
//     if (rc) { ... aodev->rc = rc; goto out; }"):
//     device_destroy_be_watch_cb "if (rc) { ... aodev->rc = rc; goto out;
//     } ... out: device_hotplug_done(egc, aodev);".
//
// A failed XS_WATCH in libxl__ev_xswatch_register (libxl__ev_devstate_wait
// returns its rc, "unable to remove device": "goto out", aodev->rc,
// device_hotplug_done) leaves the same: it is not a variant of its own.
// libxl__wait_for_backend's polled read (PCI: "rc =
// libxl__xs_read_checked(gc, XBT_NULL, path, &p); if (rc) return rc;")
// returns ERROR_FAIL, which its timeout returns too, from the same
// location: no variant.
//
// The variant is a plain step of the wait, not a case of w's handler: the
// model takes only the first enabled case of a watch event (model.On), so
// a fault case would shadow the event's "ignore" and make the failure the
// only way on while the budget is left. As a step enabled at any point of
// the wait it stands for the failure of the first event's read (the one
// the registration fires, which libxl may handle late): the failure reads
// nothing the other actors write and writes nothing, so failing later,
// without an event, reaches what failing at that event and then waiting
// reaches. One over-approximation: under last-resort timers another
// actor's timer may fire before the step, while the first event's read
// comes within a protocol step; the model lets the failure come after it
// (as a later event's read would, if the node changed).
func waitReadFails(a *model.ActorBuilder, b *model.Builder, di int, w model.WatchID, path model.PathID, from, to model.LocID, rc model.VarID,
	what string, marks []model.Mark) {
	name := reqName(b, di, model.Read(path)) + " fails"
	a.T(b.RequestFails(model.Transition{Name: name, Desc: what + ": the XBT_NULL read of the watch event fails: ERROR_FAIL, device_hotplug_done",
		From: from, To: to, Ops: []model.Op{model.Read(path), model.UnwatchOp(w)}, Sets: []model.Set{{Var: rc, Val: RCFail}}, Marks: marks}))
}

// recordPaths is the set of device di's /libxl record paths (none when
// the version keeps no record): generic_add checks their requests, so
// their failures are not the unchecked ones.
func recordPaths(b *model.Builder, di int) map[model.PathID]bool {
	record := map[model.PathID]bool{}
	if b.Sys().Devices[di].LibxlDir != model.NoPath {
		for _, op := range LibxlRecordOps(b, di) {
			record[op.Path] = true
		}
	}
	return record
}

// failable returns the indexes in ops of the requests that change the
// store (WRITE, RM, MKDIR, SET_PERMS) and are not on a path of skip.
func failable(ops []model.Op, skip map[model.PathID]bool) []int {
	var ks []int
	for k, op := range ops {
		switch op.Kind {
		case model.OpWrite, model.OpRm, model.OpMkdir, model.OpSetPerms:
			if !skip[op.Path] {
				ks = append(ks, k)
			}
		}
	}
	return ks
}
