package model

import (
	"fmt"
	"sort"
	"strings"
)

// A Builder assembles a System: it interns paths and values, declares
// variables, domains, actors and their transitions, and the initial state.
// Actor packages (model/libxl, model/linux, ...) take a Builder and add
// their programs to it.
type Builder struct {
	sys         *System
	initStore   map[PathID]Value
	owners      map[PathID]int
	acls        map[PathID]ACL
	allowed     map[string]bool
	trans       []Transition
	err         error
	initWatches []WatchID
	// QemuExitWithin, when positive, bounds how long (in milliseconds) a
	// qemu takes to exit after SIGHUP: timers longer than that cannot fire
	// while a signalled qemu is still running (see AddQemuBound).
	QemuExitWithin int
}

// NewBuilder returns a Builder for a system called name.
func NewBuilder(name string) *Builder {
	s := &System{
		Name:        name,
		pathIdx:     make(map[string]PathID),
		valIdx:      make(map[string]Value),
		Domains:     make(map[int]VarID),
		DomainNames: make(map[int]string),
	}
	b := &Builder{sys: s, initStore: make(map[PathID]Value), owners: make(map[PathID]int), acls: make(map[PathID]ACL), allowed: make(map[string]bool)}
	s.Values = []string{"⊥", ""}
	s.valIdx[""] = Empty
	for i := 0; i <= 8; i++ {
		b.Value(fmt.Sprint(i))
	}
	b.Path("/")
	return b
}

// Fail records the first error of the build; Build returns it.
func (b *Builder) Fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

// Sys gives actor builders read access to what has been declared so far.
func (b *Builder) Sys() *System { return b.sys }

// SetTimers chooses the timer semantics.
func (b *Builder) SetTimers(t TimerSemantics) { b.sys.Timers = t }

// SetConflict chooses the transaction conflict rule.
func (b *Builder) SetConflict(r ConflictRule) { b.sys.Conflict = r }

// SetRemoveOwnedOnDeath chooses xenstored's reaction to domain death:
// true for 4.17+ (XSA-419), false before.
func (b *Builder) SetRemoveOwnedOnDeath(v bool) { b.sys.RemoveOwnedOnDeath = v }

// SetDeathFiresWatches chooses whether that deletion fires watches: true
// for C xenstored, false for oxenstored (System.DeathFiresWatches).
func (b *Builder) SetDeathFiresWatches(v bool) { b.sys.DeathFiresWatches = v }

// Allow enables a fault: transitions declared with that Fault exist.
func (b *Builder) Allow(fault string) {
	b.allowed[fault] = true
	b.sys.Faults = append(b.sys.Faults, fault)
}

// Allowed reports whether a fault is enabled.
func (b *Builder) Allowed(fault string) bool { return b.allowed[fault] }

// Path interns the absolute path p and all its ancestors.
func (b *Builder) Path(p string) PathID {
	if id, ok := b.sys.pathIdx[p]; ok {
		return id
	}
	parent := NoPath
	if p != "/" {
		i := strings.LastIndexByte(p, '/')
		pp := p[:i]
		if pp == "" {
			pp = "/"
		}
		parent = b.Path(pp)
	}
	if len(b.sys.Paths) >= int(NoPath) {
		b.Fail(fmt.Errorf("too many xenstore paths"))
		return 0
	}
	id := PathID(len(b.sys.Paths))
	b.sys.Paths = append(b.sys.Paths, Path{Name: p, Parent: parent})
	b.sys.pathIdx[p] = id
	return id
}

// Join interns base + "/" + rel.
func (b *Builder) Join(base PathID, rel string) PathID {
	return b.Path(b.sys.Paths[base].Name + "/" + rel)
}

// Value interns v.
func (b *Builder) Value(v string) Value {
	if id, ok := b.sys.valIdx[v]; ok {
		return id
	}
	if len(b.sys.Values) >= 256 {
		b.Fail(fmt.Errorf("too many distinct xenstore values (at most 254)"))
		return Empty
	}
	id := Value(len(b.sys.Values))
	b.sys.Values = append(b.sys.Values, v)
	b.sys.valIdx[v] = id
	return id
}

// Var declares a one-byte variable with its initial value and, optionally,
// names for its values.
func (b *Builder) Var(name string, init uint8, names ...string) VarID {
	b.sys.Vars = append(b.sys.Vars, Var{Name: name, Init: init, Names: names, Actor: -1})
	return VarID(len(b.sys.Vars) - 1)
}

// SetVarInit changes the initial value of v.
func (b *Builder) SetVarInit(v VarID, x uint8) { b.sys.Vars[v].Init = x }

// Init sets node p (and empty ancestors) in the initial store.
func (b *Builder) Init(p PathID, v Value) {
	b.initStore[p] = v
	for q := b.sys.Paths[p].Parent; q != NoPath; q = b.sys.Paths[q].Parent {
		if _, ok := b.initStore[q]; !ok {
			b.initStore[q] = Empty
		}
	}
}

// InitRemove removes p and its subtree from the initial store.
func (b *Builder) InitRemove(p PathID) {
	prefix := b.sys.Paths[p].Name + "/"
	for q := range b.initStore {
		if q == p || strings.HasPrefix(b.sys.Paths[q].Name, prefix) {
			delete(b.initStore, q)
		}
	}
}

// InitValue returns the value of p in the initial store so far.
func (b *Builder) InitValue(p PathID) Value { return b.initStore[p] }

// Own makes domain d the owner of p and everything below it.
func (b *Builder) Own(p PathID, d int) { b.owners[p] = d }

// Domain declares domain id with a name and an initial run state, and
// returns the variable that holds its run state.
func (b *Builder) Domain(id int, name string, state uint8) VarID {
	v := b.Var("dom."+name, state, DomainStateNames...)
	b.sys.Domains[id] = v
	b.sys.DomainNames[id] = name
	return v
}

// AddDevice records a device for the properties and returns its index.
func (b *Builder) AddDevice(d Device) int {
	b.sys.Devices = append(b.sys.Devices, d)
	return len(b.sys.Devices) - 1
}

// Device returns device i for update.
func (b *Builder) Device(i int) *Device { return &b.sys.Devices[i] }

// An ActorBuilder declares one actor's locations, watches and transitions.
type ActorBuilder struct {
	b     *Builder
	index int
}

// Actor declares an actor. Its location variable starts at the first
// location declared, unless StartAt says otherwise.
func (b *Builder) Actor(name string, kind ActorKind, domain int, fair bool) *ActorBuilder {
	a := Actor{Name: name, Kind: kind, Domain: domain, Fair: fair, txnSlot: -1}
	a.Loc = b.Var(name+".loc", 0)
	b.sys.Vars[a.Loc].Actor = len(b.sys.Actors)
	b.sys.Actors = append(b.sys.Actors, a)
	return &ActorBuilder{b: b, index: len(b.sys.Actors) - 1}
}

// Index is the actor's index in System.Actors.
func (ab *ActorBuilder) Index() int { return ab.index }

func (ab *ActorBuilder) actor() *Actor { return &ab.b.sys.Actors[ab.index] }

// Loc declares a non-final location.
func (ab *ActorBuilder) Loc(name, desc string) LocID { return ab.loc(name, desc, false) }

// Final declares a final location.
func (ab *ActorBuilder) Final(name, desc string) LocID { return ab.loc(name, desc, true) }

func (ab *ActorBuilder) loc(name, desc string, final bool) LocID {
	a := ab.actor()
	if _, dup := a.LocByName(name); dup {
		ab.b.Fail(fmt.Errorf("actor %s: location %q declared twice", a.Name, name))
	}
	a.Locs = append(a.Locs, Location{Name: name, Desc: desc, Final: final})
	return LocID(len(a.Locs) - 1)
}

// StartAt sets the actor's initial location.
func (ab *ActorBuilder) StartAt(l LocID) { ab.b.SetVarInit(ab.actor().Loc, uint8(l)) }

// LocVar is the variable holding the actor's location.
func (ab *ActorBuilder) LocVar() VarID { return ab.actor().Loc }

// Var declares a variable local to the actor (its name is prefixed).
func (ab *ActorBuilder) Var(name string, init uint8, names ...string) VarID {
	v := ab.b.Var(ab.actor().Name+"."+name, init, names...)
	ab.b.sys.Vars[v].Actor = ab.index
	return v
}

// Watch declares a watch of the actor on p; registered watches start
// registered with no event pending.
func (ab *ActorBuilder) Watch(name string, p PathID, registered bool) WatchID {
	s := ab.b.sys
	s.Watches = append(s.Watches, Watch{Name: ab.actor().Name + "." + name, Actor: ab.index, Path: p})
	w := WatchID(len(s.Watches) - 1)
	a := ab.actor()
	a.Watches = append(a.Watches, w)
	if registered {
		ab.b.initWatches = append(ab.b.initWatches, w)
	}
	return w
}

// T adds a transition to the actor. Zero Watch means NoWatch unless the
// transition is built with On.
func (ab *ActorBuilder) T(t Transition) {
	t.Actor = ab.index
	if t.Watch == 0 && !t.isHandler {
		t.Watch = NoWatch
	}
	ab.b.trans = append(ab.b.trans, t)
}

// On returns t made a handler case of watch w.
func On(w WatchID, t Transition) Transition {
	t.Watch = w
	t.isHandler = true
	return t
}

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
