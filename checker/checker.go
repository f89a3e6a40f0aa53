// Package checker explores every interleaving of a model breadth-first and
// checks properties: invariants in every reachable state, step properties
// on every transition, deadlock freedom, and eventually-properties under
// weak fairness of the fair actors. It returns a verdict, not an error: ok,
// violation (with the shortest counterexample per property, a lasso for an
// eventually-property), or unknown when a bound was hit.
//
// One explorer serves every property kind: a parallel breadth-first
// search whose result does not depend on the number of workers (bfs.go,
// its phases in expand.go and insert.go, its state between levels in
// search.go), with a visitor that records the state graph for the
// eventually-properties (the graph builder, graph.go; judged in
// liveness.go). Faults are optional: a
// state whose only moves are faults is stuck. The seen set holds 64-bit
// fingerprints, with a bound on the chance of a missed state
// (Result.CollisionBound), or full states (Options.Exact, and always with
// eventually-properties). Symmetry and partial-order reductions are used
// where they are sound for the properties, together when both apply;
// Result.Notes says when not.
//
// Long checks: Options.MemoryBudget bounds the whole process, not only the
// seen set (memory.go); the search stops with verdict unknown before the
// process would pass it. Options.Checkpoint writes the search's state at
// level boundaries (checkpoint.go), and Options.Resume continues from it
// with the result of an uninterrupted check. Options.Progress reports the
// rate, the memory against the budget and the last checkpoint.
//
// The checker is generic: it sees a model only through the Model interface
// and the reductions' interfaces (reductions.go: Symmetric, PartialOrder,
// TransitionCounter), which *model.System and *model.POR implement, and
// properties only as predicates over packed states.
package checker

import (
	"context"
	"time"
)

// A Model is a transition system over fixed-size packed states.
type Model interface {
	// Size is the length of every state.
	Size() int
	// InitialState returns the initial state.
	InitialState() []byte
	// Next calls yield for every transition enabled in st with its id, its
	// actor, whether it is a fault (faults do not count for fairness) and
	// the next state, written into the buffer next, which yield must copy
	// to keep. Next stops when yield returns false.
	Next(st, next []byte, yield func(id, actor int32, fault bool, next []byte) bool)
	// Quiescent reports whether st may end a run: a state without
	// successors other than faults that is not quiescent is a deadlock.
	Quiescent(st []byte) bool
	// NumActors and ActorFair describe the actors for fairness.
	NumActors() int
	ActorFair(a int) bool
}

// A Kind is the kind of a property.
type Kind string

// The property kinds.
const (
	// Invariant: State must hold in every reachable state.
	Invariant Kind = "invariant"
	// StepInvariant: Step must hold for every reachable transition.
	StepInvariant Kind = "step"
	// Deadlock: every state without successors is quiescent. Faults are
	// optional: a state whose only successors are faults counts as one
	// without successors.
	Deadlock Kind = "deadlock"
	// Eventually: on every run that is weakly fair to the fair actors,
	// State holds at some point (◇P). A run may end in a state whose only
	// successors are faults.
	Eventually Kind = "eventually"
)

// A Property is a named predicate the checker checks.
type Property struct {
	Name string
	Kind Kind
	// Doc says what the property means, for reports.
	Doc string
	// State is the predicate of Invariant and Eventually properties.
	State func(st []byte) bool
	// Step is the predicate of StepInvariant properties; step is the
	// transition id the Model yielded.
	Step func(pre []byte, step int32, post []byte) bool
	// Judges, when set, says on which transitions Step can fail: Step
	// holds on every other one without being called. For a model that
	// counts its transitions (TransitionCounter) the checker asks it once
	// per transition id, before the search, and calls Step on a step only
	// when it said true for the step's id; for other models it is not
	// used.
	Judges func(step int32) bool
	// Symmetric says the predicate treats states (and transitions) equal
	// up to the model's symmetry alike, so that symmetry reduction may be
	// used. Deadlock needs no declaration: the model's symmetry covers
	// Quiescent.
	Symmetric bool
}

// A Verdict is the outcome of a check.
type Verdict string

// The verdicts.
const (
	// Ok: every property holds in the whole explored state space. With
	// fingerprints (not Exact), a state whose fingerprint equals another's
	// is taken as explored, so ok holds up to Result.CollisionBound.
	Ok Verdict = "ok"
	// Violation: some property fails; Result.Violations has a shortest
	// counterexample for each.
	Violation Verdict = "violation"
	// Unknown: a bound (MaxStates, MemoryBudget, the context) stopped the
	// exploration before any violation was found; nothing is proven.
	Unknown Verdict = "unknown"
)

// Options bound and observe a check.
type Options struct {
	// MaxStates stops the exploration at the end of the breadth-first
	// level in which it reaches that many distinct states (0: no bound).
	MaxStates int
	// Progress, when set, is called about every ProgressEvery (default
	// 2 s), from another goroutine, with the statistics so far, the rate,
	// the memory in use and the last checkpoint. It is not called after
	// Check returns.
	Progress      func(Progress)
	ProgressEvery time.Duration
	// Context cancels the check; the verdict is then unknown.
	Context context.Context
	// Workers is the number of goroutines exploring (0: GOMAXPROCS). The
	// result (verdict, counts, counterexamples) is the same for any number.
	Workers int
	// MemoryBudget, in bytes, bounds the whole process (0: no budget):
	// the exploration stops cleanly, with verdict unknown and Reason
	// saying how far it got, before the process would hold more. The
	// explorer counts what it holds (seen set, parent links, frontier,
	// candidates, the graph and the analysis of the eventually-
	// properties), measures what the process held before, and sets the
	// runtime's soft memory limit (runtime/debug.SetMemoryLimit) for the
	// duration of the check, restoring it after; so a process should run
	// one budgeted check at a time. See memory.go.
	MemoryBudget int64
	// Checkpoint, when set, is a file the exploration's state is written
	// to (atomically) every CheckpointEvery (default
	// DefaultCheckpointEvery), at the first level boundary after that
	// time, and when a bound or the context stops the exploration.
	// Resume, when set, is a checkpoint file to continue from: the result
	// is that of an uninterrupted check (verdict, counts,
	// counterexamples). A checkpoint of another Identity, Version, model,
	// property list or reduction is refused (Result.Err is a
	// *CheckpointError saying which). See checkpoint.go.
	Checkpoint      string
	CheckpointEvery time.Duration
	Resume          string
	// Identity names what is checked (for xbcheck: the scenario and its
	// digest) and Version the program, for checkpoints.
	Identity, Version string
	// Symmetry explores one state per class of states equal up to the
	// model's symmetry (when it implements Symmetric), when every property says
	// it treats symmetric states alike (Property.Symmetric) and none is an
	// eventually-property; otherwise Result.Notes says why it was not
	// used. Counterexamples are turned back into real runs.
	Symmetry bool
	// POR, when set, is a partial-order reduction for the safety
	// properties (see PartialOrder): states are expanded through its ample
	// sets where it has one. The ample sets must satisfy the usual
	// conditions (stubborn or persistent sets whose enabled transitions do
	// not change what a property reads, or at least nothing a property
	// reads on a step that may occur before the set moves, with a move
	// that is not a fault staying enabled until the set moves; model.POR
	// says which); the checker adds the cycle proviso: every cycle of the
	// reduced graph holds a fully expanded state. It checks that after
	// the search (cycle.go): the reduced search keeps the edges out of
	// reduced states and looks for a cycle among them, and when it finds
	// one it searches again with the breadth-first proviso (BFSProviso),
	// saying so in Result.Notes. Then a run from a reduced state r to a
	// violation either starts, up to reordering, with an ample move (a
	// shorter run remains from that successor) or commutes with every
	// ample move, so that the violation is reached from every ample
	// successor by a run as long. Following ample successors while the
	// length stays the same visits reduced states only, and they cannot go
	// on for ever without a cycle of reduced states: the length decreases,
	// so the reduced search reaches the violation. With BFSProviso, a
	// state none of whose ample successors is new (not found at its level
	// or before) is expanded fully instead, so every reduced state has an
	// ample successor one level deeper, and the pair (length, -level)
	// decreases. The verdict is the same; when there is a violation the
	// checker searches again without reduction, so the counterexamples
	// stay the shortest (unless ReducedCounterexamples). With Symmetry,
	// the ample set is computed in the representative being expanded and
	// its successors are canonicalized: the argument holds in each
	// representative (a cycle of representatives is one of the quotient
	// the search explores), and a symmetry maps a run to a violation of a
	// symmetric property onto another. Not used with
	// eventually-properties; Result.Notes then says so.
	POR PartialOrder
	// ReducedCounterexamples keeps the counterexamples the partial-order
	// reduced search found (real runs, not always the shortest) instead of
	// searching again without reduction: for tests of the reduction.
	ReducedCounterexamples bool
	// BFSProviso applies the partial-order reduction's cycle proviso as
	// the search goes (a state none of whose ample successors is new is
	// expanded fully) instead of checking the reduced graph for cycles
	// after the search (see POR): sound on every graph without a second
	// search, at the cost of many more states where paths of different
	// lengths meet. For tests and comparisons.
	BFSProviso bool
	// Exact stores full states and compares them, instead of 64-bit
	// fingerprints only: no state can be missed, at the cost of the
	// states' bytes. Checks with eventually-properties are always exact
	// (their graph needs the states).
	Exact bool
	// HashSeed seeds the fingerprint function. Counts and verdicts do not
	// depend on it unless two states collide; a run with another seed is
	// an independent trial (Result.CollisionBound).
	HashSeed uint64
}

func (o Options) progressEvery() time.Duration {
	if o.ProgressEvery > 0 {
		return o.ProgressEvery
	}
	return 2 * time.Second
}

// Stats describe an exploration.
type Stats struct {
	States      int           `json:"states"`
	Transitions int           `json:"transitions"`
	Depth       int           `json:"depth"`
	Elapsed     time.Duration `json:"elapsed_ns"`
	// Complete is true when the whole reachable state space was explored.
	Complete bool `json:"complete"`
	// Workers is the number of goroutines that explored.
	Workers int `json:"workers"`
	// Symmetry is true when states were reduced by symmetry: States then
	// counts classes of states.
	Symmetry bool `json:"symmetry,omitempty"`
	// Exact is true when full states were stored and compared, false when
	// the seen set held 64-bit fingerprints.
	Exact bool `json:"exact"`
	// Reduced counts the states expanded through an ample set (partial-
	// order reduction) rather than fully.
	Reduced int `json:"reduced,omitempty"`
	// SeenBytes is the memory of the seen set, the parent links and (for
	// eventually-properties) the graph, and BytesPerState that divided by
	// States. The frontier and the level's candidates are not counted:
	// they hold one or two levels of delta-coded states at a time.
	SeenBytes     int64   `json:"seen_bytes"`
	BytesPerState float64 `json:"bytes_per_state"`
	// ExpandTime, InsertTime and AssembleTime split the time of the
	// parallel explorer's phases: successor generation (parallel), seen
	// set insertion (parallel), next frontier (sequential).
	ExpandTime   time.Duration `json:"expand_ns"`
	InsertTime   time.Duration `json:"insert_ns"`
	AssembleTime time.Duration `json:"assemble_ns"`
}

// A Counterexample is one property's violation: the transition ids from the
// initial state. For an eventually-property, Path[:Loop] leads to a cycle
// Path[Loop:] that returns to the state reached after Path[:Loop] (a
// lasso); Loop == len(Path) means the run ends there with no successor.
// For other properties Loop is -1.
type Counterexample struct {
	Property string `json:"property"`
	Kind     Kind   `json:"kind"`
	Path     []int32
	Loop     int
}

// A Result is the outcome of Check.
type Result struct {
	Verdict    Verdict
	Violations []Counterexample
	Stats      Stats
	// Reason says why the verdict is unknown.
	Reason string
	// Notes say which requested reductions were not used, and why.
	Notes []string
	// CollisionBound, for an exploration through fingerprints, bounds the
	// probability that a state was missed: n(n-1)/2^65 for n states, the
	// chance that two of them share a 64-bit fingerprint if the seeded
	// fingerprint behaves as a random function. It is computed from the
	// states found (if one was missed, the true n is larger). 0 when
	// Exact.
	CollisionBound float64
	// Err is an internal error: a counterexample of the symmetry-reduced
	// search that is not a run of the model (the symmetry is not one), or
	// a *CheckpointError (a checkpoint that could not be written, or that
	// Options.Resume cannot continue from). The verdict is then unknown.
	Err error
	// Checkpoint is the last checkpoint written (Options.Checkpoint), and
	// Resumed the one the check continued from; nil when none.
	Checkpoint, Resumed *CheckpointInfo
}
