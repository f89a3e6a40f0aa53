package libxl

import (
	"fmt"

	"github.com/xbcheck/xbcheck/model"
)

// Location names of the add operation.
const (
	LocAddTxn        = "add-txn"
	LocAddCommit     = "add-commit"
	LocWaitInitWait  = "wait-initwait"
	LocAddHotplug    = "add-hotplug"
	LocAddScript     = "add-script"
	LocAddScriptHung = "add-script-hung"
)

// GenericAddOps returns the body of libxl__device_generic_add
// (xenbus-protocol.md 2.3): rm, mkdir and set perms of the frontend, its
// entries, then the same for the backend, and with /libxl records (4.7+)
// the libxl copy. extraBE are more backend writes of the caller.
func GenericAddOps(b *model.Builder, di int, extraBE ...model.Op) []model.Op {
	dev := b.Sys().Devices[di]
	var ops []model.Op
	ops = append(ops, model.Rm(dev.FEDir), model.Mkdir(dev.FEDir), model.SetPerms(dev.FEDir))
	ops = append(ops, b.FrontendEntries(di)...)
	ops = append(ops, model.Rm(dev.BEDir), model.Mkdir(dev.BEDir), model.SetPerms(dev.BEDir))
	ops = append(ops, b.BackendEntries(di)...)
	ops = append(ops, extraBE...)
	if dev.LibxlDir != model.NoPath {
		ops = append(ops, LibxlRecordOps(b, di)...)
	}
	return ops
}

// LibxlRecordOps returns the writes of the /libxl/<domid>/device record.
func LibxlRecordOps(b *model.Builder, di int) []model.Op {
	dev := b.Sys().Devices[di]
	sys := b.Sys()
	return []model.Op{
		model.Write(b.Join(dev.LibxlDir, "frontend"), b.Value(sys.Paths[dev.FEDir].Name)),
		model.Write(b.Join(dev.LibxlDir, "backend"), b.Value(sys.Paths[dev.BEDir].Name)),
	}
}

// Add adds the device add operation of device di:
// libxl__device_add_async / device_disk_add (xenbus-protocol.md 5), with
// libxl__wait_device_connection and the add hotplug script. It returns the
// actor's index.
func Add(b *model.Builder, di int, v Version) int {
	sys := b.Sys()
	dev := sys.Devices[di]
	a := b.Actor(fmt.Sprintf("libxl-add(%s)", dev.Name), model.Toolstack, -1, true)
	txn := a.Loc(LocAddTxn, "transaction: libxl__device_exists?, libxl__device_generic_add")
	commit := a.Loc(LocAddCommit, "commit the transaction (EAGAIN: retry)")
	wait := a.Loc(LocWaitInitWait, "libxl__wait_device_connection: WAIT FOR STATE==2")
	hotplug := a.Loc(LocAddHotplug, "device_hotplug: run the add script?")
	script := a.Loc(LocAddScript, "add script running")
	hung := a.Loc(LocAddScriptHung, "add script hung: killed at LIBXL_HOTPLUG_TIMEOUT")
	done := a.Final(LocDone, "DONE: the operation's callback gets rc")
	rc := a.Var("rc", RCOk, RCNames...)
	set := func(val uint8) []model.Set { return []model.Set{{Var: rc, Val: val}} }
	complete := []model.Mark{{Kind: model.MarkComplete, Var: rc, Device: di, Op: "add"}}
	S := func(x model.XenbusState) model.Value { return x.Value() }
	T := func(t model.Transition) { a.T(t) }
	w := a.Watch("state", dev.BEState, false)

	// The backend entries libxl's hotplug code reads back: script (vbd,
	// vif) and type (vif).
	extra := ScriptKeyOps(b, di)
	if dev.BEKind == "vif" && v.EmptyHotplugStatus() {
		extra = append(extra, model.Write(dev.Hotplug, model.Empty))
	}
	body := append([]model.Op{model.TxnStart()}, GenericAddOps(b, di, extra...)...)
	guard := []model.Cond(nil)
	// libxl__device_exists inside the add transaction: "rc =
	// libxl__xs_read_checked(gc, t, be_path, &dir); ... if (dir) return 1;"
	// and the caller "if (rc == 1) { ... rc = ERROR_DEVICE_EXISTS; goto
	// out; }". 4.5 and 4.6 read the backend path, 4.7+ the /libxl path
	// (Version.DeviceExists).
	exists := model.NoPath
	what := ""
	switch v.DeviceExists() {
	case "backend":
		exists, what = dev.BEDir, "the backend directory"
	case "libxl":
		exists, what = dev.LibxlDir, "the /libxl record"
	}
	if exists != model.NoPath {
		T(model.Transition{Name: "device exists", Desc: "libxl__device_exists: " + what + " is there: ERROR_DEVICE_EXISTS",
			From: txn, To: done, Guard: []model.Cond{model.Present(exists)},
			Ops: []model.Op{model.TxnStart(), model.Read(exists), model.TxnAbort()}, Sets: set(RCDeviceExists), Marks: complete})
		guard = []model.Cond{model.IsAbsent(exists)}
		body = append([]model.Op{model.TxnStart(), model.Read(exists)}, body[1:]...)
	}
	T(model.Transition{Name: "write entries", Desc: "libxl__device_generic_add: frontend and backend directories, state 1",
		From: txn, To: commit, Kind: model.TxnBody, Guard: guard, Ops: body})
	if b.Allowed(model.RequestFailFault) {
		pre := body[:len(body)-len(GenericAddOps(b, di, extra...))]
		addFailures(a, b, di, v, txn, commit, done, rc, guard, pre, extra, complete)
	}
	if QemuBackend(dev.BEKind) {
		commitT(a, commit, txn, hotplug, nil, nil)
	} else {
		commitT(a, commit, txn, wait, []model.Op{model.WatchOp(w)}, nil)
	}
	T(model.On(w, model.Transition{Name: "state removed", Desc: "\"wanted state 2 but it was removed\": ERROR_INVAL",
		From: wait, To: done, Guard: []model.Cond{model.IsAbsent(dev.BEState)},
		Ops: []model.Op{model.Read(dev.BEState), model.UnwatchOp(w)}, Sets: set(RCInval), Marks: complete}))
	T(model.On(w, model.Transition{Name: "state InitWait", Desc: "backend reached exactly 2",
		From: wait, To: hotplug, Guard: []model.Cond{model.Eq(dev.BEState, S(model.StateInitWait))},
		Ops: []model.Op{model.Read(dev.BEState), model.UnwatchOp(w)}}))
	T(model.Transition{Name: "timeout (10 s)", Desc: "LIBXL_INIT_TIMEOUT: ERROR_TIMEDOUT (the match is exact: a backend past 2 is never seen)",
		From: wait, To: done, Timeout: InitTimeout, Ops: []model.Op{model.UnwatchOp(w)}, Sets: set(RCTimedOut), Marks: complete})

	switch {
	case hasScript(dev.BEKind) && dev.BEDom == 0:
		scriptCases(a, b, di, hotplug, script, done, rc, "add", complete)
	case dev.BEDom != 0 && v.DriverDomainWait():
		T(model.Transition{Name: "driver domain", Desc: "backend in a driver domain: xl devd runs the scripts there",
			From: hotplug, To: done, Marks: complete})
	default:
		T(model.Transition{Name: "no script", Desc: "no hotplug script for this device", From: hotplug, To: done, Marks: complete})
	}
	var ok []model.Op
	if dev.BEKind == "vbd" {
		ok = append(ok, model.Write(b.BEKey(di, "physical-device"), b.Value("8:0")))
	}
	ok = append(ok, model.Write(dev.Hotplug, b.Value("connected")))
	T(model.Transition{Name: "script succeeds", Desc: "the script writes physical-device and hotplug-status = connected, exits 0",
		From: script, To: done, Ops: ok, Marks: complete})
	T(model.Transition{Name: "script fails", Desc: "the script writes hotplug-error and hotplug-status = error, exits 1: ERROR_FAIL",
		From: script, To: done, Fault: "hotplug-fail", Sets: set(RCFail), Marks: complete,
		Ops: []model.Op{model.Write(b.BEKey(di, "hotplug-error"), b.Value("script failed")), model.Write(dev.Hotplug, b.Value("error"))}})
	T(model.Transition{Name: "script hangs", Desc: "the script never exits", From: script, To: hung, Fault: "hotplug-hang"})
	T(model.Transition{Name: fmt.Sprintf("timeout (%d s), kill script", v.HotplugTimeout()/1000), Desc: "SIGKILL at LIBXL_HOTPLUG_TIMEOUT: ERROR_TIMEDOUT",
		From: hung, To: done, Timeout: v.HotplugTimeout(), Sets: set(RCTimedOut), Marks: complete})
	return a.Index()
}
