package model

// The store: xenstore's operations on a state, as xenstored performs
// them (applyOp), with the watches they fire and C xenstored's record of
// what a transaction touched.

// applyOp performs one operation on st with xenstored's semantics, as a
// request of domain dom (-1 or 0: dom0, privileged; see perms.go).
func (s *System) applyOp(st State, op *Op, dom int) {
	if dom > 0 && s.permOp(st, op, dom) {
		return // checked against the node's permissions (perms.go)
	}
	switch op.Kind {
	case OpWrite:
		s.write(st, op.Path, op.Val)
	case OpMkdir:
		if st[op.Path] == byte(Absent) {
			s.write(st, op.Path, Empty)
		}
	case OpRm:
		s.rm(st, op.Path)
	case OpCleanup:
		s.rm(st, op.Path)
		for q := s.Paths[op.Path].Parent; q != NoPath && q != 0; q = s.Paths[q].Parent {
			if st[q] != byte(Empty) || s.hasChild(st, q) {
				break
			}
			s.rm(st, q)
		}
	case OpSetPerms:
		if st[op.Path] != byte(Absent) {
			s.setPermsFlag(st, op.Path)
			s.touch(st, op.Path)
			s.fire(st, s.Paths[op.Path].onWrite)
		}
	case OpSwitchState:
		cache := s.varBase + int(op.Var)
		if st[cache] == byte(op.Val-2) {
			return
		}
		// __xenbus_switch_state: when the node is gone the transaction
		// aborts, xenbus_transaction_end(xbt, 1) returns 0, and the cache
		// takes the new state although nothing was written.
		if st[op.Path] != byte(Absent) {
			s.write(st, op.Path, op.Val)
		}
		st[cache] = byte(op.Val - 2)
	case OpReplace:
		if st[op.Path] == byte(op.From) {
			s.write(st, op.Path, op.Val)
		}
	case OpWatch:
		st[s.watchOff+int(op.Watch)] = watchPending
	case OpUnwatch:
		st[s.watchOff+int(op.Watch)] = watchOff
	case OpDomainGone:
		// Xen RELEASE-4.17.0 (XSA-419): C xenstored's destroy_domain →
		// domain_tree_remove walks the tree and rm_node()s every node the
		// domain owns ("Skip children in all cases"); rm_node's
		// delnode_sub fires the watches. oxenstored's
		// Store.reset_permissions drops every node whose owner is the
		// domain through Node.recurse_filter_map: "Note that the nodes
		// removed this way won't generate watch events."
		if s.RemoveOwnedOnDeath {
			for i := range s.Paths {
				p := &s.Paths[i]
				if p.Owner == op.Dom && st[i] != byte(Absent) && (p.Parent == NoPath || s.Paths[p.Parent].Owner != op.Dom) {
					if s.DeathFiresWatches {
						s.rm(st, PathID(i))
					} else {
						s.rmSilent(st, PathID(i))
					}
				}
			}
		}
	}
}

// rmSilent removes p and its subtree as rm does, but fires no watch:
// oxenstored's deletion of a dead domain's nodes.
func (s *System) rmSilent(st State, p PathID) {
	s.clear(st, p)
	if q := s.Paths[p].Parent; q != NoPath {
		s.touch(st, q)
	}
}

// write sets p to v, creating missing parents with empty values, and fires
// the watches on p and its ancestors (an implicitly created parent fires no
// event of its own: xenstore-wire.md 1.6).
func (s *System) write(st State, p PathID, v Value) {
	q := s.Paths[p].Parent
	for ; q != NoPath && st[q] == byte(Absent); q = s.Paths[q].Parent {
		st[q] = byte(Empty)
		s.touch(st, q)
	}
	if st[p] == byte(Absent) && q != NoPath {
		s.touch(st, q) // the first existing ancestor gains a child
	}
	st[p] = byte(v)
	s.touch(st, p)
	s.fire(st, s.Paths[p].onWrite)
}

// rm removes p and its subtree and fires the watches on, above and below
// it. Removing a missing node does nothing.
func (s *System) rm(st State, p PathID) {
	if st[p] == byte(Absent) {
		return
	}
	s.clear(st, p)
	if q := s.Paths[p].Parent; q != NoPath {
		s.touch(st, q) // the parent loses a child
	}
	s.fire(st, s.Paths[p].onRemove)
}

func (s *System) clear(st State, p PathID) {
	st[p] = byte(Absent)
	s.clearPermsFlag(st, p)
	s.touch(st, p)
	for _, c := range s.Paths[p].Children {
		if st[c] != byte(Absent) {
			s.clear(st, c)
		}
	}
}

func (s *System) hasChild(st State, p PathID) bool {
	for _, c := range s.Paths[p].Children {
		if st[c] != byte(Absent) {
			return true
		}
	}
	return false
}

func (s *System) fire(st State, ws []WatchID) {
	for _, w := range ws {
		if st[s.watchOff+int(w)] != watchOff {
			st[s.watchOff+int(w)] = watchPending
		}
	}
}

// touch records, for the C xenstored conflict rule, that p was modified
// (written, created or removed, or a child of it created or removed: its
// record, with its generation count, is rewritten) while transactions
// that touched it are open (see CXenstored and cxEntries).
func (s *System) touch(st State, p PathID) {
	if s.Conflict != CXenstored {
		return
	}
	for _, ai := range s.txnReaders[p] {
		a := &s.Actors[ai]
		slot := a.txnSlot
		id := int(st[slot]) | int(st[slot+1])<<8
		if id == 0 {
			continue
		}
		for _, e := range s.Trans[id-1].cxTouch {
			if e.path == p && (e.rec < 0 || (st[slot+3+e.rec] != byte(Absent)) == e.present) {
				st[slot+2] = 1
				break
			}
		}
	}
}
