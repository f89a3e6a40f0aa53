package model

// Partial-order reduction and xenstore permissions (perms.go): what an
// unprivileged request's check reads, and what a refused one does.

// refusedNow records what xenstored's permission check of op, a request
// of unprivileged domain dom, reads (perms.go: the node, or its first
// existing ancestor, and the SET_PERMS flags its list may come from), and
// applies op to cur as permOp does when the check changes its outcome,
// reporting whether it did (otherwise op is applied as usual).
func (p *POR) refusedNow(op *Op, dom int, cur State, f *foot) bool {
	s := p.s
	// perm adds what Permits(cur, q, ...) reads: the existence of q and
	// of its missing ancestors up to the first existing one (whose list
	// decides), then, as aclOf goes up from there, the SET_PERMS flags up
	// to the first node whose list is its own and static.
	perm := func(q PathID) {
		x := q
		for ; x != NoPath; x = s.Paths[x].Parent {
			if !p.permanent[x] {
				f.add(int(x), accEx)
			}
			if cur[x] != byte(Absent) {
				break
			}
		}
		for ; x != NoPath; x = s.Paths[x].Parent {
			pp := &s.Paths[x]
			if pp.aclSlot >= 0 {
				f.add(pp.aclSlot, accRd)
			} else if pp.aclOwn != 0 {
				break
			}
		}
	}
	switch op.Kind {
	case OpCleanup:
		// libxl__xs_path_cleanup in a driver domain: each removal checked.
		perm(op.Path)
		f.add(int(op.Path), accEx)
		if cur[op.Path] != byte(Absent) && !s.Permits(cur, op.Path, dom, PermWrite) {
			return true
		}
		p.rmNow(op.Path, cur, f)
		for q := s.Paths[op.Path].Parent; q != NoPath && q != 0; q = s.Paths[q].Parent {
			f.add(int(q), accRd)
			for _, c := range s.Paths[q].Children {
				f.add(int(c), accEx)
			}
			perm(q)
			if cur[q] != byte(Empty) || s.hasChild(cur, q) || !s.Permits(cur, q, dom, PermBoth) {
				break
			}
			f.add(int(q), accWr)
			if o := s.Paths[q].aclSlot; o >= 0 {
				f.add(o, accWr)
			}
			p.touchFoot(q, f)
			if par := s.Paths[q].Parent; par != NoPath {
				p.touchFoot(par, f)
			}
			p.fireFoot(s.Paths[q].onRemove, f)
			s.rm(cur, q)
		}
		return true
	case OpWrite, OpMkdir, OpRm, OpSwitchState, OpReplace, OpSetPerms:
		perm(op.Path)
		if op.Kind != OpWrite && op.Kind != OpMkdir {
			f.add(int(op.Path), accEx)
		}
		if op.Kind == OpSetPerms {
			f.add(int(op.Path), accRd) // the owner of its list
		}
		if !s.Refused(cur, op, dom) {
			return false
		}
		if op.Kind == OpSwitchState {
			// The cache moves although nothing was written.
			v := s.varBase + int(op.Var)
			f.add(v, accRd|accWr)
			cur[v] = byte(op.Val - 2)
		}
		return true
	}
	return false
}
