package model

import (
	"fmt"
	"sync"
)

// Partial-order reduction: stubborn sets computed in each state.
//
// In a state st, Ample builds a set T of transitions (enabled or not)
// from a seed, an enabled "key" transition, closing it under two rules
// (Valmari's strong stubborn sets):
//
//   - for an enabled t in T: every transition u that may still occur
//     before a transition of T does (u's actor can reach u's location
//     without leaving its current one through T) and whose footprint
//     conflicts with t's is in T. t's footprint is computed in st
//     (footNow: the nodes it reads and writes now, the first existing
//     ancestor a WRITE stops at, the watches that fire now); u's over
//     every state (footStatic). So a step outside T can neither disable
//     t nor fail to commute with it, and t's footprint stays what it is
//     in st until T moves (it only changes when a byte it reads does);
//   - for a disabled t in T: a necessary enabling set is in T, the
//     transitions of which one must occur before t can be enabled: the
//     moves of t's actor out of its current location when t is
//     elsewhere; the writers of a false guard condition (creators for
//     "present", removers for "absent"); the registrations of a watch
//     that is off, or whatever may fire it when it is on; the writers of
//     what an earlier, enabled case of the same watch reads.
//
// T is used when its enabled transitions are fewer than all, none of them
// is visible (writes, in st, a byte a property reads, or carries a mark
// when a property inspects them), and the key is a move that is not a
// fault: under LastResort timers also of a fair actor, not slow and not a
// timer, so that it holds every timer back until T moves and no timer
// needs to be in T. The key stays enabled until T moves, so stuck states
// (deadlocks) are preserved; the invisibility of T's enabled transitions
// and the checker's cycle proviso (a state whose ample successors include
// one seen already is expanded fully: in a breadth-first search every
// ample edge then goes one level deeper, so every cycle has a fully
// expanded state) preserve invariants and step invariants over the
// visible bytes. Among the seeds (one per actor), the T with the fewest
// enabled transitions wins.
//
// Step invariants must hold on every step that writes none of the bytes
// they read and carries no mark (when they inspect marks): props'
// read declarations say so (props.TestPropertyReadsAreComplete).
//
// With symmetry reduction, the checker computes T in the representative
// it expands and canonicalizes the successors: the argument above holds
// in each representative, and a symmetry maps a run to a violation onto a
// run to a violation of a symmetric property, so no choice of T needs to
// be invariant under the permutation of devices (docs/performance.md).
type POR struct {
	s       *System
	visible []bool // per state offset
	// recordOf[o] is the actor whose transaction record holds offset o,
	// or -1.
	recordOf []int32
	marks    bool
	// permanent nodes exist in every reachable state (no operation can
	// remove them), so writes below them never create them.
	permanent []bool
	// static[t] is t's footprint over every state; accessors[o] lists the
	// transitions whose static footprint holds offset o; conds the
	// conditions of conditional accesses (accessor.cond).
	static    []*foot
	accessors [][]accessor
	conds     [][]PathID
	// excluded[t]: a timer under LastResort timers (never in T, see POR).
	excluded []bool
	// exits[a][l]: a's transitions that can fire at l and leave it;
	// reach[a][l][m]: a can get from l to m.
	exits [][][]int32
	reach [][][]bool
	pool  sync.Pool
}

type accessor struct {
	t    int32
	kind uint8
	// cond, when not -1, is the index in POR.conds of the nodes that
	// must all be missing for the access to happen.
	cond int32
}

// porScratch is one goroutine's working space.
type porScratch struct {
	cur   State
	f     *foot
	epoch uint32
	// pos[t] is 1 + t's index among the enabled transitions when
	// enEpoch[t] == epoch.
	enEpoch []uint32
	pos     []int32
	succ    []byte
	ids     []int32
	// inT[t] == tEpoch: t is in the set being built.
	tEpoch uint32
	inT    []uint32
	queue  []int32
	// exitsIn[a], when exitsEpoch[a] == tEpoch, counts a's moves out of
	// its location in the set being built.
	exitsIn    []int32
	exitsEpoch []uint32
	members    []int32 // enabled members of the set being built, as positions
	best       []int32
}

// NewPOR prepares partial-order reduction for properties that read the
// state offsets in visible (see VisibleOffsets) and, when marks is true,
// inspect transitions' marks.
func (s *System) NewPOR(visible map[int]bool, marks bool) *POR {
	p := &POR{s: s, marks: marks, permanent: s.permanentPaths(), visible: make([]bool, s.size)}
	for o := range visible {
		if o >= 0 && o < s.size {
			p.visible[o] = true
		}
	}
	p.recordOf = make([]int32, s.size)
	for o := range p.recordOf {
		p.recordOf[o] = -1
	}
	for ai := range s.Actors {
		for _, o := range s.TxnOffsets(ai) {
			p.recordOf[o] = int32(ai)
		}
	}
	lastResort := s.Timers == LastResort
	p.excluded = make([]bool, len(s.Trans))
	p.static = make([]*foot, len(s.Trans))
	p.accessors = make([][]accessor, s.size)
	for ti := range s.Trans {
		t := &s.Trans[ti]
		p.excluded[ti] = lastResort && t.Watch == NoWatch && t.Timeout > 0
		f := p.footStatic(t)
		p.static[ti] = f
		for _, o := range f.offs {
			p.accessors[o] = append(p.accessors[o], accessor{int32(ti), f.kind[o], -1})
		}
		for _, c := range f.conds {
			ci := int32(-1)
			if len(c.absent) > 0 {
				ci = int32(len(p.conds))
				p.conds = append(p.conds, c.absent)
			}
			for _, o := range c.acc.offs {
				p.accessors[o] = append(p.accessors[o], accessor{int32(ti), c.acc.kind[o], ci})
			}
		}
	}
	p.exits = make([][][]int32, len(s.Actors))
	p.reach = make([][][]bool, len(s.Actors))
	for ai := range s.Actors {
		a := &s.Actors[ai]
		n := len(a.Locs)
		p.exits[ai] = make([][]int32, n)
		succ := make([][]int, n)
		for l := 0; l < n; l++ {
			for _, ti := range a.Trans {
				t := &s.Trans[ti]
				if t.From != AnyLoc && int(t.From) != l {
					continue
				}
				if t.To == SameLoc || int(t.To) == l {
					continue
				}
				succ[l] = append(succ[l], int(t.To))
				if !p.excluded[ti] {
					p.exits[ai][l] = append(p.exits[ai][l], int32(ti))
				}
			}
		}
		p.reach[ai] = make([][]bool, n)
		for l := 0; l < n; l++ {
			r := make([]bool, n)
			r[l] = true
			todo := []int{l}
			for len(todo) > 0 {
				x := todo[len(todo)-1]
				todo = todo[:len(todo)-1]
				for _, y := range succ[x] {
					if !r[y] {
						r[y] = true
						todo = append(todo, y)
					}
				}
			}
			p.reach[ai][l] = r
		}
	}
	p.pool.New = func() any {
		return &porScratch{
			cur: make(State, s.size), f: newFoot(s.size),
			enEpoch: make([]uint32, len(s.Trans)), pos: make([]int32, len(s.Trans)),
			inT:     make([]uint32, len(s.Trans)),
			exitsIn: make([]int32, len(s.Actors)), exitsEpoch: make([]uint32, len(s.Actors)),
		}
	}
	return p
}

// Ample yields the moves of the smallest stubborn set found in st (see
// POR) and reports whether it found one with fewer moves than st has;
// when it returns false the caller expands st fully.
func (p *POR) Ample(st, next []byte, yield func(id, actor int32, fault bool, next []byte) bool) bool {
	return p.AmpleNew(st, next, nil, yield)
}

// AmpleNew is Ample for a breadth-first search with the cycle proviso:
// isNew says whether a successor is new (not seen at the start of the
// level being expanded), and only a stubborn set with a new successor is
// chosen; when none has one, AmpleNew returns false (expand fully). A nil
// isNew takes every successor as new.
func (p *POR) AmpleNew(st, next []byte, isNew func(next []byte) bool, yield func(id, actor int32, fault bool, next []byte) bool) bool {
	s := p.s
	sc := p.pool.Get().(*porScratch)
	defer p.pool.Put(sc)
	sc.epoch++
	if sc.epoch == 0 {
		clear(sc.enEpoch)
		sc.epoch = 1
	}
	sc.succ, sc.ids = sc.succ[:0], sc.ids[:0]
	s.Successors(st, next, func(t *Transition, n State) bool {
		sc.ids = append(sc.ids, int32(t.ID))
		sc.succ = append(sc.succ, n...)
		sc.enEpoch[t.ID] = sc.epoch
		sc.pos[t.ID] = int32(len(sc.ids))
		return true
	})
	n := len(sc.ids)
	if n < 2 {
		return false
	}
	bestN := n
	sc.best = sc.best[:0]
	lastActor := -1
	for _, id := range sc.ids {
		t := &s.Trans[id]
		if t.Actor == lastActor || !p.key(t) {
			continue
		}
		lastActor = t.Actor
		if k, ok := p.closure(st, sc, int(id), bestN); ok && k < bestN && p.someNew(sc, isNew) {
			bestN = k
			sc.best = append(sc.best[:0], sc.members...)
			if k == 1 {
				break
			}
		}
	}
	if len(sc.best) == 0 {
		return false
	}
	// In the order Successors gave them.
	sortInt32(sc.best)
	size := s.size
	for _, k := range sc.best {
		t := &s.Trans[sc.ids[k]]
		if !yield(int32(t.ID), int32(t.Actor), t.Fault != "", sc.succ[int(k)*size:(int(k)+1)*size]) {
			break
		}
	}
	return true
}

// someNew reports whether a member of the set just built leads to a new
// state.
func (p *POR) someNew(sc *porScratch, isNew func([]byte) bool) bool {
	if isNew == nil {
		return true
	}
	size := p.s.size
	for _, k := range sc.members {
		if isNew(sc.succ[int(k)*size : (int(k)+1)*size]) {
			return true
		}
	}
	return false
}

func sortInt32(xs []int32) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && xs[j] < xs[j-1]; j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}

// key reports whether enabled transition t may seed a stubborn set: a
// move that is not a fault and, under LastResort timers, one that holds
// the timers back (a fair actor's, not slow, not a timer).
func (p *POR) key(t *Transition) bool {
	if t.Fault != "" {
		return false
	}
	if p.s.Timers == AnyTime {
		return true
	}
	return p.s.Actors[t.Actor].Fair && !t.Slow && t.Timeout == 0
}

func (sc *porScratch) enabled(t int) bool { return sc.enEpoch[t] == sc.epoch }

// closure builds the stubborn set of seed in st and returns the number of
// its enabled transitions (sc.members holds their positions), or false
// when it has a visible enabled transition or at least limit enabled ones.
func (p *POR) closure(st State, sc *porScratch, seed, limit int) (int, bool) {
	s := p.s
	sc.tEpoch++
	if sc.tEpoch == 0 {
		clear(sc.inT)
		clear(sc.exitsEpoch)
		sc.tEpoch = 1
	}
	sc.members = sc.members[:0]
	sc.queue = sc.queue[:0]
	add := func(u int) {
		if sc.inT[u] != sc.tEpoch {
			sc.inT[u] = sc.tEpoch
			sc.queue = append(sc.queue, int32(u))
			p.countExit(st, sc, u)
		}
	}
	add(seed)
	for len(sc.queue) > 0 {
		ti := int(sc.queue[len(sc.queue)-1])
		sc.queue = sc.queue[:len(sc.queue)-1]
		t := &s.Trans[ti]
		if !sc.enabled(ti) {
			p.enablers(st, sc, t, add)
			continue
		}
		sc.members = append(sc.members, sc.pos[ti]-1)
		if len(sc.members) >= limit {
			return 0, false
		}
		if p.marks && len(t.Marks) > 0 {
			return 0, false
		}
		// The moves of t's actor out of its location first: they conflict
		// with t through the location, and then the actor cannot leave it
		// outside T.
		a := t.Actor
		la := st[s.varBase+int(s.Actors[a].Loc)]
		for _, u := range p.exits[a][la] {
			add(int(u))
		}
		f := sc.f
		f.reset()
		p.footNow(st, sc.cur, t, f)
		for _, o := range f.offs {
			k := f.kind[o]
			if k&accWrites != 0 && p.visible[o] && p.recordOf[o] != int32(t.Actor) {
				return 0, false
			}
			for _, acc := range p.accessors[o] {
				u := int(acc.t)
				if sc.inT[u] == sc.tEpoch || !conflicting(k, acc.kind) || !p.mayOccur(st, sc, u) {
					continue
				}
				if acc.cond >= 0 && p.keepPresent(st, sc, acc.cond, add) {
					continue
				}
				add(u)
			}
		}
	}
	return len(sc.members), true
}

// keepPresent handles a conditional access that conflicts: when a node of
// its condition exists in st, it adds the transitions that may remove
// that node (so that none outside the set can; of the existing nodes, the
// one with the fewest such transitions not in the set yet) and returns
// true.
func (p *POR) keepPresent(st State, sc *porScratch, cond int32, add func(int)) bool {
	best, bestN := PathID(NoPath), -1
	for _, q := range p.conds[cond] {
		if st[q] == byte(Absent) {
			continue
		}
		n := 0
		p.writersOf(st, sc, int(q), accWr, func(int) { n++ })
		if bestN < 0 || n < bestN {
			best, bestN = q, n
			if n == 0 {
				break
			}
		}
	}
	if bestN < 0 {
		return false
	}
	p.writersOf(st, sc, int(best), accWr, add)
	return true
}

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
	return sc.exitsEpoch[b] != sc.tEpoch || int(sc.exitsIn[b]) < len(p.exits[b][lb])
}

// countExit counts u, just added to the set, when it is a move of its
// actor out of its location in st.
func (p *POR) countExit(st State, sc *porScratch, u int) {
	if p.excluded[u] {
		return
	}
	s := p.s
	t := &s.Trans[u]
	b := t.Actor
	lb := LocID(st[s.varBase+int(s.Actors[b].Loc)])
	if (t.From != AnyLoc && t.From != lb) || t.To == SameLoc || t.To == lb {
		return
	}
	if sc.exitsEpoch[b] != sc.tEpoch {
		sc.exitsEpoch[b], sc.exitsIn[b] = sc.tEpoch, 0
	}
	sc.exitsIn[b]++
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
			p.writersOf(st, sc, w, want, add)
			return
		}
	}
	// The false guard condition with the fewest writers that may occur.
	var worst *Cond
	best := -1
	for i := range t.Guard {
		c := &t.Guard[i]
		if s.eval(st, a, c) {
			continue
		}
		n := 0
		p.condWriters(st, sc, a, c, func(int) { n++ })
		if best < 0 || n < best {
			best, worst = n, c
		}
	}
	if worst != nil {
		p.condWriters(st, sc, a, worst, add)
		return
	}
	if t.Watch != NoWatch {
		// An earlier case of the watch is enabled: what it reads.
		for wi, x := range a.Watches {
			if x != t.Watch {
				continue
			}
			for _, ci := range a.handlers[wi] {
				if ci == t.ID {
					break
				}
				c := &s.Trans[ci]
				if c.From != AnyLoc && c.From != LocID(la) {
					continue
				}
				for i := range c.Guard {
					p.condWriters(st, sc, a, &c.Guard[i], add)
				}
				add(ci)
			}
		}
		return
	}
	// Its guard holds: a stutter. What it reads or writes.
	f := p.static[t.ID]
	for _, o := range f.offs {
		p.writersOf(st, sc, int(o), accWrites, add)
	}
	for _, c := range f.conds {
		for _, o := range c.acc.offs {
			p.writersOf(st, sc, int(o), accWrites, add)
		}
	}
}

// writersOf adds the transitions that may occur and access offset o with
// a kind in want.
func (p *POR) writersOf(st State, sc *porScratch, o int, want uint8, add func(int)) {
	for _, acc := range p.accessors[o] {
		u := int(acc.t)
		if acc.kind&want != 0 && sc.inT[u] != sc.tEpoch && p.mayOccur(st, sc, u) {
			add(u)
		}
	}
}

// condWriters adds the transitions that may make condition c true.
func (p *POR) condWriters(st State, sc *porScratch, a *Actor, c *Cond, add func(int)) {
	s := p.s
	switch c.Kind {
	case CondPresent:
		p.writersOf(st, sc, int(c.Path), accEns|accWr, add) // creators
	case CondAbsent:
		p.writersOf(st, sc, int(c.Path), accWr, add) // removers
	case CondEq, CondNe, CondIn:
		p.writersOf(st, sc, int(c.Path), accWrites, add)
	case CondVarEq, CondVarNe, CondVarIn:
		p.writersOf(st, sc, s.varBase+int(c.Var), accWrites, add)
	case CondConflict, CondNoConflict:
		f := newFoot(s.size)
		p.condFoot(a, c, f, nil, AnyLoc)
		for _, o := range f.offs {
			p.writersOf(st, sc, int(o), accWrites, add)
		}
	}
}

// PathOffset, VarOffset and LocOffset give the state offsets of a node, a
// variable and an actor's location, for properties declaring what they
// read.
func (s *System) PathOffset(p PathID) int { return int(p) }

// VarOffset is the state offset of variable v.
func (s *System) VarOffset(v VarID) int { return s.varBase + int(v) }

// TxnOffsets returns the state offsets of actor a's open-transaction
// record (the body's id, the conflict flag, the values read), or nil.
func (s *System) TxnOffsets(a int) []int {
	act := &s.Actors[a]
	if act.txnSlot < 0 {
		return nil
	}
	var out []int
	for i := 0; i < 3+act.txnReads; i++ {
		out = append(out, act.txnSlot+i)
	}
	return out
}

// OffsetName names state offset o for people: a path, a variable, a
// watch, or a transaction record.
func (s *System) OffsetName(o int) string {
	switch {
	case o < len(s.Paths):
		return s.Paths[o].Name
	case o >= s.varBase && o < s.varBase+len(s.Vars):
		return "var " + s.Vars[o-s.varBase].Name
	case o >= s.watchOff && o < s.watchOff+len(s.Watches):
		w := &s.Watches[o-s.watchOff]
		return "watch " + s.Actors[w.Actor].Name + " " + s.Paths[w.Path].Name
	}
	for ai := range s.Actors {
		if a := &s.Actors[ai]; a.txnSlot >= 0 && o >= a.txnSlot && o < a.txnSlot+3+a.txnReads {
			return "transaction of " + a.Name
		}
	}
	return fmt.Sprintf("offset %d", o)
}

// permanentPaths finds the nodes that exist initially and that no
// operation of any transition can remove.
func (s *System) permanentPaths() []bool {
	removable := make([]bool, len(s.Paths))
	var sub func(p PathID)
	sub = func(p PathID) {
		removable[p] = true
		for _, c := range s.Paths[p].Children {
			sub(c)
		}
	}
	var cleanups []PathID
	for ti := range s.Trans {
		for _, op := range s.Trans[ti].Ops {
			switch op.Kind {
			case OpRm:
				sub(op.Path)
			case OpCleanup:
				sub(op.Path)
				cleanups = append(cleanups, op.Path)
			case OpDomainGone:
				if s.RemoveOwnedOnDeath {
					for i := range s.Paths {
						if s.Paths[i].Owner == op.Dom {
							sub(PathID(i))
						}
					}
				}
			}
		}
	}
	permanent := func(p PathID) bool { return s.init[p] != byte(Absent) && !removable[p] }
	// path_cleanup removes an ancestor only once it is empty: never when it
	// keeps a permanent child. A node found removable can make its parent
	// removable in turn, so the passes go on to a fixpoint.
	for changed := true; changed; {
		changed = false
		for _, t := range cleanups {
			child := t
			for q := s.Paths[t].Parent; q != NoPath; child, q = q, s.Paths[q].Parent {
				keeps := false
				for _, c := range s.Paths[q].Children {
					if c != child && permanent(c) {
						keeps = true
					}
				}
				if keeps || q == 0 {
					break
				}
				if !removable[q] {
					removable[q] = true
					changed = true
				}
				// Its subtree goes with it.
				var sub func(p PathID)
				sub = func(p PathID) {
					if !removable[p] {
						removable[p] = true
						changed = true
					}
					for _, c := range s.Paths[p].Children {
						sub(c)
					}
				}
				sub(q)
			}
		}
	}
	out := make([]bool, len(s.Paths))
	for i := range out {
		out[i] = permanent(PathID(i))
	}
	return out
}

// mayBeRegistered computes, per actor and location, the watches that may
// be registered while the actor is there (a fixpoint over the actor's
// transitions from its initial registrations).
func (s *System) mayBeRegistered() [][]map[WatchID]bool {
	out := make([][]map[WatchID]bool, len(s.Actors))
	for ai := range s.Actors {
		a := &s.Actors[ai]
		sets := make([]map[WatchID]bool, len(a.Locs))
		for l := range sets {
			sets[l] = map[WatchID]bool{}
		}
		start := LocID(s.init[s.varBase+int(a.Loc)])
		for _, w := range a.Watches {
			if s.init[s.watchOff+int(w)] != watchOff {
				sets[start][w] = true
			}
		}
		for changed := true; changed; {
			changed = false
			for _, ti := range a.Trans {
				t := &s.Trans[ti]
				for l := range sets {
					if t.From != AnyLoc && t.From != LocID(l) {
						continue
					}
					if t.Watch != NoWatch && !sets[l][t.Watch] {
						continue
					}
					to := LocID(l)
					if t.To != SameLoc {
						to = t.To
					}
					next := map[WatchID]bool{}
					for w := range sets[l] {
						next[w] = true
					}
					ops := t.Ops
					for _, op := range ops {
						switch op.Kind {
						case OpWatch:
							next[op.Watch] = true
						case OpUnwatch:
							delete(next, op.Watch)
						}
					}
					for w := range next {
						if !sets[to][w] {
							sets[to][w] = true
							changed = true
						}
					}
				}
			}
		}
		out[ai] = sets
	}
	return out
}
