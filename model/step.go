package model

import (
	"bytes"

	"github.com/xbcheck/xbcheck/internal/fingerprint"
)

// This file is the engine: which transitions a state enables, and what
// each does to the state. It allocates nothing per step.

// Successors calls yield for every transition enabled in st that changes
// the state (a step that changes nothing is a stutter, never a move), with
// the state it leads to, in a fixed order (actors in declaration order; within an
// actor, its location's transitions, then one handler case per pending
// watch). next is a buffer of Size bytes that Successors overwrites for every
// call: yield must copy it to keep it. Successors stops when yield returns
// false.
func (s *System) Successors(st, next State, yield func(t *Transition, next State) bool) {
	urgent := false
	for ai := range s.Actors {
		u, stop := s.actorMoves(st, next, ai, yield)
		if stop {
			return
		}
		urgent = urgent || u
	}
	if urgent && s.Timers == LastResort {
		return
	}
	for ai := range s.Actors {
		if s.actorTimers(st, next, ai, yield) {
			return
		}
	}
}

// actorTimers yields actor ai's enabled timer transitions in st (whatever
// the timer semantics) and reports whether yield asked to stop.
func (s *System) actorTimers(st, next State, ai int, yield func(t *Transition, next State) bool) (stop bool) {
	if s.fast != nil {
		return s.fastTimers(st, next, ai, yield)
	}
	a := &s.Actors[ai]
	if !s.evalAll(st, a, a.enabled) {
		return false
	}
	for _, ti := range a.timers[st[s.varBase+int(a.Loc)]] {
		t := &s.Trans[ti]
		if s.evalAll(st, a, t.Guard) {
			copy(next, st)
			s.apply(st, next, a, t)
			if bytes.Equal(next, st) {
				continue
			}
			if !yield(t, next) {
				return true
			}
		}
	}
	return false
}

// actorMoves yields actor ai's moves in st other than timers: its
// location's transitions, then one handler case per pending watch. urgent
// reports whether one of them holds LastResort timers back (a move of a
// fair actor that is neither a fault nor slow); stop, that yield asked to
// stop.
func (s *System) actorMoves(st, next State, ai int, yield func(t *Transition, next State) bool) (urgent, stop bool) {
	if s.fast != nil {
		return s.fastMoves(st, next, ai, yield)
	}
	a := &s.Actors[ai]
	if !s.evalAll(st, a, a.enabled) {
		return false, false
	}
	loc := st[s.varBase+int(a.Loc)]
	for _, ti := range a.byLoc[loc] {
		t := &s.Trans[ti]
		if s.evalAll(st, a, t.Guard) {
			copy(next, st)
			s.apply(st, next, a, t)
			if bytes.Equal(next, st) {
				continue // a step that changes nothing is a stutter, not a move
			}
			if a.Fair && t.Fault == "" && !t.Slow {
				urgent = true
			}
			if !yield(t, next) {
				return urgent, true
			}
		}
	}
	for wi, w := range a.Watches {
		if st[s.watchOff+int(w)] != watchPending {
			continue
		}
		for _, ti := range a.handlers[wi] {
			t := &s.Trans[ti]
			if (t.From == AnyLoc || byte(t.From) == loc) && s.evalAll(st, a, t.Guard) {
				if a.Fair {
					urgent = true
				}
				copy(next, st)
				s.apply(st, next, a, t)
				if !yield(t, next) {
					return urgent, true
				}
				break
			}
		}
	}
	return urgent, false
}

// Enabled reports whether transition t may be taken in st: its actor may
// move, it is at t's location, its guard holds and, for a handler case, an
// event is pending and no earlier case of the same watch is enabled.
func (s *System) Enabled(st State, t *Transition) bool {
	a := &s.Actors[t.Actor]
	if !s.evalAll(st, a, a.enabled) {
		return false
	}
	loc := st[s.varBase+int(a.Loc)]
	if t.Watch == NoWatch {
		if byte(t.From) != loc || !s.evalAll(st, a, t.Guard) {
			return false
		}
		if bytes.Equal(s.Apply(st, t), st) {
			return false // a stutter is never a move (see Successors)
		}
		return t.Timeout == 0 || s.Timers == AnyTime || !s.urgent(st)
	}
	if st[s.watchOff+int(t.Watch)] != watchPending {
		return false
	}
	for wi, w := range a.Watches {
		if w != t.Watch {
			continue
		}
		for _, ti := range a.handlers[wi] {
			c := &s.Trans[ti]
			if (c.From == AnyLoc || byte(c.From) == loc) && s.evalAll(st, a, c.Guard) {
				return c.ID == t.ID
			}
		}
	}
	return false
}

// urgent reports whether st enables a step that holds LastResort timers
// back: a non-fault, non-slow, non-timer transition of a fair actor.
func (s *System) urgent(st State) bool {
	found := false
	s.Successors(st, make(State, len(st)), func(t *Transition, _ State) bool {
		if t.Timeout == 0 && t.Fault == "" && !t.Slow && s.Actors[t.Actor].Fair {
			found = true
			return false
		}
		return true
	})
	return found
}

// Apply returns the state t leads to from st. It does not check that t is
// enabled (see Enabled).
func (s *System) Apply(st State, t *Transition) State {
	next := append(State(nil), st...)
	s.apply(st, next, &s.Actors[t.Actor], t)
	return next
}

// OpenBody returns the transaction body whose writes a Commit of actor a
// would apply in st, or nil.
func (s *System) OpenBody(st State, a int) *Transition {
	act := &s.Actors[a]
	if act.txnSlot < 0 {
		return nil
	}
	id := int(st[act.txnSlot]) | int(st[act.txnSlot+1])<<8
	if id == 0 {
		return nil
	}
	return &s.Trans[id-1]
}

// AllFinal reports whether every actor is at a final location.
func (s *System) AllFinal(st State) bool {
	for ai := range s.Actors {
		a := &s.Actors[ai]
		if !a.Locs[st[s.varBase+int(a.Loc)]].Final {
			return false
		}
	}
	return true
}

func (s *System) evalAll(st State, a *Actor, g []Cond) bool {
	for i := range g {
		if !s.eval(st, a, &g[i]) {
			return false
		}
	}
	return true
}

func (s *System) eval(st State, a *Actor, c *Cond) bool {
	switch c.Kind {
	case CondPresent:
		return st[c.Path] != byte(Absent)
	case CondAbsent:
		return st[c.Path] == byte(Absent)
	case CondEq:
		return st[c.Path] == byte(c.Val)
	case CondNe:
		v := st[c.Path]
		return v != byte(Absent) && v != byte(c.Val)
	case CondIn:
		v := st[c.Path]
		return v < 64 && c.Mask&(1<<v) != 0
	case CondVarEq:
		return st[s.varBase+int(c.Var)] == c.X
	case CondVarNe:
		return st[s.varBase+int(c.Var)] != c.X
	case CondVarIn:
		v := st[s.varBase+int(c.Var)]
		return v < 64 && c.Mask&(1<<v) != 0
	case CondConflict:
		return s.conflict(st, a)
	case CondNoConflict:
		return !s.conflict(st, a)
	case CondWritable:
		return s.Permits(st, c.Path, a.Domain, PermWrite)
	}
	return false
}

// conflict applies the system's conflict rule to the actor's open
// transaction.
func (s *System) conflict(st State, a *Actor) bool {
	if a.txnSlot < 0 {
		return false
	}
	slot := a.txnSlot
	id := int(st[slot]) | int(st[slot+1])<<8
	if id == 0 {
		return false
	}
	if s.Conflict == CXenstored {
		return st[slot+2] != 0
	}
	body := &s.Trans[id-1]
	if !body.hasWrites {
		return false // oxenstored: a transaction that writes nothing commits
	}
	for i, p := range body.readSet {
		if st[slot+3+i] != st[p] {
			return true
		}
	}
	return false
}

// apply performs t: from is the state before (for reads of the snapshot),
// st the copy that becomes the state after.
func (s *System) apply(from, st State, a *Actor, t *Transition) {
	if t.Watch != NoWatch {
		st[s.watchOff+int(t.Watch)] = watchOn
	}
	switch t.Kind {
	case TxnBody:
		slot := a.txnSlot
		id := t.ID + 1
		st[slot], st[slot+1], st[slot+2] = byte(id), byte(id>>8), 0
		for i, p := range t.readSet {
			st[slot+3+i] = from[p]
		}
	case Commit:
		slot := a.txnSlot
		id := int(st[slot]) | int(st[slot+1])<<8
		s.closeTxn(st, a)
		if id > 0 {
			for i := range s.Trans[id-1].Ops {
				s.applyOp(st, &s.Trans[id-1].Ops[i], a.Domain)
			}
		}
		for i := 1; i < len(t.Ops); i++ {
			s.applyOp(st, &t.Ops[i], a.Domain)
		}
	case EAGAIN:
		s.closeTxn(st, a)
		for i := range t.Ops {
			s.applyOp(st, &t.Ops[i], a.Domain)
		}
	default:
		for i := range t.Ops {
			s.applyOp(st, &t.Ops[i], a.Domain)
		}
	}
	for _, set := range t.Sets {
		st[s.varBase+int(set.Var)] = set.Val
	}
	if t.To != SameLoc {
		st[s.varBase+int(a.Loc)] = byte(t.To)
	}
}

func (s *System) closeTxn(st State, a *Actor) {
	slot := a.txnSlot
	for i := 0; i < 3+a.txnReads; i++ {
		st[slot+i] = 0
	}
}

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

// Fingerprint hashes a state to 64 bits without allocating. The checker
// keeps fingerprints, not states, in its seen set.
func Fingerprint(st State) uint64 { return fingerprint.Of(st) }

// Next is Successors in the checker's terms (see package checker's Model):
// for every enabled transition it yields the transition's ID, its actor,
// whether it is a fault, and the next state.
func (s *System) Next(st, next []byte, yield func(id, actor int32, fault bool, next []byte) bool) {
	s.Successors(st, next, func(t *Transition, n State) bool {
		return yield(int32(t.ID), int32(t.Actor), t.Fault != "", n)
	})
}

// InitialState returns the initial state as bytes (checker's Model).
func (s *System) InitialState() []byte { return s.Initial() }

// Quiescent reports whether every actor is at a final location (checker's
// Model): a state without successors that is not quiescent is a deadlock.
func (s *System) Quiescent(st []byte) bool { return s.AllFinal(st) }

// NumActors returns the number of actors (checker's Model).
func (s *System) NumActors() int { return len(s.Actors) }

// ActorFair reports whether actor a is fair (checker's Model).
func (s *System) ActorFair(a int) bool { return s.Actors[a].Fair }

// EffectiveOps returns the operations a transition applies to the store
// when taken in st: a commit applies its body's deferred operations, then
// its own; a transaction body applies nothing yet.
func (s *System) EffectiveOps(st State, t *Transition) (body, own []Op) {
	switch t.Kind {
	case TxnBody:
		return nil, nil
	case Commit:
		if b := s.OpenBody(st, t.Actor); b != nil {
			return b.Ops, t.Ops
		}
	}
	return nil, t.Ops
}

// ApplyOp performs one operation on st in place, with xenstored's
// semantics, outside any actor: for tests, and for tools that drive the
// store directly. OpTxn* operations do nothing here.
func (s *System) ApplyOp(st State, op Op) { s.applyOp(st, &op, 0) }

// ApplyOpAs performs op as a request of domain dom, with xenstored's
// permission checks (perms.go).
func (s *System) ApplyOpAs(st State, op Op, dom int) { s.applyOp(st, &op, dom) }

// NumTransitions is the number of transition ids (checker's optional
// interface: ids that fit 16 bits are stored in 2 bytes per state).
func (s *System) NumTransitions() int { return len(s.Trans) }

// WithTimers returns a copy of s that uses timer semantics t (the
// simulator's virtual clock runs the model with AnyTime timers).
func (s *System) WithTimers(t TimerSemantics) *System {
	c := *s
	c.Timers = t
	return &c
}
