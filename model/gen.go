package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"go/format"
	"math/bits"
	"strings"
)

// This file compiles a System's guards to Go source, as SPIN compiles a
// Promela model to C (pan.c): GenerateGo writes, for one System, a
// function that decides for an actor what fastMoves decides with the
// tables (its own guard, which of its location's transitions are enabled,
// the handler case it takes per pending watch), with every byte test a
// comparison against constants in straight-line code, and gives the
// answer as bit masks; and a second function that performs each
// transition's effects as apply does (gen_apply.go). Built into a
// program and attached with WithGenerated, they replace the tables
// (compile.go) and the interpreter's effects for that System: the
// transitions the first finds enabled are taken as Successors takes
// them, in the same order. Timers and the atoms the tables leave to the
// interpreter (conflict and permission tests, through GenEval) stay the
// interpreter's. On the benchmark family at N = 3 successor generation
// takes 193 ns a state with both, 281 with the generated guards alone,
// and 402 with the tables (BenchmarkSuccessors, one core), because the
// tables' loops, the effects' walks over operations, parents and watch
// lists, and the loads and branches on what they hold are gone. (A
// first version that made the moves from the generated code itself was
// 3.7 times the machine code, 27 KB for N = 3, and in a whole check,
// where the checker's code competes for the instruction cache, gained a
// third of what the guards alone do.)
//
// The generated code is only right for the System it was generated
// from: it carries the digest of its own text, and WithGenerated
// generates the code for the System it is given again and refuses code
// whose digest differs (a changed scenario, or a changed model).
// TestGeneratedAllScenarios builds the code of every scenario into a
// program and checks it against the tables on their reachable states.

// GeneratedMoves is the signature of the function GenerateGo writes: for
// actor ai in st, its location, the transitions of that location whose
// guards hold (bit k: the k-th in declaration order), the handler case it
// takes per pending watch (bit k: the k-th of its cases, watch after
// watch), and how to read them.
type GeneratedMoves func(s *System, st State, ai int) (moves, cases uint64, loc byte, how GenResult)

// GenResult says what a GeneratedMoves call found.
type GenResult uint8

const (
	// GenIdle: the actor may not move (its own guard fails).
	GenIdle GenResult = iota
	// GenMasks: the masks say what the actor does.
	GenMasks
	// GenTables: the actor, at this location, has more transitions or
	// handler cases than a mask holds (64): the tables decide.
	GenTables
)

// Generated is what GenerateGo writes for a System: the digest of the
// code, and the function.
type Generated struct {
	Digest string
	Moves  GeneratedMoves
	Apply  GeneratedApply
}

// WithGenerated returns a copy of s whose successor generation uses g, or
// an error when g was not generated from a System like s.
func (s *System) WithGenerated(g Generated) (*System, error) {
	if s.fast == nil {
		return nil, fmt.Errorf("model: generated guards need the compiled System")
	}
	if d := s.generatedDigest(); g.Digest != d || g.Moves == nil || g.Apply == nil {
		return nil, fmt.Errorf("model: the generated guards (digest %s) are not this system's (digest %s): generate them again", g.Digest, d)
	}
	gen := &generated{moves: g.Moves, apply: g.Apply, actors: make([]genActor, len(s.Actors))}
	for ai := range s.Actors {
		a, ga := &s.Actors[ai], &gen.actors[ai]
		ga.locs = make([][]ftrans, len(a.byLoc))
		for l, ids := range a.byLoc {
			ga.locs[l] = s.compileList(ids)
		}
		for _, cases := range a.handlers {
			for _, id := range cases {
				ga.cases = append(ga.cases, &s.Trans[id])
			}
		}
	}
	c := *s
	c.gen = gen
	return &c, nil
}

// generated is what a System that uses generated guards keeps: the
// function, and per actor what its masks' bits stand for.
type generated struct {
	moves  GeneratedMoves
	apply  GeneratedApply
	actors []genActor
}

// A genActor is what the bits of an actor's masks stand for: per
// location, its candidates in declaration order, and its handler cases,
// watch after watch.
type genActor struct {
	locs  [][]ftrans
	cases []*Transition
}

// Generated reports whether s uses generated guards (WithGenerated).
func (s *System) Generated() bool { return s.gen != nil }

// genTake takes the moves and cases the generated guards gave for actor
// ai at location loc.
func (s *System) genTake(st, next State, ai int, m, c uint64, loc byte, yield func(t *Transition, next State) bool) (urgent, stop bool) {
	a, ga := &s.Actors[ai], &s.gen.actors[ai]
	if m != 0 {
		list := ga.locs[loc]
		for ; m != 0; m &= m - 1 {
			ft := &list[bits.TrailingZeros64(m)]
			if s.move(st, next, a, ft.t, ft.moves, &urgent, yield) {
				return urgent, true
			}
		}
	}
	for ; c != 0; c &= c - 1 {
		urgent = urgent || a.Fair
		if s.takeCase(st, next, a, ga.cases[bits.TrailingZeros64(c)], yield) {
			return urgent, true
		}
	}
	return urgent, false
}

// GenEval evaluates atom k of transition id's guard, or of actor ai's own
// guard when id < 0, with the interpreter (the generated code's call for
// the atoms it does not compile).
func (s *System) GenEval(st State, ai, id, k int) bool {
	a := &s.Actors[ai]
	if id < 0 {
		return s.eval(st, a, &a.enabled[k])
	}
	return s.eval(st, a, &s.Trans[id].Guard[k])
}

// GenerateGo returns Go source for package pkg that declares name, a
// Generated for s: the guards of s compiled to Go (see the file comment).
func (s *System) GenerateGo(pkg, name string) ([]byte, error) {
	body, apply := s.generatedBody(), s.generatedApplyBody()
	var w bytes.Buffer
	fmt.Fprintf(&w, "// Code generated by model.System.GenerateGo; DO NOT EDIT.\n\npackage %s\n\n", pkg)
	fmt.Fprintf(&w, "import \"github.com/xbcheck/xbcheck/model\"\n\n")
	fmt.Fprintf(&w, "// %s is the generated guards and effects of one System (model.System.WithGenerated).\n", name)
	fmt.Fprintf(&w, "var %s = model.Generated{Digest: %q, Moves: %sMoves, Apply: %sApply}\n\n", name, digestOf(body+apply), name, name)
	fmt.Fprintf(&w, "func %sMoves%s\n", name, body)
	fmt.Fprintf(&w, "func %sApply%s", name, apply)
	src, err := format.Source(w.Bytes())
	if err != nil {
		return nil, fmt.Errorf("model: generated Go does not parse: %v", err)
	}
	return src, nil
}

func (s *System) generatedDigest() string {
	return digestOf(s.generatedBody() + s.generatedApplyBody())
}

func digestOf(body string) string {
	sum := sha256.Sum256([]byte(body))
	return hex.EncodeToString(sum[:12])
}

// generatedBody is the generated function from its parameters on. An
// actor with more than 64 handler cases, or at a location with more
// than 64 transitions, is left to the tables there (GenTables).
func (s *System) generatedBody() string {
	var w strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&w, format, args...) }
	p("(s *model.System, st model.State, ai int) (m, c uint64, loc byte, how model.GenResult) {\n")
	p("switch ai {\n")
	for ai := range s.Actors {
		a := &s.Actors[ai]
		p("case %d: // %s\n", ai, a.Name)
		ncases := 0
		for _, cases := range a.handlers {
			ncases += len(cases)
		}
		if ncases > 64 {
			p("return 0, 0, 0, model.GenTables\n")
			continue
		}
		if g := s.genGuard(a.enabled, ai, -1); g != "true" {
			p("if !(%s) {\nreturn 0, 0, 0, model.GenIdle\n}\n", g)
		}
		p("loc = st[%d]\n", s.varBase+int(a.Loc))
		any := false
		for _, ids := range a.byLoc {
			any = any || len(ids) > 0
		}
		if any {
			p("switch loc {\n")
			for l, ids := range a.byLoc {
				if len(ids) == 0 {
					continue
				}
				p("case %d: // %s\n", l, a.LocName(LocID(l)))
				if len(ids) > 64 {
					p("return 0, 0, loc, model.GenTables\n")
					continue
				}
				for k, id := range ids {
					t := &s.Trans[id]
					p("if %s {\nm |= %#x\n}\n", s.genGuard(t.Guard, ai, id), uint64(1)<<k)
				}
			}
			p("}\n")
		}
		// Per pending watch, the first case that holds, by its place in
		// the actor's cases, watch after watch (genActor.cases).
		k := 0
		for wi, wid := range a.Watches {
			cases := a.handlers[wi]
			if len(cases) == 0 {
				continue
			}
			p("if st[%d] == %d {\n", s.watchOff+int(wid), watchPending)
			for i, id := range cases {
				t := &s.Trans[id]
				g := s.genGuard(t.Guard, ai, id)
				if t.From != AnyLoc {
					g = fmt.Sprintf("loc == %d && %s", t.From, g)
				}
				if i > 0 {
					p(" else ")
				}
				p("if %s {\nc |= %#x\n}", g, uint64(1)<<(k+i))
			}
			p("\n}\n")
			k += len(cases)
		}
		p("return m, c, loc, model.GenMasks\n")
	}
	p("}\nreturn 0, 0, 0, model.GenIdle\n}\n")
	return w.String()
}

// genGuard is guard g of actor ai (of transition id, or the actor's own
// when id < 0) as a Go condition: its byte tests, one per byte as
// compileTests merges them, then its other atoms through GenEval.
func (s *System) genGuard(g []Cond, ai, id int) string {
	tests, _ := s.compileTests(g)
	var parts []string
	for _, t := range tests {
		if e := genTest(int(t.off), t.set); e != "true" {
			parts = append(parts, e)
		}
	}
	for k := range g {
		if _, ok := s.testOffset(&g[k]); !ok {
			parts = append(parts, fmt.Sprintf("s.GenEval(st, %d, %d, %d)", ai, id, k))
		}
	}
	if len(parts) == 0 {
		return "true"
	}
	return strings.Join(parts, " && ")
}

// genTest is the test "st[off] is in set" as a Go condition.
func genTest(off int, set byteSet) string {
	var in []int
	for v := range 256 {
		if set.has(byte(v)) {
			in = append(in, v)
		}
	}
	v := fmt.Sprintf("st[%d]", off)
	switch {
	case len(in) == 256:
		return "true"
	case len(in) == 0:
		return "false"
	case len(in) == 1:
		return fmt.Sprintf("%s == %d", v, in[0])
	case len(in) == 255:
		for x := range 256 {
			if !set.has(byte(x)) {
				return fmt.Sprintf("%s != %d", v, x)
			}
		}
	}
	lo, hi := in[0], in[len(in)-1]
	switch {
	case hi-lo == len(in)-1 && lo == 0:
		return fmt.Sprintf("%s <= %d", v, hi)
	case hi-lo == len(in)-1:
		return fmt.Sprintf("%s-%d <= %d", v, lo, hi-lo) // (byte arithmetic: below lo wraps above)
	case hi < 64:
		var m uint64
		for _, x := range in {
			m |= 1 << x
		}
		return fmt.Sprintf("(%s < 64 && uint64(%#x)>>(%s&63)&1 != 0)", v, m, v)
	}
	return fmt.Sprintf("[4]uint64{%#x, %#x, %#x, %#x}[%s>>6]>>(%s&63)&1 != 0", set[0], set[1], set[2], set[3], v, v)
}
