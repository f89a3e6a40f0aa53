package model

// This file compiles a System's guards into flat tables at build time, so
// that successor generation (actorMoves, actorTimers: Successors, Next and
// the partial-order reduction) tests a guard without interpreting Conds:
//
//   - every Cond over one byte of the state (the store's Present, Absent,
//     Eq, Ne, In; the variables' VarEq, VarNe, VarIn) is a test "the byte
//     at offset off is in a 256-bit set"; the atoms of one guard over the
//     same byte are intersected into one test;
//   - per actor and location, the candidate transitions are dispatched on
//     a decision tree: first on the byte that most of their guards test (a
//     driver's guards all read the other end's state node), whose table
//     gives, per value of that byte, the candidates whose test on it the
//     value passes, then on the byte most of those test, and so on a few
//     levels down; a leaf holds its candidates in declaration order, each
//     with the rest of its guard;
//   - any other atom (CondConflict, CondNoConflict, and any kind added
//     later that this file does not know) is evaluated by the interpreter
//     (eval) after the byte tests, so new kinds stay correct without
//     touching this file (a guard is a conjunction of pure atoms: the
//     order does not change its value).
//
// Effects are still applied by the interpreter (apply): they depend on
// the state (parents created, watches registered), and they cost less
// than the guards of the transitions that are not enabled. The order of
// the successors is the interpreter's: the compiled tables only skip
// candidates whose guard is false. TestCompiledMatchesInterpreter checks
// both paths against each other on every reachable state of every
// scenario.

// A byteSet is a set of byte values.
type byteSet [4]uint64

func (b *byteSet) has(v byte) bool { return b[v>>6]&(1<<(v&63)) != 0 }

func (b *byteSet) add(v byte) { b[v>>6] |= 1 << (v & 63) }

func fullSet() byteSet { return byteSet{^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)} }

// A ftest is one compiled atom: st[off] is in set.
type ftest struct {
	off int32
	set byteSet
}

// A ftrans is a compiled candidate: the transition, the tests of its
// guard that the dispatch did not already decide, and the atoms left to
// the interpreter.
type ftrans struct {
	t      *Transition
	tests  []ftest
	interp []Cond
	// moves: t changes its actor's location, so it is never a stutter
	// and the comparison of the states is skipped.
	moves bool
}

// holds reports whether c's guard holds in st.
func (s *System) holds(st State, a *Actor, c *ftrans) bool {
	for i := range c.tests {
		if !c.tests[i].set.has(st[c.tests[i].off]) {
			return false
		}
	}
	for i := range c.interp {
		if !s.eval(st, a, &c.interp[i]) {
			return false
		}
	}
	return true
}

// A fdispatch is an actor's candidates at one location, as a decision
// tree on bytes of the state: a node dispatches on the value of st[off]
// (byVal[v] for v < len(byVal), last for the others); a leaf (off < 0)
// holds the candidates whose tests on the bytes dispatched on pass, in
// declaration order, each with the rest of its guard.
type fdispatch struct {
	off   int32
	byVal []*fdispatch
	last  *fdispatch
	list  []ftrans
}

func (d *fdispatch) candidates(st State) []ftrans {
	for d.off >= 0 {
		if v := int(st[d.off]); v < len(d.byVal) {
			d = d.byVal[v]
		} else {
			d = d.last
		}
	}
	return d.list
}

// A factor is one actor's compiled tables.
type factor struct {
	locOff   int
	enabled  ftrans // the actor's own guard (its domain runs)
	byLoc    []*fdispatch
	timers   [][]ftrans
	watchOff []int
	handlers [][]ftrans // per watch: the cases, From checked at run time
}

// A compiled System: its actors' tables.
type compiled struct {
	actors []factor
}

// testOffset is the state byte atom c tests, when it tests one byte
// (compileTests makes it a byte-set test); false for the atoms left to
// the interpreter.
func (s *System) testOffset(c *Cond) (int, bool) {
	switch c.Kind {
	case CondPresent, CondAbsent, CondEq, CondNe, CondIn:
		return int(c.Path), true
	case CondVarEq, CondVarNe, CondVarIn:
		return s.varBase + int(c.Var), true
	}
	return 0, false
}

// compileTests compiles g into tests, one per byte it reads, and the
// atoms left to the interpreter.
func (s *System) compileTests(g []Cond) (tests []ftest, interp []Cond) {
	for _, c := range g {
		var set byteSet
		off, ok := s.testOffset(&c)
		if !ok {
			interp = append(interp, c)
			continue
		}
		for v := 0; v < 256; v++ {
			vb := byte(v)
			var in bool
			switch c.Kind {
			case CondPresent:
				in = vb != byte(Absent)
			case CondAbsent:
				in = vb == byte(Absent)
			case CondEq:
				in = vb == byte(c.Val)
			case CondNe:
				in = vb != byte(Absent) && vb != byte(c.Val)
			case CondIn, CondVarIn:
				in = vb < 64 && c.Mask&(1<<vb) != 0
			case CondVarEq:
				in = vb == c.X
			case CondVarNe:
				in = vb != c.X
			}
			if in {
				set.add(vb)
			}
		}
		merged := false
		for i := range tests {
			if tests[i].off == int32(off) {
				for j := range set {
					tests[i].set[j] &= set[j]
				}
				merged = true
			}
		}
		if !merged {
			tests = append(tests, ftest{off: int32(off), set: set})
		}
	}
	return tests, interp
}

func (s *System) compileTrans(g []Cond, t *Transition) ftrans {
	tests, interp := s.compileTests(g)
	c := ftrans{t: t, tests: tests, interp: interp}
	if t != nil && t.Watch == NoWatch && t.From != AnyLoc && t.To != SameLoc && t.To != t.From {
		c.moves = true
	}
	return c
}

// compileDispatch builds the candidates of one location.
func (s *System) compileDispatch(ids []int) *fdispatch {
	cands := make([]ftrans, len(ids))
	for i, id := range ids {
		cands[i] = s.compileTrans(s.Trans[id].Guard, &s.Trans[id])
	}
	return dispatchTree(cands, 0)
}

// maxDispatchDepth bounds the decision trees: a location's candidates are
// few, and each level of the tree decides the tests on one more byte.
const maxDispatchDepth = 4

// dispatchTree builds the decision tree of cands: on the byte the most of
// their tests read, then, for the candidates each value lets through
// (the tests on that byte removed), on the next, until one candidate is
// left, none has a test left, or the tree is maxDispatchDepth deep.
// Values that let the same candidates through share a subtree.
func dispatchTree(cands []ftrans, depth int) *fdispatch {
	count := map[int32]int{}
	best := int32(-1)
	for _, c := range cands {
		for _, tt := range c.tests {
			count[tt.off]++
			if best < 0 || count[tt.off] > count[best] {
				best = tt.off
			}
		}
	}
	if best < 0 || len(cands) < 2 || depth == maxDispatchDepth {
		return &fdispatch{off: -1, list: cands}
	}
	// keeps reports whether c's test on best, if any, passes v.
	keeps := func(c *ftrans, v int) bool {
		for _, tt := range c.tests {
			if tt.off == best && !tt.set.has(byte(v)) {
				return false
			}
		}
		return true
	}
	sig := func(v int) string {
		b := make([]byte, len(cands))
		for i := range cands {
			if keeps(&cands[i], v) {
				b[i] = 1
			}
		}
		return string(b)
	}
	sub := map[string]*fdispatch{}
	child := func(v int) *fdispatch {
		g := sig(v)
		if d, ok := sub[g]; ok {
			return d
		}
		var list []ftrans
		for i := range cands {
			c := &cands[i]
			if g[i] == 0 {
				continue
			}
			var rest []ftest
			for _, tt := range c.tests {
				if tt.off != best {
					rest = append(rest, tt)
				}
			}
			list = append(list, ftrans{t: c.t, tests: rest, interp: c.interp, moves: c.moves})
		}
		d := dispatchTree(list, depth+1)
		sub[g] = d
		return d
	}
	// Past the last value whose candidates differ from 255's, all share
	// last.
	d := &fdispatch{off: best, last: child(255)}
	n := 256
	for last := sig(255); n > 0 && sig(n-1) == last; n-- {
	}
	d.byVal = make([]*fdispatch, n)
	for v := range n {
		d.byVal[v] = child(v)
	}
	return d
}

func (s *System) compileList(ids []int) []ftrans {
	out := make([]ftrans, len(ids))
	for i, id := range ids {
		out[i] = s.compileTrans(s.Trans[id].Guard, &s.Trans[id])
	}
	return out
}

// compile builds s.fast from the actors' tables (Build calls it last).
func (s *System) compile() {
	c := &compiled{actors: make([]factor, len(s.Actors))}
	for ai := range s.Actors {
		a := &s.Actors[ai]
		fa := &c.actors[ai]
		fa.locOff = s.varBase + int(a.Loc)
		fa.enabled = s.compileTrans(a.enabled, nil)
		fa.byLoc = make([]*fdispatch, len(a.byLoc))
		for l, ids := range a.byLoc {
			fa.byLoc[l] = s.compileDispatch(ids)
		}
		fa.timers = make([][]ftrans, len(a.timers))
		for l, ids := range a.timers {
			fa.timers[l] = s.compileList(ids)
		}
		fa.watchOff = make([]int, len(a.Watches))
		fa.handlers = make([][]ftrans, len(a.Watches))
		for wi, w := range a.Watches {
			fa.watchOff[wi] = s.watchOff + int(w)
			fa.handlers[wi] = s.compileList(a.handlers[wi])
		}
	}
	s.fast = c
}

// actorEnabled evaluates the actor's own guard (its domain runs).
func (s *System) actorEnabled(st State, a *Actor, fa *factor) bool {
	return s.holds(st, a, &fa.enabled)
}

// fastTimers is actorTimers on the compiled tables.
func (s *System) fastTimers(st, next State, ai int, yield func(t *Transition, next State) bool) (stop bool) {
	a := &s.Actors[ai]
	fa := &s.fast.actors[ai]
	if !s.actorEnabled(st, a, fa) {
		return false
	}
	loc := st[fa.locOff]
	if int(loc) >= len(fa.timers) {
		return false
	}
	list := fa.timers[loc]
	for i := range list {
		c := &list[i]
		if s.holds(st, a, c) {
			t := c.t
			copy(next, st)
			s.apply(st, next, a, t)
			if !c.moves && string(next) == string(st) {
				continue
			}
			if !yield(t, next) {
				return true
			}
		}
	}
	return false
}

// fastMoves is actorMoves on the compiled tables.
func (s *System) fastMoves(st, next State, ai int, yield func(t *Transition, next State) bool) (urgent, stop bool) {
	a := &s.Actors[ai]
	fa := &s.fast.actors[ai]
	if !s.actorEnabled(st, a, fa) {
		return false, false
	}
	loc := st[fa.locOff]
	if int(loc) < len(fa.byLoc) {
		list := fa.byLoc[loc].candidates(st)
		for i := range list {
			c := &list[i]
			if !s.holds(st, a, c) {
				continue
			}
			if s.move(st, next, a, c.t, c.moves, &urgent, yield) {
				return urgent, true
			}
		}
	}
	for wi, off := range fa.watchOff {
		if st[off] != watchPending {
			continue
		}
		list := fa.handlers[wi]
		for i := range list {
			c := &list[i]
			t := c.t
			if (t.From == AnyLoc || byte(t.From) == loc) && s.holds(st, a, c) {
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
