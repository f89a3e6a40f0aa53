package model

import "bytes"

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
	urgent, stop := s.moves(st, next, yield)
	if stop || urgent && s.Timers == LastResort {
		return
	}
	for ai := range s.Actors {
		if s.actorTimers(st, next, ai, yield) {
			return
		}
	}
}

// moves yields every actor's moves in st other than timers, and reports
// whether one of them holds LastResort timers back (see actorMoves) and
// whether yield asked to stop.
func (s *System) moves(st, next State, yield func(t *Transition, next State) bool) (urgent, stop bool) {
	if s.gen != nil {
		// The generated guards (gen.go): an actor with nothing to do
		// costs one call.
		for ai := range s.Actors {
			var u, stop bool
			switch m, c, loc, how := s.gen.moves(s, st, ai); how {
			case GenIdle:
				continue
			case GenMasks:
				if m|c == 0 {
					continue
				}
				u, stop = s.genTake(st, next, ai, m, c, loc, yield)
			default:
				u, stop = s.actorMoves(st, next, ai, yield)
			}
			if stop {
				return urgent, true
			}
			urgent = urgent || u
		}
		return urgent, false
	}
	for ai := range s.Actors {
		u, stop := s.actorMoves(st, next, ai, yield)
		if stop {
			return urgent, true
		}
		urgent = urgent || u
	}
	return urgent, false
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
		if s.evalAll(st, a, t.Guard) && s.move(st, next, a, t, false, &urgent, yield) {
			return urgent, true
		}
	}
	for wi, w := range a.Watches {
		if st[s.watchOff+int(w)] != watchPending {
			continue
		}
		for _, ti := range a.handlers[wi] {
			t := &s.Trans[ti]
			if (t.From == AnyLoc || byte(t.From) == loc) && s.evalAll(st, a, t.Guard) {
				urgent = urgent || a.Fair
				if s.takeCase(st, next, a, t, yield) {
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
	return s.AppendApply(nil, st, t)
}

// AppendApply is Apply that writes the state t leads to from st over
// dst[:0], growing it only when it is too small, and returns it: a loop
// that applies many steps and keeps none of the results allocates once.
// dst must not overlap st.
func (s *System) AppendApply(dst, st State, t *Transition) State {
	next := append(dst[:0], st...)
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
// st the copy that becomes the state after. (The successor loop's move
// and takeCase call the generated effects, when attached, themselves:
// through apply, a call more for every successor took 2 to 3% of the
// N = 3 family's expand phase.)
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

// takeCase takes handler case t of actor a, the first enabled case of its
// watch, into next, and reports whether yield asked to stop.
func (s *System) takeCase(st, next State, a *Actor, t *Transition, yield func(t *Transition, next State) bool) bool {
	copy(next, st)
	if s.gen == nil || !s.gen.apply(s, st, next, t.ID) {
		s.apply(st, next, a, t)
	}
	return !yield(t, next)
}

// earlierCases returns the handler cases of t's watch that come before t:
// only the first enabled case of a watch is taken.
func (a *Actor) earlierCases(t *Transition) []int {
	for wi, w := range a.Watches {
		if w != t.Watch {
			continue
		}
		cases := a.handlers[wi]
		for i, ci := range cases {
			if ci == t.ID {
				return cases[:i]
			}
		}
		return cases
	}
	return nil
}

// move takes transition t of actor a, enabled in st, into next and yields
// it, unless it is a stutter (a step that changes nothing is no move;
// moves says t always changes the state). A fair actor's move that is not
// a fault and not slow sets urgent (it holds LastResort timers back).
// move reports whether yield asked to stop.
func (s *System) move(st, next State, a *Actor, t *Transition, moves bool, urgent *bool, yield func(t *Transition, next State) bool) bool {
	copy(next, st)
	if s.gen == nil || !s.gen.apply(s, st, next, t.ID) {
		s.apply(st, next, a, t)
	}
	if !moves && bytes.Equal(next, st) {
		return false
	}
	if a.Fair && t.Fault == "" && !t.Slow {
		*urgent = true
	}
	return !yield(t, next)
}
