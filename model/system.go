package model

import (
	"fmt"
	"strings"
)

// A PathID names an interned xenstore path of one System.
type PathID uint16

// NoPath is the parent of the root.
const NoPath PathID = 0xFFFF

// A Value is an interned xenstore value of one System. Absent means the node
// does not exist; Empty is the empty string, the value of a directory node.
type Value uint8

// Absent and Empty are the first two interned values of every System; the
// XenbusState strings "0" to "8" follow (see XenbusState.Value).
const (
	Absent Value = 0
	Empty  Value = 1
)

// A VarID names a one-byte variable of the state vector: an actor's control
// location, a driver's cached state, a return code, a domain's run state.
type VarID uint16

// A WatchID names a watch that one actor may register.
type WatchID uint16

// NoWatch marks a transition that is not a watch handler.
const NoWatch WatchID = 0xFFFF

// A LocID is a control location of one actor.
type LocID uint8

// AnyLoc is the From of a watch-handler case that applies wherever the actor is.
// SameLoc is the To of a transition that does not move the actor.
const (
	AnyLoc  LocID = 0xFF
	SameLoc LocID = 0xFE
)

// A Path is an interned xenstore path.
type Path struct {
	Name     string
	Parent   PathID
	Children []PathID
	// Owner is the domain that owns the node in xenstored. The model fixes
	// ownership per path: a device's frontend directory and everything below
	// it belongs to the guest, its backend directory to the backend domain,
	// and every other node to dom0. This stands for construct_node's rule
	// (a new node inherits its parent's perms unless an unprivileged domain
	// creates it) for the layout libxl__device_generic_add writes. Domain
	// death uses it; the permission checks use ACL (perms.go).
	Owner int
	// ACL is the node's permission list as the toolstack sets it
	// (System.ACLs; perms.go); ACLOf gives the list a node has in a state.
	ACL ACLID
	// aclOwn is the node's own list when it has one (else 0: inherited),
	// and aclSlot the offset of its SET_PERMS flag, or -1 when static.
	aclOwn  ACLID
	aclSlot int
	// onWrite lists the watches that fire when this node is created,
	// written or removed: those whose path is this node or an ancestor.
	onWrite []WatchID
	// onRemove lists the watches that fire when this node is removed by an
	// RM of it or of an ancestor: onWrite plus the watches below it.
	onRemove []WatchID
}

// An ActorKind says what part of Xen an actor stands for. Properties use it:
// "created by the toolstack" means created by an actor of kind Toolstack.
type ActorKind uint8

// The actor kinds.
const (
	Toolstack ActorKind = iota // libxl or xend, in dom0
	Frontend                   // a frontend driver in a guest kernel
	Backend                    // a backend driver in dom0's or a driver domain's kernel
	Qemu                       // a qemu process acting as backend
	Daemon                     // another user-space backend process (the 2007 xenfb daemon)
	Lifecycle                  // a domain's run state: pause, destroy, crash
	Guest                      // a hostile guest writing xenstore directly (hostile.go)
)

var actorKindNames = [...]string{"toolstack", "frontend", "backend", "qemu", "daemon", "lifecycle", "guest"}

func (k ActorKind) String() string { return actorKindNames[k] }

// A Location is a named control location of an actor.
type Location struct {
	Name string
	// Desc says in the protocol's words what the actor does there.
	Desc string
	// Final locations are where an actor may rest: a state in which no actor
	// can move is a deadlock unless every actor is at a final location.
	Final bool
}

// An Actor is an extended finite-state machine: named control locations,
// transitions between them, one-byte variables, and watches.
type Actor struct {
	Name string
	Kind ActorKind
	// Domain is the domain the actor runs in, or -1. An actor in a domain
	// takes steps only while that domain is running: a paused or dead guest's
	// drivers do nothing (xenbus-protocol.md 10.4).
	Domain int
	// Fair actors are assumed to take a step when continuously enabled; the
	// eventually-properties are checked under weak fairness of these actors.
	// Fault transitions never count towards enabledness.
	Fair    bool
	Locs    []Location
	Loc     VarID
	Watches []WatchID
	Trans   []int // indexes into System.Trans, in declaration order

	byLoc    [][]int // non-handler, non-timer transitions per location
	timers   [][]int // timer transitions per location
	handlers [][]int // per watch (index into Watches): ordered cases
	txnSlot  int     // state offset of the transaction record, -1 if none
	txnReads int     // read values the record holds
	enabled  []Cond
}

// LocName returns the name of location l.
func (a *Actor) LocName(l LocID) string {
	if int(l) < len(a.Locs) {
		return a.Locs[l].Name
	}
	return fmt.Sprintf("loc%d", l)
}

// LocByName returns the location called name.
func (a *Actor) LocByName(name string) (LocID, bool) {
	for i, l := range a.Locs {
		if l.Name == name {
			return LocID(i), true
		}
	}
	return 0, false
}

// A Watch is a xenstore watch that one actor may register.
type Watch struct {
	Name  string
	Actor int
	Path  PathID
}

// A Var is a one-byte state variable.
type Var struct {
	Name string
	// Actor is the actor the variable belongs to (its location, its own
	// variables), or -1 for a shared one.
	Actor int
	// Names, when set, name the values (for traces).
	Names []string
	Init  uint8
}

// A TransKind says how the engine executes a transition.
type TransKind uint8

// The transition kinds.
const (
	// Atomic applies its operations at once, in order. Non-transactional
	// (XBT_NULL) requests and transactions that abort are Atomic.
	Atomic TransKind = iota
	// TxnBody starts a transaction and runs its body against the snapshot:
	// the guard and Read operations read the store as it is now; writes are
	// recorded and applied only by the commit.
	TxnBody
	// Commit ends the actor's open transaction successfully: it applies
	// the body's writes, then its own remaining operations.
	Commit
	// EAGAIN ends the actor's open transaction with EAGAIN.
	EAGAIN
	// Ignore consumes a pending watch event that no handler case wanted.
	Ignore
)

// A Transition is a labelled edge of an actor: a guard over the state, and an
// effect given as data (xenstore operations and variable assignments).
type Transition struct {
	ID    int
	Actor int
	Name  string
	// Desc says in the protocol's words what the step does (diagram labels).
	Desc     string
	From, To LocID
	// Watch, when not NoWatch, makes this a handler case: it is enabled only
	// while an event for that watch is pending, it consumes the event, and
	// among the cases of one watch the first enabled one is taken.
	Watch WatchID
	Guard []Cond
	Ops   []Op
	Sets  []Set
	Kind  TransKind
	// Timeout, in milliseconds, makes the transition a timer firing: it may
	// fire at any point while the actor is at From (untimed semantics).
	Timeout int
	// Slow marks a step that may take longer than a timer: qemu's exit after
	// SIGHUP. Under LastResort timers, slow steps do not hold timers back.
	Slow bool
	// Fault names the scenario fault that enables this transition; a
	// transition with a fault exists only in scenarios that allow it.
	Fault string
	Marks []Mark

	readSet   []PathID // TxnBody: paths whose values the record keeps
	hasWrites bool
	isHandler bool
	// cxTouch (TxnBody, CXenstored): the nodes whose generation C
	// xenstored records for the body, each under a condition on the
	// record (see cxEntries).
	cxTouch []cxTouch
}

// A cxTouch is a node a transaction body touches in C xenstored's sense:
// the transaction records the node's generation, and a change of it
// fails the commit. It does so always (rec < 0), or when the node at
// readSet[rec] was present (present) or missing (!present) when the body
// ran.
type cxTouch struct {
	path    PathID
	rec     int
	present bool
}

// A Set assigns a constant to a variable.
type Set struct {
	Var VarID
	Val uint8
}

// A MarkKind annotates a transition for the properties.
type MarkKind uint8

// The mark kinds.
const (
	// MarkComplete: the actor's operation completes; Var holds its rc and
	// Device the device it concerns (or -1).
	MarkComplete MarkKind = iota
	// MarkWaitForBackend: libxl__wait_for_backend is invoked on Path.
	MarkWaitForBackend
	// MarkRaise: the toolstack reports an error about Device (xend VmError).
	MarkRaise
)

// A Mark annotates a transition for the properties that inspect steps.
type Mark struct {
	Kind   MarkKind
	Path   PathID
	Var    VarID
	Device int
	Op     string
}

// A Device is one split device of the scenario, with the paths the
// properties look at.
type Device struct {
	Name    string
	Kind    string // frontend kind: vbd, vif, pci, vfb, vkbd
	BEKind  string // backend kind: vbd, qdisk, vif, pci, vfb, vkbd
	DevID   int
	FEDom   int
	BEDom   int
	FEDir   PathID
	BEDir   PathID
	FEState PathID
	BEState PathID
	// LibxlDir is /libxl/<domid>/device/<kind>/<devid>, or NoPath when the
	// toolstack version keeps no such record (before 4.7).
	LibxlDir PathID
	// Hotplug is BE/hotplug-status.
	Hotplug PathID
	// QemuActor is the qemu actor serving the backend, or -1.
	QemuActor int
	// Actors are the actors that act on this device alone (its drivers,
	// the toolstack operations on it): with the device's nodes they form
	// the block that symmetry reduction permutes.
	Actors []int
}

// A ConflictRule says when xenstored fails a transaction commit with EAGAIN.
// Reference: xenstore-wire.md 1.7.
type ConflictRule uint8

// The conflict rules.
const (
	// Oxenstored replays the transaction's reads at commit: EAGAIN when a
	// value read differs from the current one; a transaction that writes
	// nothing always commits.
	Oxenstored ConflictRule = iota
	// CXenstored (C xenstored since 4.9) fails the commit when any node
	// the transaction touched was modified since, even to the same value
	// (its generation count changed). A transaction touches the nodes
	// it reads and those it writes, creates or removes (every request
	// reads its node first); for a missing node, its parents up to the
	// first that exists; for a removal, the parent and the whole
	// subtree. A node is modified when it is written, created or
	// removed, and when a child of it is created or removed (its record
	// lists its children). Reference: xenstored_transaction.c
	// (access_node, finalize_transaction), xenstored_core.c (get_node,
	// errno_from_parents, construct_node, create_node, rm_node,
	// delete_child) of Xen RELEASE-4.17.0, checked live by
	// realxs/difftest on a real C xenstored 4.17.
	CXenstored
)

func (r ConflictRule) String() string {
	if r == CXenstored {
		return "cxenstored"
	}
	return "oxenstored"
}

// A System is a compiled scenario: the interned paths and values, the
// actors with their transitions, the devices, and the initial state. It is
// immutable once built and safe for concurrent use.
type System struct {
	Name    string
	Paths   []Path
	Values  []string
	Vars    []Var
	Watches []Watch
	Actors  []Actor
	Trans   []Transition
	Devices []Device
	// Domains maps a domain id to the variable holding its run state
	// (see DomainRunning and friends).
	Domains map[int]VarID
	// DomainNames maps a domain id to its name.
	DomainNames map[int]string
	Conflict    ConflictRule
	// RemoveOwnedOnDeath: xenstored 4.17+ (XSA-419) deletes the nodes a
	// dying or vanished domain owns (OpDomainGone).
	RemoveOwnedOnDeath bool
	// DeathFiresWatches: that deletion fires watches (C xenstored:
	// domain_tree_remove_sub → rm_node → delnode_sub → fire_watches) or
	// not (oxenstored: Store.reset_permissions through
	// Node.recurse_filter_map, "nodes removed this way won't generate
	// watch events"). Xen RELEASE-4.17.0.
	DeathFiresWatches bool
	// Faults lists the faults the scenario allows.
	Faults []string
	// Timers chooses when timer transitions may fire.
	Timers TimerSemantics
	// ACLs are the interned permission lists (perms.go); 0 is unused.
	ACLs []ACL

	init     State
	size     int
	varBase  int
	watchOff int
	pathIdx  map[string]PathID
	valIdx   map[string]Value
	// txnReaders lists, per path, the actors whose transaction bodies may
	// read it (for the C xenstored rule).
	txnReaders [][]int
	// sym holds the groups of interchangeable devices (symmetry.go).
	sym []symGroup
	// fast holds the compiled guards (compile.go), nil for the
	// interpreter alone.
	fast *compiled
	// gen, when not nil, replaces fast's guards of the actors' moves with
	// Go generated for this System (gen.go).
	gen *generated
}

// TimerSemantics says when a timer (a transition with a Timeout) may fire.
type TimerSemantics uint8

// The timer semantics.
const (
	// LastResort: a timer fires only when no other step is enabled, except
	// slow steps and faults: every timer is longer than a protocol step (a
	// driver's or the toolstack's reaction to an event), as with SPIN's
	// timeout statement. This is the default.
	LastResort TimerSemantics = iota
	// AnyTime: a timer may fire at any point while its actor waits, as if
	// every other step could take longer than it (fully untimed).
	AnyTime
)

// A State is one global state: xenstore, every variable, every watch and every
// open transaction, packed into a fixed number of bytes. The byte layout
// belongs to its System.
type State []byte

// Size is the number of bytes of a state of s.
func (s *System) Size() int { return s.size }

// Initial returns a fresh copy of the initial state.
func (s *System) Initial() State { return append(State(nil), s.init...) }

// PathByName returns the interned id of path p.
func (s *System) PathByName(p string) (PathID, bool) {
	id, ok := s.pathIdx[p]
	return id, ok
}

// ValueByName returns the interned id of value v.
func (s *System) ValueByName(v string) (Value, bool) {
	id, ok := s.valIdx[v]
	return id, ok
}

// Get returns the value of node p in st.
func (s *System) Get(st State, p PathID) Value { return Value(st[p]) }

// Exists reports whether node p exists in st.
func (s *System) Exists(st State, p PathID) bool { return st[p] != byte(Absent) }

// VarValue returns the value of variable v in st.
func (s *System) VarValue(st State, v VarID) uint8 { return st[s.varBase+int(v)] }

// LocOf returns the control location of actor a in st.
func (s *System) LocOf(st State, a int) LocID {
	return LocID(st[s.varBase+int(s.Actors[a].Loc)])
}

// WatchPending reports whether an event for watch w is pending in st.
func (s *System) WatchPending(st State, w WatchID) bool { return st[s.watchOff+int(w)] == watchPending }

// WatchRegistered reports whether watch w is registered in st.
func (s *System) WatchRegistered(st State, w WatchID) bool {
	return st[s.watchOff+int(w)] != watchOff
}

const (
	watchOff     = 0
	watchOn      = 1
	watchPending = 2
)

// FormatValue renders v for traces: ⊥ for a missing node, quoted otherwise.
func (s *System) FormatValue(v Value) string {
	if v == Absent {
		return "⊥"
	}
	return fmt.Sprintf("%q", s.Values[v])
}

// FormatVar renders the value x of variable v.
func (s *System) FormatVar(v VarID, x uint8) string {
	vr := &s.Vars[v]
	if int(x) < len(vr.Names) {
		return vr.Names[x]
	}
	return fmt.Sprint(x)
}

// Store returns the xenstore contents of st as a map from path to value.
func (s *System) Store(st State) map[string]string {
	m := make(map[string]string)
	for i := range s.Paths {
		if st[i] != byte(Absent) {
			m[s.Paths[i].Name] = s.Values[st[i]]
		}
	}
	return m
}

// Describe renders st for people: every existing node, every actor's
// location and the variables that differ from their initial value.
func (s *System) Describe(st State) string {
	var b strings.Builder
	for i := range s.Paths {
		if st[i] != byte(Absent) && st[i] != byte(Empty) {
			fmt.Fprintf(&b, "%s = %s\n", s.Paths[i].Name, s.FormatValue(Value(st[i])))
		}
	}
	for a := range s.Actors {
		fmt.Fprintf(&b, "%s @ %s\n", s.Actors[a].Name, s.Actors[a].LocName(s.LocOf(st, a)))
	}
	return b.String()
}
