package model

import (
	"fmt"
	"strings"
)

// This file compiles a System's effects to Go, next to its guards
// (gen.go): per transition, what apply does, with every offset, value,
// parent chain, subtree and watch list a constant, as pan.c has a case
// per Promela statement. The interpreter (apply, applyOp, write, rm)
// walks the transition's operations and, per operation, the store's
// parents, children and watch lists; the generated case is the stores
// that walk ends in, under the tests on the state it makes. What depends
// on more than a byte test stays the interpreter's, through two calls:
// Permits for an unprivileged domain's request (its node's list depends
// on the state: perms.go), and GenOp for the operations this file does
// not compile (an unprivileged domain's PATH_CLEANUP and SET_PERMS, a
// domain's death, a subtree of more than genMaxSubtree nodes, and under
// C xenstored a node whose modification open transactions record: touch).

// GeneratedApply is the signature of the effects function GenerateGo
// writes: it performs transition id on st, a copy of from, as apply
// does, and reports false, having changed nothing, when the transition
// is left to the interpreter.
type GeneratedApply func(s *System, from, st State, id int) bool

// genMaxSubtree is the largest subtree whose removal is compiled (its
// nodes one after the other); a larger one is GenOp's.
const genMaxSubtree = 32

// GenOp performs operation k of transition id as the interpreter does,
// with the permissions of the transition's actor (the generated effects'
// call for the operations they do not compile).
func (s *System) GenOp(st State, id, k int) {
	t := &s.Trans[id]
	s.applyOp(st, &t.Ops[k], s.Actors[t.Actor].Domain)
}

// GenOps performs every operation of transition id (a transaction's
// body, at its commit) as the interpreter does.
func (s *System) GenOps(st State, id int) {
	t := &s.Trans[id]
	for k := range t.Ops {
		s.applyOp(st, &t.Ops[k], s.Actors[t.Actor].Domain)
	}
}

// generatedApplyBody is the generated effects function from its
// parameters on: a case per transition, in the order of their IDs.
func (s *System) generatedApplyBody() string {
	var w strings.Builder
	w.WriteString("(s *model.System, from, st model.State, id int) bool {\n_ = from\nswitch id {\n")
	for id := range s.Trans {
		t := &s.Trans[id]
		fmt.Fprintf(&w, "case %d: // %s: %s\n", id, oneLine(s.Actors[t.Actor].Name), oneLine(t.Name))
		s.genEffects(&w, t)
	}
	w.WriteString("default:\nreturn false\n}\nreturn true\n}\n")
	return w.String()
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// genEffects writes what apply does for t.
func (s *System) genEffects(w *strings.Builder, t *Transition) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	a := &s.Actors[t.Actor]
	if t.Watch != NoWatch {
		p("st[%d] = %d\n", s.watchOff+int(t.Watch), watchOn)
	}
	closeTxn := func() {
		for i := 0; i < 3+a.txnReads; i++ {
			p("st[%d] = 0\n", a.txnSlot+i)
		}
	}
	first := 0 // the first of t's operations performed as applyOp does
	switch t.Kind {
	case TxnBody:
		slot, id := a.txnSlot, t.ID+1
		p("st[%d], st[%d], st[%d] = %d, %d, 0\n", slot, slot+1, slot+2, byte(id), byte(id>>8))
		for i, q := range t.readSet {
			p("st[%d] = from[%d]\n", slot+3+i, q)
		}
		first = len(t.Ops) // recorded, for the commit
	case Commit:
		// The body whose writes the commit applies is the one the
		// record names: one of the actor's bodies.
		p("body := int(st[%d]) | int(st[%d])<<8\n", a.txnSlot, a.txnSlot+1)
		closeTxn()
		p("switch body {\ncase 0:\n")
		for id := range s.Trans {
			b := &s.Trans[id]
			if b.Actor != t.Actor || b.Kind != TxnBody {
				continue
			}
			p("case %d: // %s\n", id+1, oneLine(b.Name))
			for k := range b.Ops {
				s.genOp(w, b, k)
			}
		}
		p("default:\ns.GenOps(st, body-1)\n}\n")
		first = 1 // (after its TRANSACTION_END)
	case EAGAIN:
		closeTxn()
	}
	for k := first; k < len(t.Ops); k++ {
		s.genOp(w, t, k)
	}
	for _, set := range t.Sets {
		p("st[%d] = %d\n", s.varBase+int(set.Var), set.Val)
	}
	if t.To != SameLoc {
		p("st[%d] = %d\n", s.varBase+int(a.Loc), byte(t.To))
	}
}

// genOp writes what applyOp does for operation k of t, made by t's
// actor's domain, or a call of GenOp where it is not compiled.
func (s *System) genOp(w *strings.Builder, t *Transition, k int) {
	if code, ok := s.genOpCode(&t.Ops[k], s.Actors[t.Actor].Domain); ok {
		w.WriteString(code)
		return
	}
	fmt.Fprintf(w, "s.GenOp(st, %d, %d)\n", t.ID, k)
}

func (s *System) genOpCode(op *Op, dom int) (string, bool) {
	var w strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&w, format, args...) }
	path := int(op.Path)
	// permits is the test that xenstored lets dom take access want to
	// the node (Refused), "" when dom is privileged.
	permits := func(want string) string {
		if dom <= 0 {
			return ""
		}
		return fmt.Sprintf("s.Permits(st, %d, %d, model.%s)", path, dom, want)
	}
	and := func(tests ...string) string {
		var in []string
		for _, t := range tests {
			if t != "" {
				in = append(in, t)
			}
		}
		return strings.Join(in, " && ")
	}
	absent := fmt.Sprintf("st[%d] == %d", path, Absent)
	present := fmt.Sprintf("st[%d] != %d", path, Absent)
	block := func(cond, body string) {
		if cond == "" {
			w.WriteString(body)
			return
		}
		p("if %s {\n%s}\n", cond, body)
	}
	switch op.Kind {
	case OpRead, OpDirectory, OpTxnStart, OpTxnCommit, OpTxnAbort, OpSignal:
		// applyOp does nothing for them, refused or not.
	case OpWrite:
		body, ok := s.genWrite(op.Path, op.Val)
		if !ok {
			return "", false
		}
		block(permits("PermWrite"), body)
	case OpMkdir:
		body, ok := s.genWrite(op.Path, Empty)
		if !ok {
			return "", false
		}
		block(and(absent, permits("PermWrite")), body)
	case OpRm:
		body, ok := s.genRm(op.Path)
		if !ok {
			return "", false
		}
		block(and(present, permits("PermWrite")), body)
	case OpSwitchState:
		// Refused or not, the cache takes the new state; the node is
		// written when it exists and the request is not refused.
		body, ok := s.genWrite(op.Path, op.Val)
		if !ok {
			return "", false
		}
		cache := s.varBase + int(op.Var)
		p("if st[%d] != %d {\n", cache, byte(op.Val-2))
		block(and(present, permits("PermBoth")), body)
		p("st[%d] = %d\n}\n", cache, byte(op.Val-2))
	case OpReplace:
		body, ok := s.genWrite(op.Path, op.Val)
		if !ok {
			return "", false
		}
		perm := permits("PermBoth")
		if op.From == Absent {
			perm = "" // a missing node's REPLACE is not refused
		}
		block(and(fmt.Sprintf("st[%d] == %d", path, byte(op.From)), perm), body)
	case OpSetPerms:
		if dom > 0 || s.touches(op.Path) {
			return "", false // the owner test of an unprivileged SET_PERMS
		}
		p("if %s {\n", present)
		if o := s.Paths[op.Path].aclSlot; o >= 0 {
			p("st[%d] = 1\n", o)
		}
		s.genFire(&w, s.Paths[op.Path].onWrite)
		p("}\n")
	case OpCleanup:
		if dom > 0 {
			return "", false // permOp's own cleanup
		}
		body, ok := s.genRm(op.Path)
		if !ok {
			return "", false
		}
		block(present, body)
		// Then each parent, below the root, that holds an empty value
		// and has no child left, one after the other up the tree.
		var chain []PathID
		for q := s.Paths[op.Path].Parent; q != NoPath && q != 0; q = s.Paths[q].Parent {
			if s.touches(q) || len(s.Paths[q].Children) > 64 {
				return "", false
			}
			if r := s.Paths[q].Parent; r != NoPath && s.touches(r) {
				return "", false
			}
			chain = append(chain, q)
		}
		for _, q := range chain {
			tests := []string{fmt.Sprintf("st[%d] == %d", q, Empty)}
			for _, c := range s.Paths[q].Children {
				tests = append(tests, fmt.Sprintf("st[%d] == %d", c, Absent))
			}
			p("if %s {\nst[%d] = %d\n", strings.Join(tests, " && "), q, Absent)
			if o := s.Paths[q].aclSlot; o >= 0 {
				p("st[%d] = 0\n", o)
			}
			s.genFire(&w, s.Paths[q].onRemove)
		}
		p("%s", strings.Repeat("}\n", len(chain)))
	case OpWatch:
		p("st[%d] = %d\n", s.watchOff+int(op.Watch), watchPending)
	case OpUnwatch:
		p("st[%d] = %d\n", s.watchOff+int(op.Watch), watchOff)
	default:
		return "", false
	}
	return w.String(), true
}

// touches reports whether touch(p) may do something: under C xenstored,
// when a transaction body records p.
func (s *System) touches(p PathID) bool {
	return s.Conflict == CXenstored && len(s.txnReaders[p]) > 0
}

// genWrite is write(p, v) with its parent chain unrolled.
func (s *System) genWrite(p PathID, v Value) (string, bool) {
	var chain []PathID
	for q := s.Paths[p].Parent; q != NoPath; q = s.Paths[q].Parent {
		chain = append(chain, q)
	}
	for _, q := range append(chain, p) {
		if s.touches(q) {
			return "", false
		}
	}
	var w strings.Builder
	// A missing parent is created with an empty value, and so is each
	// missing parent above it, up to the first that exists.
	for _, q := range chain {
		fmt.Fprintf(&w, "if st[%d] == %d {\nst[%d] = %d\n", q, Absent, q, Empty)
	}
	w.WriteString(strings.Repeat("}\n", len(chain)))
	fmt.Fprintf(&w, "st[%d] = %d\n", p, byte(v))
	s.genFire(&w, s.Paths[p].onWrite)
	return w.String(), true
}

// genRm is rm(p) of a node that exists, its subtree unrolled.
func (s *System) genRm(p PathID) (string, bool) {
	n := 0
	var count func(q PathID) bool
	count = func(q PathID) bool {
		n++
		if n > genMaxSubtree || s.touches(q) {
			return false
		}
		for _, c := range s.Paths[q].Children {
			if !count(c) {
				return false
			}
		}
		return true
	}
	if !count(p) {
		return "", false
	}
	if q := s.Paths[p].Parent; q != NoPath && s.touches(q) {
		return "", false
	}
	var w strings.Builder
	var clear func(q PathID)
	clear = func(q PathID) {
		fmt.Fprintf(&w, "st[%d] = %d\n", q, Absent)
		if o := s.Paths[q].aclSlot; o >= 0 {
			fmt.Fprintf(&w, "st[%d] = 0\n", o)
		}
		for _, c := range s.Paths[q].Children {
			fmt.Fprintf(&w, "if st[%d] != %d {\n", c, Absent)
			clear(c)
			w.WriteString("}\n")
		}
	}
	clear(p)
	s.genFire(&w, s.Paths[p].onRemove)
	return w.String(), true
}

// genFire is fire(ws): each watch that is set becomes pending.
func (s *System) genFire(w *strings.Builder, ws []WatchID) {
	for _, x := range ws {
		o := s.watchOff + int(x)
		fmt.Fprintf(w, "if st[%d] != %d {\nst[%d] = %d\n}\n", o, watchOff, o, watchPending)
	}
}
