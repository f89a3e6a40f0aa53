package model

import (
	"fmt"
	"sort"
	"strings"
)

// HostileFault is the fault family of a hostile guest: "hostile:<name>"
// enables the writes of AddHostileGuest for that domain.
const HostileFault = "hostile"

// HostileValue and HostileValue2 are the values a hostile guest writes
// that no modelled actor writes or tests anywhere: they stand for every
// such value (see AddHostileGuest).
const (
	HostileValue  = "hostile"
	HostileValue2 = "hostile-2"
)

// AddHostileGuest adds the actor that stands for domain dom's kernel
// writing xenstore directly, as a guest that does not follow the
// protocol may: at any time while the domain runs, at most budget times
// in all, it writes any value to any node its permissions let it write,
// or removes any node it may write (perms.go). Its steps are faults of
// the family HostileFault ("hostile:<name>"): they may happen, need not,
// and no property counts on them.
//
// "Any value" is every value some actor writes to or tests at that node,
// the empty value, the XenbusState values at a state node, the node's
// initial value, and two values no actor writes or tests (HostileValue,
// HostileValue2): the model has no data flow from a value read to a
// value written and decides every step on equality with the values its
// guards name, so values that no guard names and no actor writes at a
// node are interchangeable there but for one thing: oxenstored's commit
// compares the values a transaction read with the current ones, so a
// change from one such value to another fails a commit that a rewrite of
// the same value does not. Two stand for all of them.
//
// Call it after every other actor is declared: the values are gathered
// from their transitions.
func (b *Builder) AddHostileGuest(dom int, budget int) int {
	s := b.sys
	name := s.DomainNames[dom]
	fault := HostileFault + ":" + name
	a := b.Actor(fmt.Sprintf("hostile(%s)", name), Guest, dom, false)
	loc := a.Final("hostile", "the guest's kernel writes xenstore as it likes")
	if budget < 1 {
		budget = 1
	}
	if budget > 8 {
		budget = 8
	}
	names := make([]string, budget+1)
	for i := range names {
		names[i] = fmt.Sprint(i)
	}
	left := a.Var("writes-left", uint8(budget), names...)
	vals := b.hostileValues()
	hv, hv2 := b.Value(HostileValue), b.Value(HostileValue2)
	for p := 1; p < len(s.Paths); p++ {
		pid := PathID(p)
		vs := append(vals[pid], Empty, hv, hv2)
		if strings.HasSuffix(s.Paths[p].Name, "/state") {
			for x := StateUnknown; x <= StateReconfigured; x++ {
				vs = append(vs, x.Value())
			}
		}
		vs = uniqValues(vs)
		for k := budget; k >= 1; k-- {
			set := []Set{{Var: left, Val: uint8(k - 1)}}
			for _, v := range vs {
				a.T(Transition{Name: fmt.Sprintf("write %s %s", s.Paths[p].Name, s.FormatValue(v)),
					Desc: "hostile WRITE", From: loc, To: loc, Fault: fault,
					Guard: []Cond{VarEq(left, uint8(k)), Writable(pid)}, Ops: []Op{Write(pid, v)}, Sets: set})
			}
			a.T(Transition{Name: fmt.Sprintf("rm %s", s.Paths[p].Name),
				Desc: "hostile RM", From: loc, To: loc, Fault: fault,
				Guard: []Cond{VarEq(left, uint8(k)), Present(pid), Writable(pid)}, Ops: []Op{Rm(pid)}, Sets: set})
		}
	}
	return a.Index()
}

// hostileValues gathers, per path, the values the transitions declared so
// far write there or test it against, and its initial value.
func (b *Builder) hostileValues() map[PathID][]Value {
	m := map[PathID][]Value{}
	for _, t := range b.trans {
		for _, c := range t.Guard {
			switch c.Kind {
			case CondEq, CondNe:
				m[c.Path] = append(m[c.Path], c.Val)
			case CondIn:
				for v := 1; v < 64; v++ {
					if c.Mask&(1<<v) != 0 && v < len(b.sys.Values) {
						m[c.Path] = append(m[c.Path], Value(v))
					}
				}
			}
		}
		for _, op := range t.Ops {
			switch op.Kind {
			case OpWrite, OpSwitchState:
				m[op.Path] = append(m[op.Path], op.Val)
			case OpReplace:
				m[op.Path] = append(m[op.Path], op.Val, op.From)
			}
		}
	}
	for p, v := range b.initStore {
		if v != Absent {
			m[p] = append(m[p], v)
		}
	}
	return m
}

func uniqValues(vs []Value) []Value {
	sort.Slice(vs, func(i, j int) bool { return vs[i] < vs[j] })
	out := vs[:0]
	for i, v := range vs {
		if v != Absent && (i == 0 || v != vs[i-1]) {
			out = append(out, v)
		}
	}
	return out
}
