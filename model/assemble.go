package model

import (
	"fmt"
	"sort"
	"strings"
)

// Build: the declarations checked, the state laid out (build.go declares,
// this file assembles), the transitions' precomputed sets.

// Build checks and compiles the system.
func (b *Builder) Build() (*System, error) {
	if b.err != nil {
		return nil, b.err
	}
	s := b.sys
	np := len(s.Paths)
	// Tree structure and ownership.
	for i := range s.Paths {
		if p := s.Paths[i].Parent; p != NoPath {
			s.Paths[p].Children = append(s.Paths[p].Children, PathID(i))
		}
	}
	for i := range s.Paths {
		s.Paths[i].Owner = 0
		for q := PathID(i); q != NoPath; q = s.Paths[q].Parent {
			if d, ok := b.owners[q]; ok {
				s.Paths[i].Owner = d
				break
			}
		}
	}
	// Watch matching.
	for w := range s.Watches {
		wp := s.Watches[w].Path
		for i := range s.Paths {
			if isAncestorOrSelf(s, wp, PathID(i)) {
				s.Paths[i].onWrite = append(s.Paths[i].onWrite, WatchID(w))
				s.Paths[i].onRemove = append(s.Paths[i].onRemove, WatchID(w))
			} else if isAncestorOrSelf(s, PathID(i), wp) {
				s.Paths[i].onRemove = append(s.Paths[i].onRemove, WatchID(w))
			}
		}
	}
	if b.allowed[RequestFailFault] {
		b.addSwitchStateFailures() // fail.go
	}
	// Transitions: drop those of faults not allowed, number the rest.
	for _, t := range b.trans {
		if t.Fault != "" && !b.allowed[t.Fault] {
			continue
		}
		t.ID = len(s.Trans)
		s.Trans = append(s.Trans, t)
	}
	// Actors: per-location and per-watch tables, transaction records.
	s.txnReaders = make([][]int, np)
	for ai := range s.Actors {
		a := &s.Actors[ai]
		a.byLoc = make([][]int, len(a.Locs))
		a.timers = make([][]int, len(a.Locs))
		a.handlers = make([][]int, len(a.Watches))
		if a.Domain > 0 {
			if v, ok := s.Domains[a.Domain]; ok {
				a.enabled = []Cond{VarEq(v, DomainRunning)}
			}
		}
		if len(a.Locs) == 0 {
			return nil, fmt.Errorf("actor %s has no locations", a.Name)
		}
	}
	slotSize := make([]int, len(s.Actors))
	hasTxn := make([]bool, len(s.Actors))
	for i := range s.Trans {
		t := &s.Trans[i]
		a := &s.Actors[t.Actor]
		a.Trans = append(a.Trans, t.ID)
		if err := checkTrans(s, a, t); err != nil {
			return nil, err
		}
		if t.Watch != NoWatch {
			wi := -1
			for j, w := range a.Watches {
				if w == t.Watch {
					wi = j
				}
			}
			if wi < 0 {
				return nil, fmt.Errorf("actor %s, transition %s: watch %d is not the actor's", a.Name, t.Name, t.Watch)
			}
			a.handlers[wi] = append(a.handlers[wi], t.ID)
		} else if t.Timeout > 0 {
			a.timers[t.From] = append(a.timers[t.From], t.ID)
		} else {
			a.byLoc[t.From] = append(a.byLoc[t.From], t.ID)
		}
		if t.Kind == TxnBody {
			hasTxn[t.Actor] = true
			seen := map[PathID]bool{}
			add := func(p PathID) {
				if !seen[p] {
					seen[p] = true
					t.readSet = append(t.readSet, p)
				}
			}
			for _, c := range t.Guard {
				switch c.Kind {
				case CondPresent, CondAbsent, CondEq, CondNe, CondIn:
					add(c.Path)
				}
			}
			for _, op := range t.Ops {
				switch op.Kind {
				case OpRead:
					add(op.Path)
				case OpDirectory:
					// A listing changes when a child comes or goes: the
					// record keeps every interned child (xenstore-wire.md
					// 1.7: "DIRECTORY, then a concurrent new child: EAGAIN").
					add(op.Path)
					for i := range s.Paths {
						if s.Paths[i].Parent == op.Path {
							add(PathID(i))
						}
					}
				}
				if op.Kind.IsWrite() {
					t.hasWrites = true
				}
			}
			readers := t.readSet
			if s.Conflict == CXenstored {
				t.cxTouch = s.cxEntries(t, add)
				readers = nil
				for _, e := range t.cxTouch {
					readers = append(readers, e.path)
				}
			}
			if len(t.readSet) > slotSize[t.Actor] {
				slotSize[t.Actor] = len(t.readSet)
			}
			for _, p := range readers {
				if !containsInt(s.txnReaders[p], t.Actor) {
					s.txnReaders[p] = append(s.txnReaders[p], t.Actor)
				}
			}
		}
	}
	// Every watch gets an implicit last case that consumes the event.
	for ai := range s.Actors {
		a := &s.Actors[ai]
		for wi, w := range a.Watches {
			t := Transition{
				ID: len(s.Trans), Actor: ai, Name: "ignore " + strings.TrimPrefix(s.Watches[w].Name, a.Name+"."),
				Desc: "event ignored", From: AnyLoc, To: SameLoc, Watch: w, Kind: Ignore,
			}
			s.Trans = append(s.Trans, t)
			a.Trans = append(a.Trans, t.ID)
			a.handlers[wi] = append(a.handlers[wi], t.ID)
		}
	}
	// Layout: store | vars | watches | transaction records.
	s.varBase = np
	s.watchOff = s.varBase + len(s.Vars)
	off := s.watchOff + len(s.Watches)
	for ai := range s.Actors {
		if hasTxn[ai] {
			s.Actors[ai].txnSlot = off
			s.Actors[ai].txnReads = slotSize[ai]
			off += 3 + slotSize[ai]
		}
	}
	off = b.buildPerms(off)
	s.size = off
	s.init = make(State, s.size)
	for p, v := range b.initStore {
		s.init[p] = byte(v)
	}
	if s.init[0] == byte(Absent) {
		s.init[0] = byte(Empty) // the root always exists
	}
	for i := range s.Paths {
		s.setPermsFlag(s.init, PathID(i)) // the initial nodes have the toolstack's lists
	}
	for i, v := range s.Vars {
		s.init[s.varBase+i] = v.Init
	}
	for _, w := range b.initWatches {
		s.init[s.watchOff+int(w)] = watchOn
	}
	sort.Strings(s.Faults)
	s.findSymmetry()
	s.compile()
	return s, nil
}

// cxEntries lists what transaction body t touches under C xenstored
// (see CXenstored), adding to its record (with add) the nodes whose
// presence at the body decides it. Every request looks its node up
// (get_node, read_node), and a missing node's parents up to the first
// that exists (errno_from_parents, ask_parents; construct_node when it
// creates them): a parent is touched when the node below it on the way
// was missing. An RM of an existing node also reads its parent and its
// whole subtree (rm_node, walk_node_tree). The guard's nodes are read.
// A DIRECTORY touches only its node: a child that comes or goes
// changes the node's own record.
func (s *System) cxEntries(t *Transition, add func(PathID)) []cxTouch {
	var out []cxTouch
	rec := func(p PathID) int {
		add(p)
		for i, q := range t.readSet {
			if q == p {
				return i
			}
		}
		panic("cxEntries: not recorded")
	}
	entry := func(e cxTouch) {
		for _, f := range out {
			if f == e || f.path == e.path && f.rec < 0 {
				return
			}
		}
		out = append(out, e)
	}
	lookup := func(p PathID) {
		entry(cxTouch{path: p, rec: -1})
		for c, q := p, s.Paths[p].Parent; q != NoPath; c, q = q, s.Paths[q].Parent {
			entry(cxTouch{path: q, rec: rec(c), present: false})
		}
	}
	for _, c := range t.Guard {
		switch c.Kind {
		case CondPresent, CondAbsent, CondEq, CondNe, CondIn:
			lookup(c.Path)
		}
	}
	for _, op := range t.Ops {
		switch op.Kind {
		case OpRead, OpDirectory, OpWrite, OpMkdir, OpSetPerms, OpReplace, OpSwitchState:
			lookup(op.Path)
		case OpRm, OpCleanup:
			lookup(op.Path)
			r := rec(op.Path)
			if q := s.Paths[op.Path].Parent; q != NoPath {
				entry(cxTouch{path: q, rec: r, present: true})
			}
			for i := range s.Paths {
				if d := PathID(i); d != op.Path && isAncestorOrSelf(s, op.Path, d) {
					entry(cxTouch{path: d, rec: r, present: true})
				}
			}
		}
	}
	return out
}

func checkTrans(s *System, a *Actor, t *Transition) error {
	where := func() string { return fmt.Sprintf("actor %s, transition %q", a.Name, t.Name) }
	if t.From != AnyLoc && int(t.From) >= len(a.Locs) {
		return fmt.Errorf("%s: bad From %d", where(), t.From)
	}
	if t.Timeout > 0 && t.Watch != NoWatch {
		return fmt.Errorf("%s: a watch handler cannot be a timer", where())
	}
	if t.From == AnyLoc && t.Watch == NoWatch {
		return fmt.Errorf("%s: only handler cases may apply at any location", where())
	}
	if t.To != SameLoc && int(t.To) >= len(a.Locs) {
		return fmt.Errorf("%s: bad To %d", where(), t.To)
	}
	if t.Kind == Commit && (len(t.Ops) == 0 || t.Ops[0].Kind != OpTxnCommit) {
		return fmt.Errorf("%s: a commit must start with TXN_COMMIT", where())
	}
	for _, op := range t.Ops {
		if op.Kind != OpWatch && op.Kind != OpUnwatch && op.Kind != OpDomainGone && op.Kind != OpSignal &&
			op.Kind != OpTxnStart && op.Kind != OpTxnCommit && op.Kind != OpTxnAbort && int(op.Path) >= len(s.Paths) {
			return fmt.Errorf("%s: bad path in %s", where(), op.Kind)
		}
	}
	return nil
}

func isAncestorOrSelf(s *System, anc, p PathID) bool {
	for q := p; q != NoPath; q = s.Paths[q].Parent {
		if q == anc {
			return true
		}
	}
	return false
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
