package libxl_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/model/libxl"
)

// failRun is a libxl operation on one vbd run alone (no drivers) with
// the fault request-fail allowed.
type failRun struct {
	sys *model.System
	st  model.State
	ai  int
	di  int
	ran []string
	// after is the state right after the named transition ran.
	after model.State
	// stop, if set, is a location where run stops.
	stop string
}

// newFailRun builds the operation op ("add", "remove", "destroy",
// "destroy-noscript": without BE/script) of libxl 4.minor on a vbd of
// domain 1 served by dom0; a remove or destroy starts with both ends
// Closed, so that the state wait reads 6 at once.
func newFailRun(t *testing.T, op string, minor int, fault bool) *failRun {
	t.Helper()
	v := libxl.Version{Minor: minor}
	b := model.NewBuilder(t.Name())
	b.Domain(0, "dom0", model.DomainRunning)
	b.Domain(1, "G", model.DomainRunning)
	di := b.NewDevice(model.DeviceSpec{Name: "xvda", Kind: "vbd", BEKind: "vbd", DevID: 51712, FEDom: 1, BEDom: 0, LibxlRecord: v.LibxlRecords()})
	if fault {
		b.Allow(model.RequestFailFault)
	}
	var ai int
	switch op {
	case "add":
		ai = libxl.Add(b, di, v)
	default:
		b.InitEntries(b.FrontendEntries(di))
		b.InitEntries(b.BackendEntries(di))
		b.InitEntries(libxl.ScriptKeyOps(b, di))
		if v.LibxlRecords() {
			b.InitEntries(libxl.LibxlRecordOps(b, di))
		}
		dev := b.Sys().Devices[di]
		b.Init(dev.FEState, model.StateClosed.Value())
		b.Init(dev.BEState, model.StateClosed.Value())
		if op == "destroy-noscript" {
			b.InitRemove(b.BEKey(di, "script"))
		}
		force := libxl.ForceAuto
		if op != "remove" {
			force = libxl.ForceOn
		}
		ai = libxl.Remove(b, di, libxl.RemoveOptions{Version: v, Force: force})
	}
	sys, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return &failRun{sys: sys, st: sys.Initial(), ai: ai, di: di}
}

// run moves the operation until it is done: at each step the transition
// named want if it is enabled (it must be, once), else the first enabled
// transition of the operation without a fault that is not a timer. It
// returns false if want never ran.
func (r *failRun) run(t *testing.T, want string) bool {
	t.Helper()
	took := false
	for steps := 0; steps < 40 && (r.stop == "" || r.loc() != r.stop); steps++ {
		var next, named *model.Transition
		r.sys.Successors(r.st, make(model.State, len(r.st)), func(tr *model.Transition, _ model.State) bool {
			if tr.Actor != r.ai {
				return true
			}
			if tr.Name == want && !took && named == nil {
				named = tr
			}
			if tr.Fault == "" && tr.Timeout == 0 && next == nil {
				next = tr
			}
			return true
		})
		if named != nil {
			next, took = named, true
		}
		if next == nil {
			break
		}
		r.ran = append(r.ran, next.Name)
		r.st = r.sys.Apply(r.st, next)
		if next == named {
			r.after = r.st
		}
	}
	return took
}

func (r *failRun) loc() string {
	return r.sys.Actors[r.ai].Locs[r.sys.LocOf(r.st, r.ai)].Name
}

func (r *failRun) rc() string {
	a := r.sys.Actors[r.ai]
	for v := range r.sys.Vars {
		if r.sys.Vars[v].Name == a.Name+".rc" {
			return libxl.RCNames[r.sys.VarValue(r.st, model.VarID(v))]
		}
	}
	return "?"
}

// has reports which of the paths (FE, BE, FE/state, BE/state, BE/online,
// /libxl, /libxl/frontend) exist.
func (r *failRun) has() string {
	dev := r.sys.Devices[r.di]
	var out []string
	for _, c := range []struct {
		name string
		p    string
	}{{"FE", ""}, {"FE/state", "state"}, {"BE", ""}, {"BE/state", "state"}, {"BE/online", "online"}, {"/libxl", ""}, {"/libxl/frontend", "frontend"}} {
		dir := dev.FEDir
		switch {
		case strings.HasPrefix(c.name, "BE"):
			dir = dev.BEDir
		case strings.HasPrefix(c.name, "/libxl"):
			dir = dev.LibxlDir
		}
		if dir == model.NoPath {
			continue
		}
		name := r.sys.Paths[dir].Name
		if c.p != "" {
			name += "/" + c.p
		}
		for i := range r.sys.Paths {
			if r.sys.Paths[i].Name == name && r.sys.Exists(r.st, model.PathID(i)) {
				out = append(out, c.name)
			}
		}
	}
	return strings.Join(out, " ")
}

// budgetSpent reports whether no request-fail transition is enabled
// right after the failure and at any later state of the run (the state
// after the failure and the end).
func (r *failRun) budgetSpent() bool {
	spent := true
	for i := range r.sys.Trans {
		tr := &r.sys.Trans[i]
		if tr.Fault == model.RequestFailFault && (r.sys.Enabled(r.after, tr) || r.sys.Enabled(r.st, tr)) {
			spent = false
		}
	}
	return spent
}

// fePermsMade reports whether the frontend directory's permissions were
// set by SET_PERMS (not inherited by a write that made it), and the
// state offset of that flag (-1 when the directory has no list of its
// own).
func (r *failRun) fePermsMade() (bool, int) {
	off := r.sys.PermFlagOffset(r.sys.Devices[r.di].FEDir)
	return off >= 0 && r.st[off] != 0, off
}

// take runs the operation with fail taken (run; "" takes none) and
// reports, under name, a fail that never became enabled: then the case
// has nothing more to check.
func (r *failRun) take(t *testing.T, name, fail string) bool {
	t.Helper()
	if !r.run(t, fail) && fail != "" {
		t.Errorf("%s: %q never enabled; ran %v", name, fail, r.ran)
		return false
	}
	return true
}

// checkSpent reports, under name, a run that took fail (not "") after
// which another request may still fail.
func (r *failRun) checkSpent(t *testing.T, name, fail string) {
	t.Helper()
	if fail != "" && !r.budgetSpent() {
		t.Errorf("%s %q: another request may still fail", name, fail)
	}
}

// TestAddRequestFails: each failed request of the add transaction, as the
// code of each version handles it (fail.go): before 4.19 an unchecked
// request of libxl__device_generic_add is skipped and the rest written, a
// checked one (the /libxl record's, 4.7+) returns, and the callers ignore
// generic_add's rc and commit what was written; from 4.19 every request
// is checked. A failure before generic_add or of the commit is
// ERROR_FAIL with nothing written. The runs end where the operation ends
// without drivers: the backend state never reaches 2, so a present
// BE/state leaves it waiting, a missing one is ERROR_INVAL.
func TestAddRequestFails(t *testing.T) {
	for _, c := range []struct {
		minor      int
		fail       string
		loc, rc    string
		has        string
		fePermsSet bool
	}{
		{17, "", libxl.LocWaitInitWait, "0", "FE FE/state BE BE/state BE/online /libxl /libxl/frontend", true},
		{17, "request fails before generic_add", libxl.LocDone, "ERROR_FAIL", "", false},
		{17, "commit fails", libxl.LocDone, "ERROR_FAIL", "", false},
		{19, "commit fails", libxl.LocDone, "ERROR_FAIL", "", false},
		// 4.17: an unchecked MKDIR: the writes below create the directory,
		// without the SET_PERMS (made on a missing node).
		{17, "write entries (MKDIR FE fails, ignored)", libxl.LocWaitInitWait, "0", "FE FE/state BE BE/state BE/online /libxl /libxl/frontend", false},
		{17, "write entries (WRITE BE/state fails, ignored)", libxl.LocDone, "ERROR_INVAL", "FE FE/state BE BE/online /libxl /libxl/frontend", true},
		{17, "write entries (WRITE /libxl/backend fails, generic_add returns)", libxl.LocDone, "ERROR_INVAL", "/libxl /libxl/frontend", false},
		{17, "write entries (WRITE /libxl/frontend fails, generic_add returns)", libxl.LocDone, "ERROR_INVAL", "", false},
		// 4.19: the same MKDIR returns; the /libxl record and the RM before
		// it are committed.
		{19, "write entries (MKDIR FE fails, generic_add returns)", libxl.LocDone, "ERROR_INVAL", "/libxl /libxl/frontend", false},
		{19, "write entries (WRITE BE/state fails, generic_add returns)", libxl.LocDone, "ERROR_INVAL", "FE FE/state BE BE/online /libxl /libxl/frontend", true},
		// 4.6: no /libxl record, nothing checked.
		{6, "write entries (WRITE BE/state fails, ignored)", libxl.LocDone, "ERROR_INVAL", "FE FE/state BE BE/online", true},
	} {
		r := newFailRun(t, "add", c.minor, true)
		name := fmt.Sprintf("4.%d", c.minor)
		if !r.take(t, name, c.fail) {
			continue
		}
		permsSet, off := r.fePermsMade()
		if r.loc() != c.loc || r.rc() != c.rc || r.has() != c.has || (off >= 0 && permsSet != c.fePermsSet) {
			t.Errorf("4.%d %q: at %s, rc %s, present %q, FE SET_PERMS %v (slot %d); want %s, %s, %q, %v\n\tsteps %v",
				c.minor, c.fail, r.loc(), r.rc(), r.has(), permsSet, off, c.loc, c.rc, c.has, c.fePermsSet, r.ran)
		}
		r.checkSpent(t, name, c.fail)
	}
}

// TestRemoveRequestFails: libxl__initiate_device_generic_remove checks
// every request and goes to out (ERROR_FAIL, device_hotplug_done, which
// destroys only on FORCE_ON from 4.15, always before); libxl__device_destroy
// ignores libxl__xs_path_cleanup's rc and fails on its transaction's
// start and commit, keeping an earlier rc.
func TestRemoveRequestFails(t *testing.T) {
	for _, c := range []struct {
		op    string
		minor int
		fail  string
		rc    string
		has   string
		stop  string
	}{
		{"remove", 17, "", "0", "", ""},
		{"remove", 17, "request fails", "ERROR_FAIL", "FE FE/state BE BE/state BE/online /libxl /libxl/frontend", ""},
		{"remove", 14, "request fails", "ERROR_FAIL", "", ""},
		{"remove", 17, "commit fails", "ERROR_FAIL", "FE FE/state BE BE/state BE/online /libxl /libxl/frontend", ""},
		// The script key's read fails: as if missing, ERROR_FAIL, the
		// entries kept (FORCE_AUTO).
		{"remove", 17, "script read fails", "ERROR_FAIL", "FE FE/state BE BE/state BE/online /libxl /libxl/frontend", ""},
		{"remove", 17, "NUKE BACKEND (path_cleanup FE fails, ignored)", "0", "FE FE/state", ""},
		{"remove", 17, "NUKE BACKEND (path_cleanup BE fails, ignored)", "0", "BE BE/state BE/online", ""},
		{"remove", 17, "destroy: commit fails, rc was 0", "ERROR_FAIL", "FE FE/state BE BE/state BE/online /libxl /libxl/frontend", ""},
		{"remove", 17, "destroy: transaction start fails, rc was 0", "ERROR_FAIL", "FE FE/state BE BE/state BE/online /libxl /libxl/frontend", ""},
		{"destroy", 17, "request fails", "ERROR_FAIL", "", ""},
		{"destroy", 17, "backend Closed, forced (path_cleanup of FE fails, ignored)", "0", "FE FE/state BE BE/state BE/online /libxl /libxl/frontend", libxl.LocHotplug},
		{"destroy", 17, "", "0", "BE BE/state BE/online /libxl /libxl/frontend", libxl.LocHotplug},
		// The script key missing is ERROR_FAIL before the destroy (the
		// forced body removed the frontend); the destroy's failure keeps
		// that rc and removes nothing more.
		{"destroy-noscript", 17, "destroy: commit fails, rc kept", "ERROR_FAIL", "BE BE/state BE/online /libxl /libxl/frontend", ""},
		{"destroy-noscript", 17, "destroy: transaction start fails, rc kept", "ERROR_FAIL", "BE BE/state BE/online /libxl /libxl/frontend", ""},
	} {
		r := newFailRun(t, c.op, c.minor, true)
		r.stop = c.stop
		name := fmt.Sprintf("%s 4.%d", c.op, c.minor)
		if !r.take(t, name, c.fail) {
			continue
		}
		end := libxl.LocDone
		if c.stop != "" {
			end = c.stop
		}
		if r.loc() != end || r.rc() != c.rc || r.has() != c.has {
			t.Errorf("%s 4.%d %q: at %s, rc %s, present %q; want %s, %s, %q\n\tsteps %v",
				c.op, c.minor, c.fail, r.loc(), r.rc(), r.has(), end, c.rc, c.has, r.ran)
		}
		r.checkSpent(t, name, c.fail)
	}
}

// TestRequestFailsOnlyWithFault: without the fault the operations have
// no failure variant and no budget variable, so the scenarios without it
// keep their state layout.
func TestRequestFailsOnlyWithFault(t *testing.T) {
	for _, op := range []string{"add", "remove"} {
		r := newFailRun(t, op, 19, false)
		for i := range r.sys.Trans {
			if r.sys.Trans[i].Fault == model.RequestFailFault {
				t.Errorf("%s: %s without the fault", op, r.sys.Trans[i].Name)
			}
		}
		if slices.ContainsFunc(r.sys.Vars, func(v model.Var) bool { return v.Name == "xenstored.failures-left" }) {
			t.Errorf("%s: budget variable without the fault", op)
		}
	}
}

// TestPCINumDevsReadFails: libxl__device_pci_add_xenstore reads
// num_devs with libxl__xs_read, whose NULL on error reads as "no backend
// yet": a second attach whose read fails creates the backend again in its
// transaction (libxl__create_pci_backend's xs_rm of the backend), and the
// function attached first is gone from xenstore: dev-0 is the new one and
// num_devs is 1 (RELEASE-4.17.0).
func TestPCINumDevsReadFails(t *testing.T) {
	for _, c := range []struct {
		fail        string
		dev0, num   string
		wantStep    string
		failureUsed bool
	}{
		{"", "0000:02:00.0", "2", "writev dev-1, state = 7", false},
		{"num_devs read fails", "0000:03:00.0", "1", "create_pci_backend, writev dev-0", true},
	} {
		r := pciFailSystem(t, 17, false)
		if !r.take(t, "second attach", c.fail) {
			continue
		}
		sys, dev := r.sys, r.sys.Devices[r.di]
		get := func(key string) string {
			p, _ := sys.PathByName(sys.Paths[dev.BEDir].Name + "/" + key)
			return sys.FormatValue(sys.Get(r.st, p))
		}
		if r.loc() != libxl.LocDone || r.rc() != "0" || !strings.Contains(strings.Join(r.ran, "; "), c.wantStep) ||
			get("dev-0") != fmt.Sprintf("%q", c.dev0) || get("num_devs") != fmt.Sprintf("%q", c.num) {
			t.Errorf("%q: at %s, rc %s, dev-0 %s, num_devs %s, steps %v; want done, 0, %q, %q, a step %q",
				c.fail, r.loc(), r.rc(), get("dev-0"), get("num_devs"), r.ran, c.dev0, c.num, c.wantStep)
		}
	}
}

// pciFailSystem builds a PCI add of libxl 4.minor for a PV guest, with
// request-fail allowed; with first, the guest has no PCI backend yet,
// else one connected function (num_devs 1, dev-0).
func pciFailSystem(t *testing.T, minor int, first bool) *failRun {
	t.Helper()
	b := model.NewBuilder(t.Name())
	b.Domain(0, "dom0", model.DomainRunning)
	b.Domain(1, "G", model.DomainRunning)
	di := b.NewDevice(model.DeviceSpec{Name: "pci", Kind: "pci", BEKind: "pci", DevID: 0, FEDom: 1, BEDom: 0, LibxlRecord: minor >= 7})
	dev := b.Sys().Devices[di]
	if !first {
		b.InitEntries(b.FrontendEntries(di))
		b.InitEntries(b.BackendEntries(di))
		b.Init(dev.FEState, model.StateConnected.Value())
		b.Init(dev.BEState, model.StateConnected.Value())
		b.Init(b.BEKey(di, "num_devs"), b.Value("1"))
		b.Init(b.BEKey(di, "dev-0"), b.Value("0000:02:00.0"))
	}
	b.Allow(model.RequestFailFault)
	lock := b.Var("userdata-lock", 0)
	ai := libxl.PCIAdd(b, di, libxl.PCIOptions{Version: libxl.Version{Minor: minor}, PV: true, BDF: "0000:03:00.0", Lock: lock, Slots: 2})
	sys, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return &failRun{sys: sys, st: sys.Initial(), ai: ai, di: di}
}

// TestPCIBodyRequestFails: the requests of libxl__device_pci_add_xenstore's
// transaction body go unchecked (libxl__create_pci_backend is void, the
// body's libxl__xs_writev's rc is ignored) and the body is committed with
// rc 0: before 4.19 only the failed write is missing; from 4.19
// libxl__xs_writev returns at it, so the keys after it in the same writev
// are missing too. A failed MKDIR of the frontend leaves a frontend
// directory made by a write, without its SET_PERMS, in every version.
func TestPCIBodyRequestFails(t *testing.T) {
	for _, c := range []struct {
		minor int
		first bool
		fail  string
		// want: the backend keys' values ("" when absent).
		want map[string]string
		// fePerms: the frontend directory's SET_PERMS was made.
		fePerms bool
	}{
		{17, false, "writev dev-1, state = 7 (WRITE BE/dev-1 fails, ignored)",
			map[string]string{"key-1": `"0000:03:00.0"`, "dev-1": "", "state-1": `"1"`, "num_devs": `"2"`, "state": `"7"`}, false},
		{22, false, "writev dev-1, state = 7 (WRITE BE/dev-1 fails, ignored)",
			map[string]string{"key-1": `"0000:03:00.0"`, "dev-1": "", "state-1": "", "num_devs": `"1"`, "state": `"4"`}, false},
		{22, true, "create_pci_backend, writev dev-0 (MKDIR FE fails, ignored)",
			map[string]string{"dev-0": `"0000:03:00.0"`, "num_devs": `"1"`, "state": `"1"`}, false},
		{22, true, "create_pci_backend, writev dev-0 (WRITE BE/frontend-id fails, ignored)",
			map[string]string{"frontend": `"/local/domain/1/device/pci/0"`, "frontend-id": "", "online": "", "state": "", "dev-0": `"0000:03:00.0"`}, true},
		{17, true, "create_pci_backend, writev dev-0 (WRITE BE/frontend-id fails, ignored)",
			map[string]string{"frontend": `"/local/domain/1/device/pci/0"`, "frontend-id": "", "online": `"1"`, "state": `"1"`, "dev-0": `"0000:03:00.0"`}, true},
	} {
		r := pciFailSystem(t, c.minor, c.first)
		r.stop = libxl.LocDone
		name := fmt.Sprintf("4.%d", c.minor)
		if !r.take(t, name, c.fail) {
			continue
		}
		dev := r.sys.Devices[r.di]
		for k, want := range c.want {
			got := ""
			if p, ok := r.sys.PathByName(r.sys.Paths[dev.BEDir].Name + "/" + k); ok && r.sys.Exists(r.st, p) {
				got = r.sys.FormatValue(r.sys.Get(r.st, p))
			}
			if got != want {
				t.Errorf("4.%d %q: BE/%s %s; want %s", c.minor, c.fail, k, got, want)
			}
		}
		if r.loc() != libxl.LocDone || r.rc() != "0" {
			t.Errorf("4.%d %q: at %s, rc %s; want done, 0 (steps %v)", c.minor, c.fail, r.loc(), r.rc(), r.ran)
		}
		if c.first {
			made, off := r.fePermsMade()
			if !r.sys.Exists(r.st, dev.FEDir) || off < 0 || made != c.fePerms {
				t.Errorf("4.%d %q: FE present %v, SET_PERMS made %v; want present, %v", c.minor, c.fail, r.sys.Exists(r.st, dev.FEDir), made, c.fePerms)
			}
		}
		r.checkSpent(t, name, c.fail)
	}
}

// TestPCICreateARequestFails: variant A (libxl 4.2–4.14) creates the
// backend with libxl__device_generic_add(XBT_NULL) and returns its rc: a
// failed transaction start makes every request outside a transaction and
// the end fails (ERROR_FAIL with everything written); the checked /libxl
// record and a failed commit abort (ERROR_FAIL, nothing written); an
// unchecked request is skipped (rc 0).
func TestPCICreateARequestFails(t *testing.T) {
	for _, c := range []struct {
		minor int
		fail  string
		rc    string
		has   string
	}{
		{14, "", "0", "FE FE/state BE BE/state BE/online /libxl /libxl/frontend"},
		{14, "libxl__create_pci_backend (transaction start fails)", "ERROR_FAIL", "FE FE/state BE BE/state BE/online /libxl /libxl/frontend"},
		{14, "libxl__create_pci_backend (commit fails)", "ERROR_FAIL", ""},
		{14, "libxl__create_pci_backend (/libxl record fails)", "ERROR_FAIL", ""},
		{14, "libxl__create_pci_backend (WRITE BE/online fails, ignored)", "0", "FE FE/state BE BE/state /libxl /libxl/frontend"},
		{4, "libxl__create_pci_backend (WRITE FE/state fails, ignored)", "0", "FE BE BE/state BE/online"},
	} {
		r := pciFailSystem(t, c.minor, true)
		r.stop = libxl.LocDone
		name := fmt.Sprintf("4.%d", c.minor)
		if !r.take(t, name, c.fail) {
			continue
		}
		if r.loc() != libxl.LocDone || r.rc() != c.rc || r.has() != c.has {
			t.Errorf("4.%d %q: at %s, rc %s, present %q; want done, %s, %q (steps %v)", c.minor, c.fail, r.loc(), r.rc(), r.has(), c.rc, c.has, r.ran)
		}
		r.checkSpent(t, name, c.fail)
	}
}

// TestDevicesDestroyCbRequestFails: devices_destroy_cb's failed
// GET_DOMAIN_PATH is ERROR_FAIL with nothing removed and the domain not
// destroyed; a failed xs_rm of /local/domain/<id> or /libxl/<id> is
// ignored: that path stays, the domain is destroyed.
func TestDevicesDestroyCbRequestFails(t *testing.T) {
	for _, c := range []struct {
		fail        string
		loc         string
		local, lxl  bool
		domainDying bool
	}{
		{"", libxl.LocDone, false, false, true},
		{"get dompath fails", "dompath-failed", true, true, false},
		{"xs_rm domain paths (rm /local/domain/1 fails, ignored)", libxl.LocDone, true, false, true},
		{"xs_rm domain paths (rm /libxl/1 fails, ignored)", libxl.LocDone, false, true, true},
	} {
		b := model.NewBuilder(t.Name())
		b.Domain(0, "dom0", model.DomainRunning)
		b.Domain(1, "G", model.DomainRunning)
		b.Init(b.Path("/local/domain/1/name"), b.Value("G"))
		b.Init(b.Path("/libxl/1/type"), b.Value("pv"))
		b.Allow(model.RequestFailFault)
		ai := libxl.DomainDestroy(b, 1, libxl.Version{Minor: 17}, nil, -1)
		sys, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		r := &failRun{sys: sys, st: sys.Initial(), ai: ai, di: -1}
		if !r.take(t, "devices_destroy_cb", c.fail) {
			continue
		}
		exists := func(name string) bool {
			p, ok := sys.PathByName(name)
			return ok && sys.Exists(r.st, p)
		}
		dying := sys.VarValue(r.st, sys.Domains[1]) == model.DomainDying
		if r.loc() != c.loc || exists("/local/domain/1") != c.local || exists("/libxl/1") != c.lxl || dying != c.domainDying {
			t.Errorf("%q: at %s, /local/domain/1 %v, /libxl/1 %v, dying %v; want %s, %v, %v, %v (steps %v)",
				c.fail, r.loc(), exists("/local/domain/1"), exists("/libxl/1"), dying, c.loc, c.local, c.lxl, c.domainDying, r.ran)
		}
	}
}

// TestDevdRemoveRequestFails: xl devd's remove_device in the driver
// domain ends in libxl__device_destroy; a failed request there (the domid
// read, the start, the ignored path_cleanup of the backend, the commit)
// leaves the backend directory.
func TestDevdRemoveRequestFails(t *testing.T) {
	for _, c := range []struct {
		fail string
		be   bool
	}{
		{"", false},
		{"remove_device (destroy's request fails)", true},
	} {
		b := model.NewBuilder(t.Name())
		b.Domain(0, "dom0", model.DomainRunning)
		b.Domain(1, "G", model.DomainRunning)
		b.Domain(2, "DD", model.DomainRunning)
		di := b.NewDevice(model.DeviceSpec{Name: "vif0", Kind: "vif", BEKind: "vif", DevID: 0, FEDom: 1, BEDom: 2, LibxlRecord: true})
		b.InitEntries(b.BackendEntries(di))
		dev := b.Sys().Devices[di]
		b.Init(dev.BEState, model.StateClosed.Value())
		b.Init(b.BEKey(di, "online"), b.Value("0"))
		b.Allow(model.RequestFailFault)
		ai := libxl.Devd(b, di, libxl.Version{Minor: 17})
		sys, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		r := &failRun{sys: sys, st: sys.Initial(), ai: ai, di: di}
		if !r.take(t, "xl devd", c.fail) {
			continue
		}
		if r.loc() != "removed" || sys.Exists(r.st, dev.BEDir) != c.be {
			t.Errorf("%q: at %s, backend present %v; want removed, %v (steps %v)", c.fail, r.loc(), sys.Exists(r.st, dev.BEDir), c.be, r.ran)
		}
	}
}

// TestWaitReadFails: a failed XBT_NULL read of a wait of libxl's event
// machinery (waitReadFails) ends the wait with ERROR_FAIL, which
// device_backend_callback passes to device_hotplug_done (no forced
// restart, that is ERROR_TIMEDOUT's): an add ends with ERROR_FAIL and its
// entries; a remove keeps them from 4.15 unless forced, destroys them
// before 4.15, and a forced one (destroy) destroys them with ERROR_FAIL.
// The failure is enabled whatever the node reads (the add's backend is at
// 1, the remove's at 6, where the handler would go on).
func TestWaitReadFails(t *testing.T) {
	all := "FE FE/state BE BE/state BE/online /libxl /libxl/frontend"
	for _, c := range []struct {
		op    string
		minor int
		fail  string
		rc    string
		has   string
	}{
		{"add", 17, "READ BE/state fails", "ERROR_FAIL", all},
		{"add", 4, "READ BE/state fails", "ERROR_FAIL", "FE FE/state BE BE/state BE/online"},
		{"remove", 17, "READ BE/state fails", "ERROR_FAIL", all},
		{"remove", 22, "READ BE/state fails", "ERROR_FAIL", all},
		{"remove", 14, "READ BE/state fails", "ERROR_FAIL", ""},
		{"remove", 2, "READ BE/state fails", "ERROR_FAIL", ""},
		// The forced body removed the frontend; the destroy removes the
		// rest and the rc stays ERROR_FAIL.
		{"destroy", 17, "READ BE/state fails", "ERROR_FAIL", ""},
	} {
		r := newFailRun(t, c.op, c.minor, true)
		name := fmt.Sprintf("%s 4.%d", c.op, c.minor)
		if !r.take(t, name, c.fail) {
			continue
		}
		if r.loc() != libxl.LocDone || r.rc() != c.rc || r.has() != c.has {
			t.Errorf("%s 4.%d %q: at %s, rc %s, present %q; want %s, %s, %q\n\tsteps %v",
				c.op, c.minor, c.fail, r.loc(), r.rc(), r.has(), libxl.LocDone, c.rc, c.has, r.ran)
		}
		r.checkSpent(t, name, c.fail)
	}
	// The driver-domain wait for the backend directory to go (4.4+):
	// device_destroy_be_watch_cb's ERROR_FAIL, the entries kept (4.17,
	// FORCE_AUTO), destroyed before 4.15.
	for _, c := range []struct {
		minor int
		be    bool
	}{{17, true}, {14, false}, {4, false}} {
		b := model.NewBuilder(t.Name())
		b.Domain(0, "dom0", model.DomainRunning)
		b.Domain(1, "G", model.DomainRunning)
		b.Domain(2, "DD", model.DomainRunning)
		v := libxl.Version{Minor: c.minor}
		di := b.NewDevice(model.DeviceSpec{Name: "vif0", Kind: "vif", BEKind: "vif", DevID: 0, FEDom: 1, BEDom: 2, LibxlRecord: v.LibxlRecords()})
		b.InitEntries(b.FrontendEntries(di))
		b.InitEntries(b.BackendEntries(di))
		dev := b.Sys().Devices[di]
		b.Init(dev.FEState, model.StateClosed.Value())
		b.Init(dev.BEState, model.StateClosed.Value())
		b.Allow(model.RequestFailFault)
		ai := libxl.Remove(b, di, libxl.RemoveOptions{Version: v, Force: libxl.ForceAuto})
		sys, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		r := &failRun{sys: sys, st: sys.Initial(), ai: ai, di: di}
		if !r.run(t, "READ BE fails") {
			t.Errorf("4.%d: the backend directory's read never failed; ran %v", c.minor, r.ran)
			continue
		}
		if !slices.Contains(r.ran, "driver domain backend") || r.loc() != libxl.LocDone || r.rc() != "ERROR_FAIL" || sys.Exists(r.st, dev.BEDir) != c.be {
			t.Errorf("4.%d: at %s, rc %s, backend present %v; want %s, ERROR_FAIL, %v\n\tsteps %v",
				c.minor, r.loc(), r.rc(), sys.Exists(r.st, dev.BEDir), libxl.LocDone, c.be, r.ran)
		}
	}
}

// TestWaitReadFailsBesideHandler: the wait's failed read is an
// alternative to the watch event's handler, not one of its cases (only
// the first enabled case of a watch is taken, so a case would be shadowed
// by "state Closed" here and would shadow "ignore" elsewhere): at
// wait-closed with the backend Closed and the event pending, both the
// handler and the failure are enabled.
func TestWaitReadFailsBesideHandler(t *testing.T) {
	r := newFailRun(t, "remove", 17, true)
	r.stop = libxl.LocWaitClosed
	r.run(t, "")
	if r.loc() != libxl.LocWaitClosed {
		t.Fatalf("at %s, want %s (steps %v)", r.loc(), libxl.LocWaitClosed, r.ran)
	}
	var names []string
	r.sys.Successors(r.st, make(model.State, len(r.st)), func(tr *model.Transition, _ model.State) bool {
		if tr.Actor == r.ai {
			names = append(names, tr.Name)
		}
		return true
	})
	for _, want := range []string{"state Closed", "READ BE/state fails"} {
		if !slices.Contains(names, want) {
			t.Errorf("%q not enabled at %s; enabled %v", want, libxl.LocWaitClosed, names)
		}
	}
}
