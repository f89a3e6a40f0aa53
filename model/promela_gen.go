package model

import (
	"fmt"
	"sort"
	"strings"
)

// The Promela generator (promela.go has the translation's shape): the
// text of each actor's loop, its guards, effects, xenstore operations and
// watch firings, in terms of the state's bytes.

// label is the Promela label of the loop of actor a's location group l:
// an "end" label, a valid end state, when every location of the group is
// final, or for every loop when deadlock is not checked (SPIN's check of
// invalid end states would report what nobody asked for).
func (g *pmlGen) label(a *Actor, l LocID) string {
	final := true
	for m := range a.Locs {
		if g.group[m] == l && !a.Locs[m].Final && g.deadlock {
			final = false
		}
	}
	if final {
		return fmt.Sprintf("end_L%d", l)
	}
	return fmt.Sprintf("L%d", l)
}

// urgent is the Promela condition that some move holding LastResort
// timers back is enabled: a transition of a fair actor, not a fault, not
// slow, not a timer.
func (g *pmlGen) urgent() string {
	s := g.s
	var alts []string
	for ti := range s.Trans {
		t := &s.Trans[ti]
		if t.Timeout > 0 || t.Fault != "" || t.Slow || !s.Actors[t.Actor].Fair {
			continue
		}
		alts = append(alts, g.enabled(&s.Actors[t.Actor], t))
	}
	if len(alts) == 0 {
		return "(false)"
	}
	return "(" + strings.Join(alts, " || ") + ")"
}

// step is a transition's effect followed by the checks' assertions, with
// the bytes they read before the step saved first.
func (g *pmlGen) step(a *Actor, t *Transition) string {
	s := g.s
	need := map[int]bool{}
	preOf := func(o int) string {
		need[o] = true
		if _, ok := g.preIdx[o]; !ok {
			g.preIdx[o] = len(g.preIdx)
		}
		return fmt.Sprintf("pre[%d]", g.preIdx[o])
	}
	postOf := func(o int) string { return g.get(o) }
	var asserts []string
	for _, c := range g.checks {
		var conds []string
		if t.Kind == Commit && a.txnSlot >= 0 {
			// The body open before the commit decides what it applies.
			var none []string
			for _, ti := range a.Trans {
				b := &s.Trans[ti]
				if b.Kind != TxnBody {
					continue
				}
				id := b.ID + 1
				is := fmt.Sprintf("(%s == %d && %s == %d)", preOf(a.txnSlot), id&0xFF, preOf(a.txnSlot+1), id>>8)
				none = append(none, "!"+is)
				if e := c.Step(t, b, preOf, postOf); e != "" {
					conds = append(conds, fmt.Sprintf("(!%s || (%s))", is, e))
				}
			}
			if e := c.Step(t, nil, preOf, postOf); e != "" {
				conds = append(conds, fmt.Sprintf("(!(%s) || (%s))", strings.Join(append(none, "true"), " && "), e))
			}
		} else if e := c.Step(t, nil, preOf, postOf); e != "" {
			conds = append(conds, "("+e+")")
		}
		if len(conds) > 0 {
			v := "v_" + pmlName(c.Name)
			asserts = append(asserts, fmt.Sprintf("%s = !(%s)", v, strings.Join(conds, " && ")), fmt.Sprintf("assert(!%s)", v))
		}
	}
	var b strings.Builder
	var offs []int
	for o := range need {
		offs = append(offs, o)
	}
	sort.Ints(offs)
	for _, o := range offs {
		fmt.Fprintf(&b, "    pre[%d] = %s;\n", g.preIdx[o], g.get(o))
	}
	b.WriteString(g.effect(a, t))
	for _, l := range asserts {
		fmt.Fprintf(&b, "    %s;\n", l)
	}
	if g.multiCore {
		// Scratch variables are in the state vector: zero them.
		for _, o := range offs {
			fmt.Fprintf(&b, "    pre[%d] = 0;\n", g.preIdx[o])
		}
		for _, c := range g.checks {
			fmt.Fprintf(&b, "    v_%s = 0;\n", pmlName(c.Name))
		}
	}
	return b.String()
}

type pmlGen struct {
	s         *System
	checks    []PromelaCheck
	deadlock  bool
	multiCore bool
	preIdx    map[int]int // state offset → its slot in pre
	group     []LocID     // the current actor's location → its loop
	out       strings.Builder
	ind       int
}

// get is the expression of state byte i's actual value.
func (g *pmlGen) get(i int) string {
	if c := g.s.init[i]; c != 0 {
		return fmt.Sprintf("((s[%d]+%d)%%256)", i, c)
	}
	return fmt.Sprintf("s[%d]", i)
}

// setConst is the statement setting byte i to the value v.
func (g *pmlGen) setConst(i int, v byte) string {
	return fmt.Sprintf("s[%d] = %d", i, (int(v)-int(g.s.init[i])+256)%256)
}

// setExpr sets byte i to the value of expression e (0..255).
func (g *pmlGen) setExpr(i int, e string) string {
	if c := g.s.init[i]; c != 0 {
		return fmt.Sprintf("s[%d] = ((%s)+%d)%%256", i, e, 256-int(c))
	}
	return fmt.Sprintf("s[%d] = %s", i, e)
}

func (g *pmlGen) line(format string, args ...any) {
	g.out.WriteString(strings.Repeat("  ", g.ind+2))
	fmt.Fprintf(&g.out, format, args...)
	g.out.WriteString(";\n")
}

func (g *pmlGen) cond(a *Actor, c Cond) string {
	s := g.s
	v := func() string { return g.get(int(c.Path)) }
	x := func() string { return g.get(s.varBase + int(c.Var)) }
	switch c.Kind {
	case CondPresent:
		return v() + " != 0"
	case CondAbsent:
		return v() + " == 0"
	case CondEq:
		return fmt.Sprintf("%s == %d", v(), c.Val)
	case CondNe:
		return fmt.Sprintf("(%s != 0 && %s != %d)", v(), v(), c.Val)
	case CondIn:
		return maskExpr(v(), c.Mask)
	case CondVarEq:
		return fmt.Sprintf("%s == %d", x(), c.X)
	case CondVarNe:
		return fmt.Sprintf("%s != %d", x(), c.X)
	case CondVarIn:
		return maskExpr(x(), c.Mask)
	case CondConflict, CondNoConflict:
		e := g.conflict(a)
		if c.Kind == CondNoConflict {
			return "!(" + e + ")"
		}
		return e
	}
	return "false"
}

func maskExpr(v string, m uint64) string {
	var in []string
	for i := 0; i < 64; i++ {
		if m&(1<<i) != 0 {
			in = append(in, fmt.Sprintf("%s == %d", v, i))
		}
	}
	if len(in) == 0 {
		return "false"
	}
	if len(in) <= 32 {
		return "(" + strings.Join(in, " || ") + ")"
	}
	var out []string
	for i := 0; i < 64; i++ {
		if m&(1<<i) == 0 {
			out = append(out, fmt.Sprintf("%s != %d", v, i))
		}
	}
	return fmt.Sprintf("(%s < 64 && %s)", v, strings.Join(out, " && "))
}

// conflict is the oxenstored rule for actor a's open transaction.
func (g *pmlGen) conflict(a *Actor) string {
	if a.txnSlot < 0 {
		return "false"
	}
	var alts []string
	for _, ti := range a.Trans {
		t := &g.s.Trans[ti]
		if t.Kind != TxnBody || !t.hasWrites || len(t.readSet) == 0 {
			continue
		}
		var diff []string
		for i, p := range t.readSet {
			diff = append(diff, fmt.Sprintf("%s != %s", g.get(a.txnSlot+3+i), g.get(int(p))))
		}
		alts = append(alts, fmt.Sprintf("(%s && (%s))", g.bodyIs(a, t.ID), strings.Join(diff, " || ")))
	}
	if len(alts) == 0 {
		return "false"
	}
	return "(" + strings.Join(alts, " || ") + ")"
}

func (g *pmlGen) bodyIs(a *Actor, id int) string {
	id++
	return fmt.Sprintf("%s == %d && %s == %d", g.get(a.txnSlot), id&0xFF, g.get(a.txnSlot+1), id>>8)
}

// guardOf is the enabledness of transition t ignoring handler priority.
func (g *pmlGen) guardOf(a *Actor, t *Transition) string {
	var cs []string
	for _, c := range a.enabled {
		cs = append(cs, g.cond(a, c))
	}
	loc := g.get(g.s.varBase + int(a.Loc))
	if t.From != AnyLoc {
		cs = append(cs, fmt.Sprintf("%s == %d", loc, t.From))
	}
	for _, c := range t.Guard {
		cs = append(cs, g.cond(a, c))
	}
	if len(cs) == 0 {
		return "true"
	}
	return "(" + strings.Join(cs, " && ") + ")"
}

func (g *pmlGen) enabled(a *Actor, t *Transition) string {
	e := g.guardOf(a, t)
	if t.Watch != NoWatch {
		e = fmt.Sprintf("(%s == 2 && %s)", g.get(g.s.watchOff+int(t.Watch)), e)
		// Only the first enabled case of the watch is taken.
		for _, ci := range a.earlierCases(t) {
			e += " && !" + g.guardOf(a, &g.s.Trans[ci])
		}
	}
	if t.Timeout > 0 && g.s.Timers == LastResort {
		e = "!URGENT && " + e
	}
	return e
}

func (g *pmlGen) effect(a *Actor, t *Transition) string {
	g.out.Reset()
	g.ind = 0
	s := g.s
	if t.Watch != NoWatch {
		g.line("%s", g.setConst(s.watchOff+int(t.Watch), watchOn))
	}
	switch t.Kind {
	case TxnBody:
		id := t.ID + 1
		g.line("%s", g.setConst(a.txnSlot, byte(id)))
		g.line("%s", g.setConst(a.txnSlot+1, byte(id>>8)))
		g.line("%s", g.setConst(a.txnSlot+2, 0))
		for i, p := range t.readSet {
			g.line("%s", g.setExpr(a.txnSlot+3+i, g.get(int(p))))
		}
	case Commit:
		// Which body is open decides the writes.
		var bodies []*Transition
		for _, ti := range a.Trans {
			if s.Trans[ti].Kind == TxnBody {
				bodies = append(bodies, &s.Trans[ti])
			}
		}
		g.out.WriteString(strings.Repeat("  ", g.ind+2) + "if\n")
		for _, bt := range bodies {
			g.out.WriteString(strings.Repeat("  ", g.ind+2) + ":: " + g.bodyIs(a, bt.ID) + " ->\n")
			g.ind++
			g.closeTxn(a)
			for i := range bt.Ops {
				g.op(&bt.Ops[i])
			}
			g.ind--
		}
		g.out.WriteString(strings.Repeat("  ", g.ind+2) + ":: else -> skip\n")
		g.out.WriteString(strings.Repeat("  ", g.ind+2) + "fi;\n")
		for i := 1; i < len(t.Ops); i++ {
			g.op(&t.Ops[i])
		}
	case EAGAIN:
		g.closeTxn(a)
		for i := range t.Ops {
			g.op(&t.Ops[i])
		}
	default:
		for i := range t.Ops {
			g.op(&t.Ops[i])
		}
	}
	for _, set := range t.Sets {
		g.line("%s", g.setConst(s.varBase+int(set.Var), set.Val))
	}
	if t.To != SameLoc {
		g.line("%s", g.setConst(s.varBase+int(a.Loc), byte(t.To)))
	}
	g.line("skip")
	return g.out.String()
}

func (g *pmlGen) closeTxn(a *Actor) {
	for i := 0; i < 3+a.txnReads; i++ {
		g.line("%s", g.setConst(a.txnSlot+i, 0))
	}
}

// block writes "if :: cond -> body :: else -> skip fi".
func (g *pmlGen) block(cond string, body func()) {
	pad := strings.Repeat("  ", g.ind+2)
	g.out.WriteString(pad + "if\n" + pad + ":: " + cond + " ->\n")
	g.ind++
	body()
	g.line("skip")
	g.ind--
	g.out.WriteString(pad + ":: else -> skip\n" + pad + "fi;\n")
}

func (g *pmlGen) op(op *Op) {
	s := g.s
	switch op.Kind {
	case OpWrite:
		g.write(op.Path, op.Val)
	case OpMkdir:
		g.block(g.get(int(op.Path))+" == 0", func() { g.write(op.Path, Empty) })
	case OpRm:
		g.rm(op.Path)
	case OpCleanup:
		g.rm(op.Path)
		g.cleanupUp(s.Paths[op.Path].Parent)
	case OpSetPerms:
		g.block(g.get(int(op.Path))+" != 0", func() { g.fire(s.Paths[op.Path].onWrite) })
	case OpSwitchState:
		cache := s.varBase + int(op.Var)
		g.block(fmt.Sprintf("%s != %d", g.get(cache), op.Val-2), func() {
			g.block(g.get(int(op.Path))+" != 0", func() { g.write(op.Path, op.Val) })
			g.line("%s", g.setConst(cache, byte(op.Val-2)))
		})
	case OpReplace:
		g.block(fmt.Sprintf("%s == %d", g.get(int(op.Path)), op.From), func() { g.write(op.Path, op.Val) })
	case OpWatch:
		g.line("%s", g.setConst(s.watchOff+int(op.Watch), watchPending))
	case OpUnwatch:
		g.line("%s", g.setConst(s.watchOff+int(op.Watch), watchOff))
	case OpDomainGone:
		if s.RemoveOwnedOnDeath {
			for i := range s.Paths {
				p := &s.Paths[i]
				if p.Owner == op.Dom && (p.Parent == NoPath || s.Paths[p.Parent].Owner != op.Dom) {
					g.rmFiring(PathID(i), s.DeathFiresWatches)
				}
			}
		}
	}
}

func (g *pmlGen) cleanupUp(q PathID) {
	s := g.s
	if q == NoPath || q == 0 {
		return
	}
	var noChild []string
	for _, c := range s.Paths[q].Children {
		noChild = append(noChild, g.get(int(c))+" == 0")
	}
	cond := fmt.Sprintf("%s == %d", g.get(int(q)), Empty)
	if len(noChild) > 0 {
		cond += " && " + strings.Join(noChild, " && ")
	}
	g.block(cond, func() {
		g.rm(q)
		g.cleanupUp(s.Paths[q].Parent)
	})
}

func (g *pmlGen) write(p PathID, v Value) {
	s := g.s
	g.createParents(s.Paths[p].Parent)
	g.line("%s", g.setConst(int(p), byte(v)))
	g.fire(s.Paths[p].onWrite)
}

func (g *pmlGen) createParents(q PathID) {
	if q == NoPath {
		return
	}
	g.block(g.get(int(q))+" == 0", func() {
		g.line("%s", g.setConst(int(q), byte(Empty)))
		g.createParents(g.s.Paths[q].Parent)
	})
}

func (g *pmlGen) rm(p PathID) { g.rmFiring(p, true) }

// rmFiring is rm, with the watch events only when fire is set (see
// System.DeathFiresWatches).
func (g *pmlGen) rmFiring(p PathID, fire bool) {
	s := g.s
	g.block(g.get(int(p))+" != 0", func() {
		var clear func(q PathID)
		clear = func(q PathID) {
			g.line("%s", g.setConst(int(q), byte(Absent)))
			for _, c := range s.Paths[q].Children {
				clear(c)
			}
		}
		clear(p)
		if fire {
			g.fire(s.Paths[p].onRemove)
		}
	})
}

func (g *pmlGen) fire(ws []WatchID) {
	for _, w := range ws {
		i := g.s.watchOff + int(w)
		g.block(g.get(i)+" != 0", func() { g.line("%s", g.setConst(i, watchPending)) })
	}
}
