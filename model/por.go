package model

// Partial-order reduction: stubborn sets computed in each state.
//
// In a state st, Ample builds a set T of transitions (enabled or not)
// from a seed, an enabled "key" transition, closing it under two rules
// (Valmari's strong stubborn sets):
//
//   - for an enabled t in T: every transition u that may still occur
//     before a transition of T does (u's actor can reach u's location
//     without leaving its current one through T; another actor's
//     transition that sets its location, as Builder.Chain's do, is such
//     a move out of every location, unless its own actor cannot get to
//     it any more) and whose footprint
//     conflicts with t's is in T. t's footprint is computed in st
//     (footNow: the nodes it reads and writes now, the first existing
//     ancestor a WRITE stops at, the watches that fire now); u's over
//     every state (footStatic). So a step outside T can neither disable
//     t nor fail to commute with it, and t's footprint stays what it is
//     in st until T moves (it only changes when a byte it reads does).
//     One conflict is waived: when a node exists in st and t neither
//     removes nor creates it, u's access that only creates the node if
//     missing (the parents a WRITE creates, accEns) does nothing to it,
//     since every transition that may remove it conflicts with t and is
//     in T, so the node exists until T moves;
//   - for a disabled t in T: a necessary enabling set is in T, the
//     transitions of which one must occur before t can be enabled: the
//     moves of t's actor out of its current location when t is
//     elsewhere; the writers of a false guard condition (creators for
//     "present", removers for "absent"); the registrations of a watch
//     that is off, or whatever may fire it when it is on; the writers of
//     what an earlier, enabled case of the same watch reads. A writer
//     whose access is conditional (a cleanup's removal of an ancestor,
//     which needs the ancestor's other children missing) is replaced,
//     when one of those children exists in st, by the transitions that
//     may remove that child: one of them must occur before the access
//     can (enablersOf).
//
// Visibility (what the properties look at, Visibility) comes in two
// forms (scenario.Build uses the first only: see there). Offsets: a transition that writes, in st, a byte an invariant or
// such a step invariant reads, or carries a mark when one inspects marks,
// is visible, and T is refused when an enabled member is visible. Steps,
// for the step invariants that declare per-step reads (props' stepReads):
// R(v), for each transition v, is what they read on a step by v (their
// value there, as a function of the state before, with the state after
// being v's result, depends only on R(v)); two more closure rules take
// the place of visibility:
//
//   - (i) for an enabled t in T: every transition that may occur and may
//     change a byte of R(t) is in T (keepRead), so R(t) keeps its value
//     in st until T moves;
//   - (ii) for an enabled t in T that writes, in st, a byte of R(v) for
//     some v: v is in T if it may occur before T moves.
//
// T is used when its enabled transitions are fewer than all, none of them
// is visible, and the key is a move that is not a fault: under LastResort
// timers also of a fair actor, not slow and not a timer, so that it holds
// every timer back until T moves and no timer needs to be in T. Among
// the seeds (one per actor), the T with the fewest enabled transitions
// wins.
//
// Why violations are preserved. The key stays enabled until T moves, so
// stuck states (deadlocks) are preserved. Take a reduced state s, under
// the checker's cycle proviso (every cycle of the reduced graph holds a
// fully expanded state: checker.Options.POR), and a shortest run w from
// s whose last step v violates a step invariant (or whose last state
// violates an invariant). Either
//
//   - a transition of T occurs in w: the first one, t, was enabled in s
//     (no step outside T enables a member of T) and commutes with the
//     steps before it, so t followed by the rest of w, reordered, is a
//     run from s·t one step shorter ending with the same violating step
//     from the same state, unless t is v itself. t = v is impossible
//     when v is visible (an enabled member of T is not), and when v's
//     property has per-step reads, rule (i) kept the steps before v in w
//     (outside T) from changing R(v): v taken in s is a violation too.
//   - or none does: then every ample successor s·t (t enabled in T)
//     commutes with all of w, and w from s·t is a run as long,
//     ending with v from the state it had in w with t's writes
//     added. For an invisible t the visible bytes are unchanged; for the
//     per-step reads, t writes no byte of R(v) (else v, which may occur
//     before T moves, would be in T by rule (ii)), so v is a violation
//     there too.
//
// In the second case the same run is left from a successor along an
// edge of the reduced graph. Taking such edges while the length stays
// the same visits only reduced states (from a fully expanded one, w's
// first step is an edge), and an endless walk through them would close
// a cycle of reduced states, which the proviso excludes: the length
// decreases, so the reduced search reaches a violation. (Under the
// checker's breadth-first proviso, the successor taken is the one a
// level deeper, and the pair (length, minus the level) decreases.) This
// needs only the per-step argument of
// the property, not that the property's bytes stay unchanged by T's
// members: a member of T may well write what a property reads, as long
// as the steps that read it cannot occur before T moves (they are
// further along the same actor, say, like libxl's completion after its
// own commit creates the device directories).
//
// Step invariants without per-step reads must hold on every step that
// writes none of the bytes they read and carries no mark (when they
// inspect marks): props' read declarations say so
// (props.TestPropertyReadsAreComplete; TestStepReadsAreComplete for the
// per-step reads).
//
// With symmetry reduction, the checker computes T in the representative
// it expands and canonicalizes the successors: the argument above holds
// in each representative, and a symmetry maps a run to a violation onto a
// run to a violation of a symmetric property, so no choice of T needs to
// be invariant under the permutation of devices (docs/performance.md).
type POR struct {
	s       *System
	visible []bool // per state offset
	// stepReads[t] is what the step properties with per-step reads read
	// on a step by t (Visibility.Steps); stepReaders[o] lists the
	// transitions whose stepReads hold offset o.
	stepReads   [][]int32
	stepReaders [][]int32
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
	writers   [][]accessor // the accessors that may change the byte
	conds     [][]PathID
	// excluded[t]: a timer under LastResort timers (never in T, see POR).
	excluded []bool
	// exits[a][l]: the transitions that can fire while a is at l and move
	// it elsewhere (a's own, and other actors' that set a's location,
	// setsLoc); reach[a][l][m]: a can get from l to m.
	exits   [][][]int32
	reach   [][][]bool
	setsLoc [][]locSet
	foreign []bool // foreign[a]: another actor's transition sets a's location
}

// A locSet is a transition's setting of another actor's location.
type locSet struct {
	actor int32
	to    LocID
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
	tmp, best2 []int32 // enablers of the guard conditions (enablers)
	best       []int32
}

// NewPOR prepares partial-order reduction for properties that read the
// state offsets in visible (see VisibleOffsets) and, when marks is true,
// inspect transitions' marks.
func (s *System) NewPOR(visible map[int]bool, marks bool) *POR {
	return s.NewPORFor(Visibility{Offsets: visible, Marks: marks})
}

// Visibility is what the properties a partial-order reduction preserves
// look at (see POR).
type Visibility struct {
	// Offsets are the state offsets read by the invariants and the step
	// invariants that declare no per-step reads, and Marks says whether
	// one of those inspects transitions' marks: a transition that writes
	// one of these bytes, or carries a mark, is never in a reduced set.
	Offsets map[int]bool
	Marks   bool
	// Steps, indexed by transition id (nil when no property declares
	// per-step reads), lists for each transition t the state offsets
	// that the step invariants with per-step reads read on a step by t:
	// each such property's value on a step by t, taken in a state where t
	// is enabled (and with the state after it being t's result), is a
	// function of these bytes of the state before. A transition whose
	// list is empty is a step on which none of them can change its value
	// (a step it does not judge, or one that cannot fail).
	Steps [][]int
}

// NewPORFor prepares partial-order reduction for properties that read
// what v says.
func (s *System) NewPORFor(v Visibility) *POR {
	p := &POR{s: s, marks: v.Marks, permanent: s.permanentPaths(), visible: make([]bool, s.size)}
	for o := range v.Offsets {
		if o >= 0 && o < s.size {
			p.visible[o] = true
		}
	}
	if v.Steps != nil {
		p.stepReads = make([][]int32, len(s.Trans))
		p.stepReaders = make([][]int32, s.size)
		for ti := range s.Trans {
			if ti >= len(v.Steps) {
				break
			}
			seen := map[int]bool{}
			for _, o := range v.Steps[ti] {
				if o < 0 || o >= s.size || seen[o] {
					continue
				}
				seen[o] = true
				p.stepReads[ti] = append(p.stepReads[ti], int32(o))
				p.stepReaders[o] = append(p.stepReaders[o], int32(ti))
			}
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
	p.writers = make([][]accessor, s.size)
	for o, accs := range p.accessors {
		for _, a := range accs {
			if a.kind&accWrites != 0 {
				p.writers[o] = append(p.writers[o], a)
			}
		}
	}
	// Another actor's transition may set an actor's location (Builder.Chain
	// starts an operation when another completes; a destroy starts its
	// removals): from any location of the actor, as far as the set knows.
	p.setsLoc = make([][]locSet, len(s.Trans))
	locOwner := map[int]int{}
	for ai := range s.Actors {
		locOwner[s.varBase+int(s.Actors[ai].Loc)] = ai
	}
	foreign := make([][]int32, len(s.Actors))
	for ti := range s.Trans {
		t := &s.Trans[ti]
		for _, set := range t.Sets {
			if b, ok := locOwner[s.varBase+int(set.Var)]; ok && b != t.Actor {
				p.setsLoc[ti] = append(p.setsLoc[ti], locSet{int32(b), LocID(set.Val)})
				foreign[b] = append(foreign[b], int32(ti))
			}
		}
	}
	p.foreign = make([]bool, len(s.Actors))
	for ai := range s.Actors {
		p.foreign[ai] = len(foreign[ai]) > 0
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
			for _, ti := range foreign[ai] {
				for _, ls := range p.setsLoc[ti] {
					if int(ls.actor) != ai || int(ls.to) == l || int(ls.to) >= n {
						continue
					}
					succ[l] = append(succ[l], int(ls.to))
					if !p.excluded[ti] {
						p.exits[ai][l] = append(p.exits[ai][l], ti)
					}
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
	return p
}

func (p *POR) newScratch() *porScratch {
	s := p.s
	return &porScratch{
		cur: make(State, s.size), f: newFoot(s.size),
		enEpoch: make([]uint32, len(s.Trans)), pos: make([]int32, len(s.Trans)),
		inT:     make([]uint32, len(s.Trans)),
		exitsIn: make([]int32, len(s.Actors)), exitsEpoch: make([]uint32, len(s.Actors)),
	}
}

// Ample yields the moves of the smallest stubborn set found in st (see
// POR) and reports whether it found one with fewer moves than st has;
// when it returns false the caller expands st fully. It allocates its
// working space on every call: a search uses NewAmple.
func (p *POR) Ample(st, next []byte, yield func(id, actor int32, fault bool, next []byte) bool) bool {
	return p.ample(p.newScratch(), st, next, nil, yield)
}

// NewAmple returns Ample for one goroutine of a breadth-first search
// (checker.PartialOrder), with its own working space. Under the checker's
// breadth-first cycle proviso, isNew says whether a successor is new (not
// seen at the start of the level being expanded), and only a stubborn
// set with a new successor is chosen; when none has one, it returns false
// (expand fully). A nil isNew (the checker checks for cycles after the
// search) takes every successor as new.
func (p *POR) NewAmple() func(st, next []byte, isNew func(next []byte) bool, yield func(id, actor int32, fault bool, next []byte) bool) bool {
	sc := p.newScratch()
	return func(st, next []byte, isNew func(next []byte) bool, yield func(id, actor int32, fault bool, next []byte) bool) bool {
		return p.ample(sc, st, next, isNew, yield)
	}
}

func (p *POR) ample(sc *porScratch, st, next []byte, isNew func(next []byte) bool, yield func(id, actor int32, fault bool, next []byte) bool) bool {
	s := p.s
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
		if p.stepReads != nil {
			// What the step properties read on a step by t: no
			// transition outside the set may change it.
			for _, o := range p.stepReads[ti] {
				p.keepRead(st, sc, int(o), add)
			}
		}
		for _, o := range f.offs {
			k := f.kind[o]
			if k&accWrites != 0 && p.visible[o] && p.recordOf[o] != int32(t.Actor) {
				return 0, false
			}
			if k&accWrites != 0 && p.stepReaders != nil {
				// The steps whose properties read what t writes, if they
				// may occur before the set moves, join it.
				for _, v := range p.stepReaders[o] {
					if sc.inT[v] != sc.tEpoch && p.mayOccur(st, sc, int(v)) {
						add(int(v))
					}
				}
			}
			// A node that exists in st, that t neither removes nor
			// creates, keeps existing until T moves (every transition
			// that may remove it conflicts with t here and joins T): the
			// accesses that only create it if missing leave it alone.
			keeps := k&(accWr|accEns) == 0 && int(o) < len(s.Paths) && st[o] != byte(Absent)
			for _, acc := range p.accessors[o] {
				u := int(acc.t)
				if sc.inT[u] == sc.tEpoch || !conflicting(k, acc.kind) || !p.mayOccur(st, sc, u) {
					continue
				}
				if keeps && acc.kind&accEns != 0 && !conflicting(k, acc.kind&^accEns) {
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

// keepRead adds the transitions that may occur and change byte o, a byte
// a step property reads on the step of an enabled member of the set: then
// o keeps its value in st until the set moves. A node that exists in st
// keeps existing, and keeps its value, under the accesses that only
// create it if missing (accEns); a conditional access whose condition a
// node existing in st keeps from happening is handled as in closure.
func (p *POR) keepRead(st State, sc *porScratch, o int, add func(int)) {
	for _, acc := range p.writers[o] {
		u := int(acc.t)
		if sc.inT[u] == sc.tEpoch || !p.mayOccur(st, sc, u) {
			continue
		}
		if acc.kind&accWrites == accEns && o < len(p.s.Paths) && st[o] != byte(Absent) {
			continue
		}
		if acc.cond >= 0 && p.keepPresent(st, sc, acc.cond, add) {
			continue
		}
		add(u)
	}
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
