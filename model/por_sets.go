package model

// The closure rules of the stubborn sets (see POR): which transitions may
// still occur, and the necessary enabling sets of disabled ones.

// mayOccur reports whether transition u can be taken from st before a
// transition of the set being built.
func (p *POR) mayOccur(st State, sc *porScratch, u int) bool {
	if p.excluded[u] {
		return false
	}
	s := p.s
	t := &s.Trans[u]
	b := t.Actor
	lb := st[s.varBase+int(s.Actors[b].Loc)]
	if t.From == AnyLoc || t.From == LocID(lb) {
		return true
	}
	if !p.reach[b][lb][t.From] {
		return false
	}
	// b cannot leave its location outside the set once all its moves out
	// of it are in.
	if sc.exitsEpoch[b] == sc.tEpoch && int(sc.exitsIn[b]) >= len(p.exits[b][lb]) {
		return false
	}
	if !p.foreign[b] {
		return true
	}
	// Or once those left out are other actors' settings of its location
	// that their actors cannot get to any more.
	for _, x := range p.exits[b][lb] {
		if sc.inT[x] == sc.tEpoch {
			continue
		}
		xt := &s.Trans[x]
		if xt.Actor == b {
			return true
		}
		la := LocID(st[s.varBase+int(s.Actors[xt.Actor].Loc)])
		if xt.From == AnyLoc || xt.From == la || p.reach[xt.Actor][la][xt.From] {
			return true
		}
	}
	return false
}

// countExit counts u, just added to the set, when it is a move of its
// actor out of its location in st, and for each other actor whose
// location it sets elsewhere (setsLoc).
func (p *POR) countExit(st State, sc *porScratch, u int) {
	if p.excluded[u] {
		return
	}
	s := p.s
	t := &s.Trans[u]
	count := func(b int) {
		if sc.exitsEpoch[b] != sc.tEpoch {
			sc.exitsEpoch[b], sc.exitsIn[b] = sc.tEpoch, 0
		}
		sc.exitsIn[b]++
	}
	b := t.Actor
	lb := LocID(st[s.varBase+int(s.Actors[b].Loc)])
	if (t.From == AnyLoc || t.From == lb) && t.To != SameLoc && t.To != lb {
		count(b)
	}
	for _, ls := range p.setsLoc[u] {
		if LocID(st[s.varBase+int(s.Actors[ls.actor].Loc)]) != ls.to {
			count(int(ls.actor))
		}
	}
}

// enablers adds a necessary enabling set of t, disabled in st: transitions
// one of which must be taken before t can be enabled.
func (p *POR) enablers(st State, sc *porScratch, t *Transition, add func(int)) {
	s := p.s
	if p.excluded[t.ID] {
		return // a timer: held back by the key until the set moves
	}
	a := &s.Actors[t.Actor]
	la := st[s.varBase+int(a.Loc)]
	// The actor's own conditions (its domain running).
	for i := range a.enabled {
		if !s.eval(st, a, &a.enabled[i]) {
			p.condWriters(st, sc, a, &a.enabled[i], add)
			return
		}
	}
	if t.From != AnyLoc && LocID(la) != t.From {
		if !p.reach[t.Actor][la][t.From] {
			return // never enabled again
		}
		for _, u := range p.exits[t.Actor][la] {
			add(int(u))
		}
		return
	}
	if t.Watch != NoWatch {
		w := s.watchOff + int(t.Watch)
		if st[w] != watchPending {
			want := accFire | accWr
			if st[w] == watchOff {
				want = accWr // only a registration makes it pending
			}
			p.enablersOf(st, sc, w, want, add)
			return
		}
	}
	// The false guard condition with the fewest writers that may occur
	// (a writer may be listed twice; it is added once).
	found := false
	sc.best2 = sc.best2[:0]
	for i := range t.Guard {
		c := &t.Guard[i]
		if s.eval(st, a, c) {
			continue
		}
		sc.tmp = sc.tmp[:0]
		p.condWriters(st, sc, a, c, func(u int) { sc.tmp = append(sc.tmp, int32(u)) })
		if !found || len(sc.tmp) < len(sc.best2) {
			found = true
			sc.best2, sc.tmp = sc.tmp, sc.best2
		}
		if len(sc.best2) == 0 {
			break
		}
	}
	if found {
		for _, u := range sc.best2 {
			add(int(u))
		}
		return
	}
	if t.Watch != NoWatch {
		// An earlier case of the watch is enabled: what it reads.
		for _, ci := range a.earlierCases(t) {
			c := &s.Trans[ci]
			if c.From != AnyLoc && c.From != LocID(la) {
				continue
			}
			for i := range c.Guard {
				p.condWriters(st, sc, a, &c.Guard[i], add)
			}
			add(ci)
		}
		return
	}
	// Its guard holds: a stutter. What it reads or writes.
	f := p.static[t.ID]
	for _, o := range f.offs {
		p.enablersOf(st, sc, int(o), accWrites, add)
	}
	for _, c := range f.conds {
		for _, o := range c.acc.offs {
			p.enablersOf(st, sc, int(o), accWrites, add)
		}
	}
}

// writersOf adds the transitions that may occur and access offset o with
// a kind in want.
func (p *POR) writersOf(st State, sc *porScratch, o int, want uint8, add func(int)) {
	for _, acc := range p.writers[o] {
		u := int(acc.t)
		if acc.kind&want != 0 && sc.inT[u] != sc.tEpoch && p.mayOccur(st, sc, u) {
			add(u)
		}
	}
}

// enablersOf is writersOf for a necessary enabling set: a conditional
// access (accessor.cond) happens only once every node of its condition
// is missing, so when one of them exists in st, the transitions that may
// remove it (keepPresent) stand for the access: one of them must occur
// before it can.
func (p *POR) enablersOf(st State, sc *porScratch, o int, want uint8, add func(int)) {
	for _, acc := range p.writers[o] {
		u := int(acc.t)
		if acc.kind&want == 0 || sc.inT[u] == sc.tEpoch || !p.mayOccur(st, sc, u) {
			continue
		}
		if acc.cond >= 0 && p.keepPresent(st, sc, acc.cond, add) {
			continue
		}
		add(u)
	}
}

// condWriters adds the transitions that may make condition c true.
func (p *POR) condWriters(st State, sc *porScratch, a *Actor, c *Cond, add func(int)) {
	s := p.s
	switch c.Kind {
	case CondPresent:
		p.enablersOf(st, sc, int(c.Path), accEns|accWr, add) // creators
	case CondAbsent:
		p.enablersOf(st, sc, int(c.Path), accWr, add) // removers
	case CondEq, CondNe, CondIn:
		p.enablersOf(st, sc, int(c.Path), accWrites, add)
	case CondVarEq, CondVarNe, CondVarIn:
		p.enablersOf(st, sc, s.varBase+int(c.Var), accWrites, add)
	case CondConflict, CondNoConflict:
		f := newFoot(s.size)
		p.condFoot(a, c, f, nil, AnyLoc)
		for _, o := range f.offs {
			p.enablersOf(st, sc, int(o), accWrites, add)
		}
	}
}

// MayCreate reports whether a step by t may create node q, missing before
// it: an operation t applies (for a commit, those of any transaction
// body of its actor) writes, makes or replaces q or a node below it (a
// WRITE creates the missing parents). Properties use it to say on which
// steps they look at q (Visibility.Steps); it over-approximates.
func (s *System) MayCreate(t *Transition, q PathID) bool {
	below := func(p PathID) bool {
		for ; p != NoPath; p = s.Paths[p].Parent {
			if p == q {
				return true
			}
		}
		return false
	}
	creates := func(ops []Op) bool {
		for i := range ops {
			switch ops[i].Kind {
			case OpWrite, OpMkdir, OpReplace, OpSwitchState:
				if below(ops[i].Path) {
					return true
				}
			}
		}
		return false
	}
	switch t.Kind {
	case TxnBody:
		return false
	case Commit:
		for _, ti := range s.Actors[t.Actor].Trans {
			if b := &s.Trans[ti]; b.Kind == TxnBody && creates(b.Ops) {
				return true
			}
		}
	}
	return creates(t.Ops)
}
