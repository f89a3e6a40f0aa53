package model_test

import (
	"strings"
	"testing"

	"github.com/xbcheck/xbcheck/model"
)

// This file checks the permission rules of perms.go, one rule per test,
// each with the source it follows (Xen RELEASE-4.17.0 unless said).

// permWorld is a guest 1 with a disk served by dom0 (device 0) and a vif
// served by driver domain 2 (device 1), both created by the toolstack, as
// libxl__device_generic_add leaves them.
type permWorld struct {
	sys    *model.System
	st     model.State
	disk   model.Device
	vif    model.Device
	cache  model.VarID
	guest  int
	driver int
}

func newPermWorld(t *testing.T, acl func(b *model.Builder, disk int)) *permWorld {
	t.Helper()
	b := model.NewBuilder(t.Name())
	b.Domain(0, "dom0", model.DomainRunning)
	b.Domain(1, "G", model.DomainRunning)
	b.Domain(2, "D", model.DomainRunning)
	for _, d := range []int{1, 2} {
		b.Init(b.Path("/local/domain/"+string(rune('0'+d))+"/name"), b.Value("x"))
	}
	disk := b.NewDevice(model.DeviceSpec{Name: "xvda", Kind: "vbd", BEKind: "vbd", DevID: 51712, FEDom: 1, BEDom: 0})
	vif := b.NewDevice(model.DeviceSpec{Name: "vif0", Kind: "vif", BEKind: "vif", DevID: 0, FEDom: 1, BEDom: 2})
	for _, d := range []int{disk, vif} {
		b.InitEntries(b.FrontendEntries(d))
		b.InitEntries(b.BackendEntries(d))
	}
	b.Path("/local/domain/1/device/vbd/51712/ring-ref")
	b.Path("/local/domain/0/backend/vbd/1/51712/online/x")
	b.Value("7")
	cache := b.Var("cache", 1)
	if acl != nil {
		acl(b, disk)
	}
	a := b.Actor("a", model.Toolstack, -1, true)
	a.Final("idle", "")
	sys, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return &permWorld{sys: sys, st: sys.Initial(), disk: sys.Devices[disk], vif: sys.Devices[vif], cache: cache, guest: 1, driver: 2}
}

func (w *permWorld) path(t *testing.T, p string) model.PathID {
	t.Helper()
	id, ok := w.sys.PathByName(p)
	if !ok {
		t.Fatalf("path %s not interned", p)
	}
	return id
}

func (w *permWorld) val(t *testing.T, v string) model.Value {
	t.Helper()
	id, ok := w.sys.ValueByName(v)
	if !ok {
		t.Fatalf("value %q not interned", v)
	}
	return id
}

// perm_for_conn (xenstored_core.c): "Owners and tools get it all...": a
// privileged connection or the first entry's domain has every right; a
// listed domain has its entry's; any other the first entry's.
func TestACLFor(t *testing.T) {
	acl := model.ACL{{Dom: 1, Perm: model.PermNone}, {Dom: 2, Perm: model.PermRead}}
	for _, c := range []struct {
		dom  int
		want model.Perm
	}{{-1, model.PermBoth}, {0, model.PermBoth}, {1, model.PermBoth}, {2, model.PermRead}, {3, model.PermNone}} {
		if got := acl.For(c.dom); got != c.want {
			t.Errorf("For(%d) = %d; want %d", c.dom, got, c.want)
		}
	}
	if got := acl.String(); got != "n1,r2" {
		t.Errorf("String() = %q; want n1,r2", got)
	}
}

// libxl__device_generic_add: frontend_perms [{domid, NONE},
// {backend_domid, READ}] on the frontend directory, backend_perms
// [{backend_domid, NONE}, {domid, READ}] on the backend directory;
// libxl__domain_make: roperm [{0, NONE}, {domid, READ}] on the guest's
// home and device directory. Nodes below inherit (construct_node).
func TestToolstackLayout(t *testing.T) {
	w := newPermWorld(t, nil)
	s := w.sys
	for _, c := range []struct {
		path string
		want string
	}{
		{"/", "n0"},
		{"/local/domain/1", "n0,r1"},
		{"/local/domain/1/device", "n0,r1"},
		{"/local/domain/1/device/vbd", "n0,r1"},
		{"/local/domain/1/device/vbd/51712", "n1,r0"},
		{"/local/domain/1/device/vbd/51712/state", "n1,r0"},
		{"/local/domain/0/backend/vbd/1/51712", "n0,r1"},
		{"/local/domain/0/backend/vbd/1/51712/state", "n0,r1"},
		{"/local/domain/1/device/vif/0", "n1,r2"},
		{"/local/domain/2", "n0,r2"},
		{"/local/domain/2/backend/vif/1", "n0,r2"},
		{"/local/domain/2/backend/vif/1/0/online", "n2,r1"},
	} {
		if got := s.ACLOf(w.st, w.path(t, c.path)).String(); got != c.want {
			t.Errorf("%s: ACL %s; want %s", c.path, got, c.want)
		}
	}
	// Who may write what.
	for _, c := range []struct {
		path string
		dom  int
		want bool
	}{
		{"/local/domain/1/device/vbd/51712/state", 1, true},     // the guest owns its frontend
		{"/local/domain/0/backend/vbd/1/51712/state", 1, false}, // and only reads its backend
		{"/local/domain/2/backend/vif/1/0/state", 2, true},      // the driver domain owns its backend
		{"/local/domain/1/device/vif/0/state", 2, false},        // and only reads the frontend
		{"/local/domain/1/device/vbd/51712/ring-ref", 1, true},  // missing: the frontend directory decides
		{"/local/domain/1/device", 1, false},                    // roperm
		{"/local/domain/1/device/vbd/51712/state", 0, true},     // dom0 is privileged
	} {
		if got := s.Permits(w.st, w.path(t, c.path), c.dom, model.PermWrite); got != c.want {
			t.Errorf("dom%d may write %s: %v; want %v", c.dom, c.path, got, c.want)
		}
	}
}

// A refused request changes nothing (do_write: "No permissions, invalid
// input?  if (errno != ENOENT) return errno;"), a permitted one is done.
// A write to a missing node is decided on its first existing ancestor
// (get_node → errno_from_parents: "if (parent_perm & perm) return errnum;
// return EACCES;").
func TestRefusedWriteHasNoEffect(t *testing.T) {
	w := newPermWorld(t, nil)
	s := w.sys
	before := append(model.State(nil), w.st...)
	s.ApplyOpAs(w.st, model.Write(w.disk.BEState, model.StateClosed.Value()), w.guest)
	if string(w.st) != string(before) {
		t.Errorf("the guest's write of its backend state changed the state")
	}
	s.ApplyOpAs(w.st, model.Write(w.disk.FEState, model.StateClosed.Value()), w.guest)
	if s.Get(w.st, w.disk.FEState) != model.StateClosed.Value() {
		t.Errorf("the guest's write of its own frontend state was refused")
	}
	ring := w.path(t, "/local/domain/1/device/vbd/51712/ring-ref")
	s.ApplyOpAs(w.st, model.Write(ring, w.val(t, "7")), w.guest)
	if !s.Exists(w.st, ring) {
		t.Errorf("the guest could not create a node in its frontend directory")
	}
	deep := w.path(t, "/local/domain/0/backend/vbd/1/51712/online/x")
	s.ApplyOpAs(w.st, model.Write(deep, w.val(t, "7")), w.guest)
	if s.Exists(w.st, deep) {
		t.Errorf("the guest created a node below its backend directory")
	}
	if !s.Refused(w.st, &model.Op{Kind: model.OpMkdir, Path: deep}, w.guest) {
		t.Errorf("MKDIR below the backend directory by the guest is not refused")
	}
}

// do_rm checks WRITE on the node only; rm_node then deletes the subtree
// whatever its children's lists say (delnode_sub has no check).
func TestRmChecksTheNodeOnly(t *testing.T) {
	w := newPermWorld(t, nil)
	s := w.sys
	s.ApplyOpAs(w.st, model.Rm(w.disk.BEDir), w.guest)
	if !s.Exists(w.st, w.disk.BEDir) {
		t.Fatalf("the guest removed its backend directory")
	}
	s.ApplyOpAs(w.st, model.Rm(w.disk.FEDir), w.guest)
	if s.Exists(w.st, w.disk.FEDir) || s.Exists(w.st, w.disk.FEState) {
		t.Errorf("the guest could not remove its frontend directory")
	}
}

// construct_node: "Inherit permissions, unpriv domains own what they
// create": a directory made without SET_PERMS takes its parent's list.
// So a frontend directory that dom0 re-creates by writing below it
// (a resurrection) is dom0's with the guest reading it (roperm from
// /local/domain/1/device), and the guest can no longer write its state;
// the toolstack's SET_PERMS (generic_add: xs_rm, xs_mkdir,
// xs_set_permissions) gives it back.
func TestResurrectedDirectoryInherits(t *testing.T) {
	w := newPermWorld(t, nil)
	s := w.sys
	s.ApplyOp(w.st, model.Rm(w.disk.FEDir))
	s.ApplyOp(w.st, model.Write(w.disk.FEState, model.StateClosed.Value()))
	if got := s.ACLOf(w.st, w.disk.FEDir).String(); got != "n0,r1" {
		t.Errorf("resurrected frontend directory: ACL %s; want n0,r1", got)
	}
	s.ApplyOpAs(w.st, model.Write(w.disk.FEState, model.StateConnected.Value()), w.guest)
	if s.Get(w.st, w.disk.FEState) != model.StateClosed.Value() {
		t.Errorf("the guest wrote a frontend directory dom0 re-created")
	}
	// generic_add's sequence restores the layout.
	for _, op := range []model.Op{model.Rm(w.disk.FEDir), model.Mkdir(w.disk.FEDir), model.SetPerms(w.disk.FEDir)} {
		s.ApplyOp(w.st, op)
	}
	if got := s.ACLOf(w.st, w.disk.FEDir).String(); got != "n1,r0" {
		t.Errorf("after SET_PERMS: ACL %s; want n1,r0", got)
	}
	// The flag is clear again once the node is gone: a state's count
	// does not depend on how a missing node was made.
	s.ApplyOp(w.st, model.Rm(w.disk.FEDir))
	if o := s.PermFlagOffset(w.disk.FEDir); o < 0 || w.st[o] != 0 {
		t.Errorf("flag of a removed directory at %d is not clear", o)
	}
}

// do_set_perms: "We must own node to do this (tools can do this too)":
// get_node(..., XS_PERM_WRITE | XS_PERM_OWNER).
func TestSetPermsNeedsOwner(t *testing.T) {
	w := newPermWorld(t, nil)
	s := w.sys
	if !s.Refused(w.st, &model.Op{Kind: model.OpSetPerms, Path: w.disk.BEDir}, w.guest) {
		t.Errorf("SET_PERMS of the backend directory by the guest is not refused")
	}
	if s.Refused(w.st, &model.Op{Kind: model.OpSetPerms, Path: w.disk.FEDir}, w.guest) {
		t.Errorf("SET_PERMS of its own frontend directory by the guest is refused")
	}
	if s.Refused(w.st, &model.Op{Kind: model.OpSetPerms, Path: w.disk.BEDir}, 0) {
		t.Errorf("SET_PERMS by dom0 is refused")
	}
	// Write access is not ownership: a backend directory the guest may
	// write (a broken toolstack) is still not the guest's to SET_PERMS.
	w = newPermWorld(t, func(b *model.Builder, disk int) {
		b.SetACL(b.Sys().Devices[disk].BEDir, model.ACL{{Dom: 0, Perm: model.PermNone}, {Dom: 1, Perm: model.PermBoth}})
	})
	if w.sys.Refused(w.st, &model.Op{Kind: model.OpWrite, Path: w.disk.BEState}, w.guest) {
		t.Errorf("the guest may not write a backend directory that grants it WRITE")
	}
	if !w.sys.Refused(w.st, &model.Op{Kind: model.OpSetPerms, Path: w.disk.BEDir}, w.guest) {
		t.Errorf("SET_PERMS by a writer that is not the owner is not refused")
	}
}

// __xenbus_switch_state (Linux v6.1 xenbus_client.c): a refused write
// calls xenbus_switch_fatal and goes to abort; xenbus_transaction_end
// returns 0, so dev->state takes the new state although nothing was
// written.
func TestRefusedSwitchStateSetsTheCache(t *testing.T) {
	w := newPermWorld(t, nil)
	s := w.sys
	s.ApplyOpAs(w.st, model.SwitchState(w.disk.BEState, model.StateClosing, w.cache), w.guest)
	if s.Get(w.st, w.disk.BEState) != model.StateConnected.Value() && s.Get(w.st, w.disk.BEState) != model.StateInitialising.Value() {
		t.Errorf("a refused switch wrote the state")
	}
	if got := s.VarValue(w.st, w.cache); got != uint8(model.StateClosing) {
		t.Errorf("cache = %d after a refused switch; want %d (Closing)", got, model.StateClosing)
	}
}

// libxl__xs_path_cleanup (libxl_xshelp.c): xs_rm of the path, then of
// each parent whose listing is empty; a failed xs_rm ends it ("rc =
// ERROR_FAIL; goto out"). In a driver domain the backend directory goes
// (it owns it) but its empty parents stay: dom0 made them, with the
// driver domain's roperm inherited from /local/domain/<id>.
func TestCleanupInDriverDomainStopsAtDom0Parent(t *testing.T) {
	w := newPermWorld(t, nil)
	s := w.sys
	s.ApplyOpAs(w.st, model.Cleanup(w.vif.BEDir), w.driver)
	if s.Exists(w.st, w.vif.BEDir) {
		t.Fatalf("the driver domain could not remove its backend directory")
	}
	parent := w.path(t, "/local/domain/2/backend/vif/1")
	if !s.Exists(w.st, parent) {
		t.Errorf("the driver domain removed %s, which dom0 owns", s.Paths[parent].Name)
	}
	// dom0's cleanup of the same path removes the empty parents.
	s.ApplyOp(w.st, model.Cleanup(w.vif.BEDir))
	if s.Exists(w.st, parent) {
		t.Errorf("dom0's cleanup left the empty %s", s.Paths[parent].Name)
	}
}

// The hostile guest writes only where its permissions allow, at most its
// budget of times, and only while its domain runs.
func TestHostileGuestStaysWithinItsPermissions(t *testing.T) {
	b := model.NewBuilder(t.Name())
	b.Domain(0, "dom0", model.DomainRunning)
	b.Domain(1, "G", model.DomainRunning)
	b.Init(b.Path("/local/domain/1/name"), b.Value("G"))
	d := b.NewDevice(model.DeviceSpec{Name: "xvda", Kind: "vbd", BEKind: "vbd", DevID: 51712, FEDom: 1, BEDom: 0})
	b.InitEntries(b.FrontendEntries(d))
	b.InitEntries(b.BackendEntries(d))
	b.Allow(model.HostileFault + ":G")
	h := b.AddHostileGuest(1, 2)
	sys, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	dev := sys.Devices[d]
	fe := sys.Paths[dev.FEDir].Name
	seen := map[string]bool{}
	todo := []model.State{sys.Initial()}
	seen[string(todo[0])] = true
	moves := 0
	for len(todo) > 0 {
		st := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		sys.Successors(st, make(model.State, sys.Size()), func(tr *model.Transition, next model.State) bool {
			if tr.Actor != h {
				return true
			}
			moves++
			if sys.Refused(st, &tr.Ops[0], 1) {
				t.Errorf("hostile step %q is a request xenstored refuses", tr.Name)
			}
			for i := range sys.Paths {
				n := sys.Paths[i].Name
				if st[i] != next[i] && n != fe && !strings.HasPrefix(n, fe+"/") {
					t.Errorf("hostile step %q changed %s", tr.Name, n)
				}
			}
			if !seen[string(next)] {
				seen[string(next)] = true
				todo = append(todo, append(model.State(nil), next...))
			}
			return true
		})
	}
	if moves == 0 {
		t.Fatal("the hostile guest never moved")
	}
	// Two writes at most: no run is longer than 2 hostile steps, so the
	// budget variable never goes below 0 and every state has it 0..2.
	left, _ := func() (model.VarID, bool) {
		for v := range sys.Vars {
			if sys.Vars[v].Name == "hostile(G).writes-left" {
				return model.VarID(v), true
			}
		}
		return 0, false
	}()
	for k := range seen {
		if x := sys.VarValue(model.State(k), left); x > 2 {
			t.Errorf("writes-left = %d", x)
		}
	}
}
