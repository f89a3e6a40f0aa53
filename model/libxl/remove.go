package libxl

import (
	"fmt"
	"strings"

	"github.com/xbcheck/xbcheck/model"
)

// Location names of the remove operation, after the flowchart in
// libxl_internal.h and the functions of libxl_device.c.
const (
	LocIdle           = "idle"
	LocInitiate       = "initiate"
	LocBodgeWait      = "bodge-wait"
	LocBodgeSetClosed = "bodge-set-closed"
	LocBodgeCheck     = "bodge-check"
	LocTxn            = "txn"
	LocCommit         = "commit"
	LocWaitClosed     = "wait-closed"
	LocHotplug        = "hotplug"
	LocScript         = "hotplug-script"
	LocScriptHung     = "hotplug-script-hung"
	LocWaitBERemoved  = "wait-backend-removed"
	LocHotplugDone    = "hotplug-done"
	LocDestroy        = "destroy"
	LocDestroyCommit  = "destroy-commit"
	LocDone           = "done"
)

// RemoveOptions configures a device remove operation.
type RemoveOptions struct {
	Version Version
	// Force is the starting force level: ForceAuto for
	// libxl_device_<type>_remove (force 0 before 4.15), ForceOn for
	// _destroy and domain destroy, ForceOff for disk_safe_remove (4.15+).
	Force uint8
	// Idle makes the operation wait at "idle" until another actor (domain
	// destroy) moves it to "initiate".
	Idle bool
	// Name overrides the actor's name.
	Name string
	// NoQemuBodge leaves out the qemu bodge: qemu backends take the generic
	// handshake (seed 2 (b)).
	NoQemuBodge bool
	// GuestAlwaysListed says the device's domain can never be gone in
	// the scenario: the failure of libxl_domain_info is left out, a
	// transition that could never fire but whose rc write would hold
	// partial-order reduction back.
	GuestAlwaysListed bool
}

// Remove adds the device remove operation of device di:
// libxl__initiate_device_remove (4.2, xenbus-protocol.md 6.2) or
// libxl__initiate_device_generic_remove (4.4+, 6.3), through
// device_hotplug and device_hotplug_done to libxl__device_destroy. It
// returns the actor's index.
func Remove(b *model.Builder, di int, opt RemoveOptions) int {
	v := opt.Version
	sys := b.Sys()
	dev := sys.Devices[di]
	name := opt.Name
	if name == "" {
		name = fmt.Sprintf("libxl-remove(%s)", dev.Name)
	}
	a := b.Actor(name, model.Toolstack, -1, true)
	idle := a.Loc(LocIdle, "waiting for libxl__devices_destroy")
	initiate := a.Loc(LocInitiate, "libxl__initiate_device_remove: device is provided by qemu? domain alive?")
	bodgeWait := a.Loc(LocBodgeWait, "XEN 4.2 RACY BODGE: WAIT 2.0s TIMEOUT (we may be racing with qemu's death)")
	var bodgeSet, bodgeCheck model.LocID
	if v.BodgeChecked() {
		bodgeCheck = a.Loc(LocBodgeCheck, "device_qemu_timeout: read B.E. state outside the transaction")
		bodgeSet = a.Loc(LocBodgeSetClosed, "device_qemu_timeout: SET B.E. STATE:=6 (XBT_NULL)")
	} else {
		bodgeSet = a.Loc(LocBodgeSetClosed, "device_qemu_timeout: SET B.E. STATE:=6 (XBT_NULL, unconditionally)")
	}
	txn := a.Loc(LocTxn, "transaction: backend state? WRITE B.E. STATE:=5")
	commit := a.Loc(LocCommit, "commit the transaction (xenstore conflict: retry)")
	waitClosed := a.Loc(LocWaitClosed, "libxl__ev_devstate_wait: WAIT FOR STATE==6")
	hotplug := a.Loc(LocHotplug, "device_hotplug: RUN HOTPLUG SCRIPT?")
	script := a.Loc(LocScript, "hotplug script running")
	hung := a.Loc(LocScriptHung, "hotplug script hung: killed at LIBXL_HOTPLUG_TIMEOUT")
	var waitRemoved model.LocID
	if v.DriverDomainWait() {
		waitRemoved = a.Loc(LocWaitBERemoved, "driver domain backend: wait for the backend directory to be removed")
	}
	hotplugDone := a.Loc(LocHotplugDone, "device_hotplug_done")
	destroy := a.Loc(LocDestroy, "libxl__device_destroy: NUKE BACKEND (and frontend)")
	destroyCommit := a.Loc(LocDestroyCommit, "commit the destroy transaction")
	done := a.Final(LocDone, "DONE: the operation's callback gets rc")
	a.StartAt(initiate)
	if opt.Idle {
		a.StartAt(idle)
	}

	rc := a.Var("rc", RCOk, RCNames...)
	force := a.Var("force", opt.Force, forceNames(v)...)
	guest := sys.Domains[dev.FEDom]
	S := func(x model.XenbusState) model.Value { return x.Value() }
	wState := a.Watch("state", dev.BEState, false)
	online := b.BEKey(di, "online")
	zero := b.Value("0")
	T := func(t model.Transition) { a.T(t) }
	set := func(x model.VarID, val uint8) model.Set { return model.Set{Var: x, Val: val} }
	complete := model.Mark{Kind: model.MarkComplete, Var: rc, Device: di, Op: "remove"}

	// initiate: does the guest exist? Every modelled version asks the
	// hypervisor first (4.17 libxl__initiate_device_generic_remove, when
	// my_domid == LIBXL_TOOLSTACK_DOMID, always so in the model:
	//	rc = libxl_domain_info(CTX, &info, domid);
	//	if (rc) { LOGD(ERROR, domid, "unable to get info for domain %d", domid); goto out; }
	// and out: sets aodev->rc and calls device_hotplug_done; 4.2's
	// libxl__initiate_device_remove does the same unconditionally). A
	// dying domain is still listed; only a gone one fails. Then
	// device_hotplug_done destroys the entries before 4.15 (every
	// REMOVE), from 4.15 only on FORCE_ON (6df07f9fbe): FORCE_AUTO and
	// FORCE_OFF keep them and return the error.
	alive := model.VarNe(guest, model.DomainUnlisted)
	checked := dev.FEDom != 0 && !opt.GuestAlwaysListed
	if checked {
		T(model.Transition{Name: "domain not found", Desc: "libxl_domain_info fails: " + RCNames[v.DomainNotFound()] + ", goto out (device_hotplug_done)",
			From: initiate, To: hotplugDone, Guard: []model.Cond{model.VarEq(guest, model.DomainUnlisted)},
			Sets: []model.Set{set(rc, v.DomainNotFound())}})
	}
	// The qemu bodge decision (4.2, kept in 4.17 for my_domid == 0).
	bodged := QemuBackend(dev.BEKind) && dev.FEDom != 0 && !opt.NoQemuBodge
	if bodged {
		T(model.Transition{Name: "qemu backend, domain not running", Desc: "QEMU_BACKEND && (paused || dying || shutdown): arm the 2 s timer",
			From: initiate, To: bodgeWait, Guard: []model.Cond{model.VarIn(guest, model.DomainPaused, model.DomainCrashed, model.DomainShutdown, model.DomainDying)}})
		T(model.Transition{Name: "qemu backend, domain alive", Desc: "hopefully qemu is still running",
			From: initiate, To: txn, Guard: []model.Cond{model.VarEq(guest, model.DomainRunning)}})
	} else if checked {
		T(model.Transition{Name: "initiate", Desc: "the domain is listed; device is not provided by qemu (e.g. blkback)", From: initiate, To: txn,
			Guard: []model.Cond{alive}})
	} else {
		T(model.Transition{Name: "initiate", Desc: "device is not provided by qemu (e.g. blkback)", From: initiate, To: txn})
	}
	T(model.Transition{Name: "timeout (2 s)", Desc: "hopefully qemu has gone by now and freed its resources",
		From: bodgeWait, To: map[bool]model.LocID{true: bodgeCheck, false: bodgeSet}[v.BodgeChecked()], Timeout: QemuBodgeTimeout})
	if v.BodgeChecked() {
		// 4.4+ (f39b1af257): read, then write only if present and not
		// Closed; the read and the write use XBT_NULL inside an otherwise
		// empty transaction, so they are two steps (xenbus-protocol.md 10.6).
		T(model.Transition{Name: "state present, not Closed", Desc: "read B.E. state (XBT_NULL): present and != 6",
			From: bodgeCheck, To: bodgeSet, Guard: []model.Cond{model.Present(dev.BEState), model.Ne(dev.BEState, S(model.StateClosed))},
			Ops: []model.Op{model.TxnStart(), model.Read(dev.BEState)}})
		T(model.Transition{Name: "state missing or Closed", Desc: "read B.E. state (XBT_NULL): missing or 6, write nothing",
			From: bodgeCheck, To: hotplug, Guard: []model.Cond{model.In(dev.BEState, model.Absent, S(model.StateClosed))},
			Ops: []model.Op{model.TxnStart(), model.Read(dev.BEState), model.TxnCommit()}})
		T(model.Transition{Name: "SET B.E. STATE:=6", Desc: "write 6 (XBT_NULL) and commit the empty transaction",
			From: bodgeSet, To: hotplug, Ops: []model.Op{model.Write(dev.BEState, S(model.StateClosed)), model.TxnCommit()}})
	} else {
		T(model.Transition{Name: "SET B.E. STATE:=6", Desc: "device_qemu_timeout: write 6 with XBT_NULL, no existence check",
			From: bodgeSet, To: hotplug, Ops: []model.Op{model.Write(dev.BEState, S(model.StateClosed))}})
	}

	// The transaction loop of step 3 (4.2) / step 2 (4.17).
	var forcedBodies []model.Transition
	for _, forced := range []bool{false, true} {
		T := T
		if forced {
			T = func(t model.Transition) {
				if t.Kind == model.TxnBody {
					forcedBodies = append(forcedBodies, t)
				}
				a.T(t)
			}
		}
		fg := model.VarNe(force, ForceOn)
		var pre []model.Op
		pre = append(pre, model.TxnStart())
		suffix := ""
		if forced {
			fg = model.VarEq(force, ForceOn)
			pre = append(pre, model.Cleanup(dev.FEDir))
			suffix = ", forced"
		}
		read := model.Read(dev.BEState)
		with := func(ops ...model.Op) []model.Op {
			out := append(append([]model.Op(nil), pre...), read)
			return append(out, ops...)
		}
		if v.BackendGoneEarlyOut() {
			// The abort discards the body, the forced path_cleanup of the
			// frontend included (xenbus-protocol.md 10.3): only the read is
			// left; device_hotplug_done removes the frontend later.
			T(model.Transition{Name: "backend gone" + suffix, Desc: "state missing: \"backend already removed, cleanup frontend only\"; abort (discarding the body), rc = 0 (9eaaedfcdee5)",
				From: txn, To: hotplugDone, Guard: []model.Cond{fg, model.IsAbsent(dev.BEState)},
				Ops: []model.Op{model.TxnStart(), read, model.TxnAbort()}, Sets: []model.Set{set(rc, RCOk)}})
		} else {
			var ops []model.Op
			desc := "state missing: write nothing"
			if v.OnlineUnconditional() {
				ops = append(ops, model.Write(online, zero))
				desc = "state missing: write online = 0 (creates missing parents)"
			}
			T(model.Transition{Name: "backend state missing" + suffix, Desc: desc, Kind: model.TxnBody,
				From: txn, To: commit, Guard: []model.Cond{fg, model.IsAbsent(dev.BEState)}, Ops: with(ops...)})
		}
		var closedOps []model.Op
		if v.OnlineUnconditional() {
			closedOps = append(closedOps, model.Write(online, zero))
		}
		T(model.Transition{Name: "backend Closed" + suffix, Desc: "backend state == 6: no state write", Kind: model.TxnBody,
			From: txn, To: commit, Guard: []model.Cond{fg, model.Eq(dev.BEState, S(model.StateClosed))}, Ops: with(closedOps...)})
		T(model.Transition{Name: "WRITE B.E. STATE:=5" + suffix, Desc: "backend state other: write online = 0 and state = 5", Kind: model.TxnBody,
			From: txn, To: commit, Guard: []model.Cond{fg, model.Ne(dev.BEState, S(model.StateClosed))},
			Ops: with(model.Write(online, zero), model.Write(dev.BEState, S(model.StateClosing)))})
	}
	if b.Allowed(model.RequestFailFault) {
		var bodge []model.LocID
		if bodged {
			bodge = []model.LocID{bodgeSet}
			if v.BodgeChecked() {
				bodge = []model.LocID{bodgeCheck, bodgeSet}
			}
		}
		removeFailures(a, b, di, v, txn, commit, hotplugDone, bodge, rc, forcedBodies)
	}
	commitT(a, commit, txn, waitClosed, []model.Op{model.WatchOp(wState)}, nil)

	// WAIT FOR STATE==6 (libxl__ev_devstate_wait): each event re-reads.
	T(model.On(wState, model.Transition{Name: "state removed", Desc: "\"wanted state 6 but it was removed\": ERROR_INVAL",
		From: waitClosed, To: hotplugDone, Guard: []model.Cond{model.IsAbsent(dev.BEState)},
		Ops: []model.Op{model.Read(dev.BEState), model.UnwatchOp(wState)}, Sets: []model.Set{set(rc, RCInval)}}))
	T(model.On(wState, model.Transition{Name: "state Closed", Desc: "ok",
		From: waitClosed, To: hotplug, Guard: []model.Cond{model.Eq(dev.BEState, S(model.StateClosed))},
		Ops: []model.Op{model.Read(dev.BEState), model.UnwatchOp(wState)}}))
	T(model.Transition{Name: "timeout (10 s), force", Desc: "device_backend_callback: timeout and not forced: force and restart",
		From: waitClosed, To: initiate, Timeout: DestroyTimeout, Guard: []model.Cond{model.VarEq(force, ForceAuto)},
		Ops: []model.Op{model.UnwatchOp(wState)}, Sets: []model.Set{set(force, ForceOn)}})
	T(model.Transition{Name: "timeout (10 s)", Desc: "timeout when forced: NUKE BACKEND without the hotplug script, rc = ERROR_TIMEDOUT",
		From: waitClosed, To: hotplugDone, Timeout: DestroyTimeout, Guard: []model.Cond{model.VarNe(force, ForceAuto)},
		Ops: []model.Op{model.UnwatchOp(wState)}, Sets: []model.Set{set(rc, RCTimedOut)}})

	// RUN HOTPLUG SCRIPT (device_hotplug).
	switch {
	case dev.BEDom != 0 && v.DriverDomainWait():
		wDir := a.Watch("backend", dev.BEDir, false)
		T(model.Transition{Name: "driver domain backend", Desc: "backend_domid != my_domid: wait for the backend directory to go",
			From: hotplug, To: waitRemoved, Ops: []model.Op{model.WatchOp(wDir)}})
		T(model.On(wDir, model.Transition{Name: "backend removed", Desc: "backend directory gone",
			From: waitRemoved, To: hotplugDone, Guard: []model.Cond{model.IsAbsent(dev.BEDir)},
			Ops: []model.Op{model.Read(dev.BEDir), model.UnwatchOp(wDir)}}))
		T(model.Transition{Name: "timeout (10 s)", Desc: "backend directory still there: ERROR_TIMEDOUT",
			From: waitRemoved, To: hotplugDone, Timeout: DestroyTimeout, Ops: []model.Op{model.UnwatchOp(wDir)}, Sets: []model.Set{set(rc, RCTimedOut)}})
	case hasScript(dev.BEKind) && dev.BEDom == 0:
		scriptCases(a, b, di, hotplug, script, hotplugDone, rc, "remove", nil)
	default:
		T(model.Transition{Name: "no script", Desc: "no hotplug script for this device", From: hotplug, To: hotplugDone})
	}
	T(model.Transition{Name: "script exits", Desc: "script exit status 0", From: script, To: hotplugDone})
	T(model.Transition{Name: "script fails", Desc: "script exit status != 0: ignored on remove", From: script, To: hotplugDone, Fault: "hotplug-fail"})
	T(model.Transition{Name: "script hangs", Desc: "the script never exits", From: script, To: hung, Fault: "hotplug-hang"})
	T(model.Transition{Name: fmt.Sprintf("timeout (%d s), kill script", v.HotplugTimeout()/1000), Desc: "SIGKILL at LIBXL_HOTPLUG_TIMEOUT, ignored on remove",
		From: hung, To: hotplugDone, Timeout: v.HotplugTimeout()})

	// device_hotplug_done → libxl__device_destroy.
	nuke := []model.Op{model.TxnStart(), model.Cleanup(dev.FEDir)}
	if dev.LibxlDir != model.NoPath {
		nuke = append(nuke, model.Cleanup(dev.LibxlDir))
	}
	nuke = append(nuke, model.Cleanup(dev.BEDir))
	if v.ForceLevels() {
		T(model.Transition{Name: "destroy (FORCE_ON)", Desc: "REMOVE && FORCE_ON: destroy", From: hotplugDone, To: destroy, Guard: []model.Cond{model.VarEq(force, ForceOn)}})
		T(model.Transition{Name: "destroy (rc == 0)", Desc: "REMOVE && rc == 0: destroy", From: hotplugDone, To: destroy, Guard: []model.Cond{model.VarNe(force, ForceOn), model.VarEq(rc, RCOk)}})
		T(model.Transition{Name: "keep entries", Desc: "not FORCE_ON and rc != 0: leave the entries (6df07f9fbe)", From: hotplugDone, To: done,
			Guard: []model.Cond{model.VarNe(force, ForceOn), model.VarNe(rc, RCOk)}, Marks: []model.Mark{complete}})
	} else {
		T(model.Transition{Name: "destroy", Desc: "every DISCONNECT outcome destroys", From: hotplugDone, To: destroy})
	}
	T(model.Transition{Name: "NUKE BACKEND", Desc: "one transaction: path_cleanup of frontend, /libxl record and backend",
		From: destroy, To: destroyCommit, Kind: model.TxnBody, Ops: nuke})
	if b.Allowed(model.RequestFailFault) {
		destroyFailures(a, b, di, destroy, destroyCommit, done, rc, nuke, []model.Mark{complete})
	}
	commitT(a, destroyCommit, destroy, done, nil, []model.Mark{complete})
	return a.Index()
}

// commitT adds the three ways a transaction ends: commit (then the ops
// after), xenstore conflict (EAGAIN, retry the whole body), and an
// injected EAGAIN (scenario fault "eagain", oxenstored's test-eagain).
func commitT(a *model.ActorBuilder, from, retry, to model.LocID, after []model.Op, marks []model.Mark, sets ...model.Set) {
	a.T(model.Transition{Name: "commit", Desc: "TRANSACTION_END: commit", Kind: model.Commit,
		From: from, To: to, Guard: []model.Cond{model.NoConflict()}, Ops: append([]model.Op{model.TxnCommit()}, after...), Marks: marks, Sets: sets})
	a.T(model.Transition{Name: "xenstore conflict", Desc: "commit fails with EAGAIN: retry the whole transaction", Kind: model.EAGAIN,
		From: from, To: retry, Guard: []model.Cond{model.Conflict()}})
	a.T(model.Transition{Name: "EAGAIN (injected)", Desc: "commit fails with EAGAIN (test-eagain): retry", Kind: model.EAGAIN,
		From: from, To: retry, Fault: "eagain"})
}

// scriptCases adds device_hotplug's start of the script for action ("add"
// or "remove") at from: libxl__get_hotplug_script_info reads the keys of
// ScriptKeys, and a missing one makes it return ERROR_FAIL, which
// device_hotplug passes on ("default: /* everything else is an error */
// ... rc = hotplug; goto out;" → "aodev->rc = rc; device_hotplug_done"),
// on remove as on add: libxl_device.c device_hotplug, RELEASE-4.4.0 to
// RELEASE-4.22.0 (4.2's libxl__device_hotplug does the same). On remove,
// device_hotplug_done then destroys only on FORCE_ON (4.15+), so
// FORCE_AUTO and FORCE_OFF keep the entries and return ERROR_FAIL, and
// FORCE_ON destroys and still returns ERROR_FAIL ("if (!aodev->rc)
// aodev->rc = rc"). fail is the location after a failure, marks its marks.
func scriptCases(a *model.ActorBuilder, b *model.Builder, di int, from, script, fail model.LocID, rc model.VarID, action string, marks []model.Mark) {
	dev := b.Sys().Devices[di]
	keys := ScriptKeys(b, di)
	var reads []model.Op
	var present []model.Cond
	for _, k := range keys {
		reads = append(reads, model.Read(k))
		present = append(present, model.Present(k))
	}
	a.T(model.Transition{Name: "run " + action + " script", Desc: "read " + keyNames(b, keys) + ", fork/exec the " + scriptName(dev.BEKind) + " " + action + " script",
		From: from, To: script, Guard: present, Ops: append(reads, model.Signal("exec "+scriptName(dev.BEKind)+" "+action))})
	for i, k := range keys {
		name := b.Sys().Paths[k].Name
		key := name[strings.LastIndexByte(name, '/')+1:]
		g := append(append([]model.Cond(nil), present[:i]...), model.IsAbsent(k))
		a.T(model.Transition{Name: key + " key missing", Desc: "libxl__get_hotplug_script_info: \"unable to read " + key + "\": ERROR_FAIL, no script run",
			From: from, To: fail, Guard: g, Ops: append([]model.Op(nil), reads[:i+1]...), Sets: []model.Set{{Var: rc, Val: RCFail}}, Marks: marks})
		if b.Allowed(model.RequestFailFault) {
			// libxl__xs_read returns NULL on any error (xs_read's result,
			// libxl_xshelp.c), which the code takes as the key missing.
			a.T(b.RequestFails(model.Transition{Name: key + " read fails", Desc: "the XBT_NULL read of BE/" + key + " fails: libxl__xs_read returns NULL, \"unable to read " + key + "\": ERROR_FAIL, no script run",
				From: from, To: fail, Guard: append([]model.Cond(nil), present[:i+1]...), Ops: append([]model.Op(nil), reads[:i+1]...),
				Sets: []model.Set{{Var: rc, Val: RCFail}}, Marks: marks}))
		}
	}
}

func keyNames(b *model.Builder, keys []model.PathID) string {
	var n []string
	for _, k := range keys {
		name := b.Sys().Paths[k].Name
		n = append(n, "BE/"+name[strings.LastIndexByte(name, '/')+1:])
	}
	return strings.Join(n, " and ")
}

func scriptName(beKind string) string {
	if beKind == "vif" {
		return "vif-bridge"
	}
	return "block"
}
