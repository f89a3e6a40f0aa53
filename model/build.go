package model

import (
	"fmt"
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
	// failLeft is xenstored.failures-left plus one, 0 before FailureBudget
	// declares it (fail.go).
	failLeft int
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
