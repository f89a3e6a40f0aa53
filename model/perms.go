package model

import (
	"fmt"
	"strings"
)

// Xenstore permissions.
//
// Every node has a permission list (an ACL): its first entry names the
// owner and gives the access of every domain not listed; the other
// entries give listed domains theirs. The owner has read and write
// whatever its entry says, and a privileged domain (dom0, the model's
// toolstack, qemu, scripts) bypasses every check
// (xenstored_core.c perm_for_conn, RELEASE-4.17.0; oxenstored perms.ml
// lacks). Reference: xenbus-protocol.md 2.3 and 10.1.
//
// The ACLs are those the toolstack sets (libxl__domain_make in
// libxl_create.c and libxl__device_generic_add in libxl_device.c,
// RELEASE-4.17.0):
//
//   - "/" and everything not set otherwise: [{0, NONE}] (dom0 only);
//   - /local/domain/<id> and /local/domain/<id>/device of a guest:
//     roperm [{0, NONE}, {id, READ}];
//   - a device's frontend directory: [{guest, NONE}, {backend, READ}];
//   - its backend directory: [{backend, NONE}, {guest, READ}];
//   - a node created without SET_PERMS inherits its parent's list
//     (construct_node; oxenstored Node.create name node.perms).
//
// The ACL of a node is static (Path.ACL) except where the node can be
// created at run time both by SET_PERMS and without it: a directory with
// an explicit ACL (a device's directories, a domain's home) that is
// removed and created again by a write below it (a "resurrection") takes
// its parent's list, not the one the toolstack sets. Each such path has a
// flag byte in the state: set by SET_PERMS, cleared when the node is
// removed, so that it is always clear for a missing node and a state's
// count does not change where the ACL is the toolstack's.
//
// Checks. A request of an actor in an unprivileged domain (Actor.Domain >
// 0) is refused with EACCES when: WRITE or MKDIR of an existing node
// lacks WRITE on it; WRITE or MKDIR of a missing node lacks WRITE on its
// first existing ancestor (get_node → errno_from_parents → ask_parents,
// then create_node; oxenstored create_implicit_path and path_write check
// the parent); RM of an existing node lacks WRITE on it (do_rm; the
// subtree goes whatever its children's lists say); SET_PERMS is not by
// the owner (do_set_perms: XS_PERM_WRITE | XS_PERM_OWNER). A refused
// request has no effect, as an unchecked call in the real code; where the
// code reacts (xenbus_switch_state, libxl__xs_path_cleanup) the engine
// does what it does (permOp). Reads in guards are not checked:
// TestNoRequestRefusedInScenarios shows that no modelled reader lacks
// READ in any reachable state of scenarios/.

// A Perm is a set of xenstore access rights (xs_lib.h XS_PERM_*).
type Perm uint8

// The access rights.
const (
	PermNone  Perm = 0
	PermRead  Perm = 1 // XS_PERM_READ
	PermWrite Perm = 2 // XS_PERM_WRITE
	PermBoth       = PermRead | PermWrite
)

// An ACLEntry gives domain Dom the rights Perm.
type ACLEntry struct {
	Dom  int
	Perm Perm
}

// An ACL is a xenstore permission list: the first entry is the owner and
// the default for unlisted domains.
type ACL []ACLEntry

// For returns the rights of domain dom (perm_for_conn): everything for a
// privileged domain (dom 0; the model's dom0 actors have Domain -1) and
// for the owner, the entry of a listed domain, else the first entry's.
func (a ACL) For(dom int) Perm {
	if dom <= 0 || len(a) == 0 || a[0].Dom == dom {
		return PermBoth
	}
	for _, e := range a[1:] {
		if e.Dom == dom {
			return e.Perm
		}
	}
	return a[0].Perm
}

// Owner is the owning domain (0 for an empty list).
func (a ACL) Owner() int {
	if len(a) == 0 {
		return 0
	}
	return a[0].Dom
}

// String renders the list as xenstore-ls -p does: n, r, w or b and the
// domain id per entry, e.g. "n1,r0".
func (a ACL) String() string {
	parts := make([]string, len(a))
	for i, e := range a {
		parts[i] = fmt.Sprintf("%c%d", "nrwb"[e.Perm&PermBoth], e.Dom)
	}
	return strings.Join(parts, ",")
}

// The ACLs of the toolstack's layout (libxl_create.c libxl__domain_make,
// libxl_device.c libxl__device_generic_add, RELEASE-4.17.0).

// NoPermACL is libxl's noperm, and the root's list: dom0 only.
func NoPermACL() ACL { return ACL{{0, PermNone}} }

// DomainHomeACL is libxl's roperm for domain dom's home and device
// directory: dom0 owns it, the domain reads it.
func DomainHomeACL(dom int) ACL { return ACL{{0, PermNone}, {dom, PermRead}} }

// FrontendACL is libxl__device_generic_add's frontend_perms: the guest
// owns the frontend directory, the backend domain reads it.
func FrontendACL(guest, backend int) ACL { return ACL{{guest, PermNone}, {backend, PermRead}} }

// BackendACL is libxl__device_generic_add's backend_perms: the backend
// domain owns the backend directory, the guest reads it.
func BackendACL(backend, guest int) ACL { return ACL{{backend, PermNone}, {guest, PermRead}} }

// SetACL gives p the permission list the toolstack sets on it with
// SET_PERMS (and the one it has in the initial store when it exists
// there). Nodes below p without a list of their own inherit it.
func (b *Builder) SetACL(p PathID, acl ACL) {
	b.acls[p] = append(ACL(nil), acl...)
}

// buildPerms computes every path's static list and the flag bytes of the
// paths whose list depends on how they were created, from off on; it
// returns the offset after them.
func (b *Builder) buildPerms(off int) int {
	s := b.sys
	// A guest's home and device directory: roperm (libxl__domain_make).
	for dom := range s.Domains {
		if dom == 0 {
			continue
		}
		for _, n := range []string{fmt.Sprintf("/local/domain/%d", dom), fmt.Sprintf("/local/domain/%d/device", dom)} {
			if p, ok := s.pathIdx[n]; ok {
				if _, set := b.acls[p]; !set {
					b.acls[p] = DomainHomeACL(dom)
				}
			}
		}
	}
	s.ACLs = []ACL{nil, NoPermACL()}
	intern := func(a ACL) ACLID {
		for i := 1; i < len(s.ACLs); i++ {
			if s.ACLs[i].String() == a.String() {
				return ACLID(i)
			}
		}
		s.ACLs = append(s.ACLs, a)
		return ACLID(len(s.ACLs) - 1)
	}
	for i := range s.Paths {
		p := &s.Paths[i]
		p.aclSlot = -1
		inherited := ACLID(1)
		if p.Parent != NoPath {
			inherited = s.Paths[p.Parent].ACL // parents are interned first
		}
		p.ACL = inherited
		if a, ok := b.acls[PathID(i)]; ok {
			p.ACL = intern(a)
		}
		if i == 0 {
			p.aclOwn = p.ACL
			continue
		}
		if p.ACL != inherited {
			// The list depends on whether SET_PERMS made the node.
			p.aclOwn = p.ACL
			p.aclSlot = off
			off++
		}
	}
	return off
}

// An ACLID names an interned ACL of one System (System.ACLs).
type ACLID uint8

// ACLOf returns the permission list node p has in st: its own when the
// toolstack set it (SET_PERMS) or it is static, else its parent's.
func (s *System) ACLOf(st State, p PathID) ACL { return s.ACLs[s.aclOf(st, p)] }

func (s *System) aclOf(st State, p PathID) ACLID {
	for q := p; q != NoPath; q = s.Paths[q].Parent {
		pp := &s.Paths[q]
		if pp.aclOwn != 0 && (pp.aclSlot < 0 || st[pp.aclSlot] != 0) {
			return pp.aclOwn
		}
	}
	return 1
}

// PermFlagOffset returns the state offset of p's SET_PERMS flag, or -1
// when p's list is static.
func (s *System) PermFlagOffset(p PathID) int { return s.Paths[p].aclSlot }

// Permits reports whether domain dom may take access want to node p in
// st: on p when it exists, else on its first existing ancestor
// (errno_from_parents), as xenstored decides a WRITE or MKDIR.
func (s *System) Permits(st State, p PathID, dom int, want Perm) bool {
	if dom <= 0 {
		return true
	}
	q := p
	for q != NoPath && st[q] == byte(Absent) {
		q = s.Paths[q].Parent
	}
	if q == NoPath {
		q = 0
	}
	return s.ACLs[s.aclOf(st, q)].For(dom)&want == want
}

// Refused reports whether xenstored refuses op (EACCES) when domain dom
// makes it in st. Only requests that change the store are refused here;
// RM and PATH_CLEANUP of a missing node are not (nothing to refuse).
func (s *System) Refused(st State, op *Op, dom int) bool {
	if dom <= 0 {
		return false
	}
	switch op.Kind {
	case OpWrite, OpMkdir:
		return !s.Permits(st, op.Path, dom, PermWrite)
	case OpRm, OpCleanup:
		return st[op.Path] != byte(Absent) && !s.Permits(st, op.Path, dom, PermWrite)
	case OpSwitchState, OpReplace:
		return st[op.Path] != byte(Absent) && !s.Permits(st, op.Path, dom, PermBoth)
	case OpSetPerms:
		return st[op.Path] != byte(Absent) && (!s.Permits(st, op.Path, dom, PermWrite) || s.ACLOf(st, op.Path).Owner() != dom)
	case OpRead, OpDirectory:
		return st[op.Path] != byte(Absent) && !s.Permits(st, op.Path, dom, PermRead)
	}
	return false
}

// permOp performs op for domain dom with xenstored's permission checks
// when they change its outcome, and reports whether it did (the caller
// performs op as usual otherwise). A refused request does nothing, except:
//
//   - xenbus_switch_state (Linux drivers/xen/xenbus/xenbus_client.c
//     __xenbus_switch_state, v6.1): a refused read ("err != 1 goto
//     abort") or write (xenbus_switch_fatal, "goto abort") aborts the
//     transaction, xenbus_transaction_end returns 0, and dev->state takes
//     the new state, as when the node is missing;
//   - libxl__xs_path_cleanup (libxl_xshelp.c, RELEASE-4.17.0): the RM of
//     the path, then of each parent whose listing is empty; a refused RM
//     ends it ("goto out"), and so does a refused listing ("if (!entries
//     || n != 0) break"). Callers ignore its rc (libxl__device_destroy).
func (s *System) permOp(st State, op *Op, dom int) bool {
	if dom <= 0 {
		return false
	}
	if op.Kind == OpCleanup {
		if st[op.Path] != byte(Absent) && !s.Permits(st, op.Path, dom, PermWrite) {
			return true
		}
		s.rm(st, op.Path)
		for q := s.Paths[op.Path].Parent; q != NoPath && q != 0; q = s.Paths[q].Parent {
			if st[q] != byte(Empty) || s.hasChild(st, q) || !s.Permits(st, q, dom, PermBoth) {
				break
			}
			s.rm(st, q)
		}
		return true
	}
	if !s.Refused(st, op, dom) {
		return false
	}
	if op.Kind == OpSwitchState {
		st[s.varBase+int(op.Var)] = byte(op.Val - 2)
	}
	return true
}

// setPermsFlag records that SET_PERMS gave p the toolstack's list.
func (s *System) setPermsFlag(st State, p PathID) {
	if o := s.Paths[p].aclSlot; o >= 0 && st[p] != byte(Absent) {
		st[o] = 1
	}
}

// clearPermsFlag forgets p's list when p is removed.
func (s *System) clearPermsFlag(st State, p PathID) {
	if o := s.Paths[p].aclSlot; o >= 0 {
		st[o] = 0
	}
}

// Writable is true when the actor's domain may write node p (a guard of
// the hostile guest's writes; see Permits).
func Writable(p PathID) Cond { return Cond{Kind: CondWritable, Path: p} }

// permReads adds what a permission check on p reads: whether p and its
// ancestors exist (a missing node is checked on its first existing
// ancestor) and their SET_PERMS flags.
func (s *System) permReads(p PathID, r func(int)) {
	for q := p; q != NoPath; q = s.Paths[q].Parent {
		r(int(q))
		if o := s.Paths[q].aclSlot; o >= 0 {
			r(o)
		}
	}
}

// permFootprint adds the permission reads of the requests of actor a's
// transition t (a commit's body's included), for partial-order reduction.
func (s *System) permFootprint(a *Actor, t *Transition, r func(int)) {
	add := func(ops []Op) {
		for i := range ops {
			switch ops[i].Kind {
			case OpWrite, OpMkdir, OpRm, OpCleanup, OpSwitchState, OpReplace, OpSetPerms:
				s.permReads(ops[i].Path, r)
				if ops[i].Kind == OpCleanup {
					for q := s.Paths[ops[i].Path].Parent; q != NoPath; q = s.Paths[q].Parent {
						s.permReads(q, r)
					}
				}
			}
		}
	}
	add(t.Ops)
	if t.Kind == Commit || t.Kind == TxnBody {
		for _, ti := range a.Trans {
			if b := &s.Trans[ti]; b.Kind == TxnBody {
				add(b.Ops)
			}
		}
	}
}
