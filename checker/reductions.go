package checker

import fp "github.com/xbcheck/xbcheck/internal/fingerprint"

// The reductions a model may offer the checker, each an interface of its
// own. The checker asks for nothing else: a model is explored unreduced
// unless it implements Symmetric (and Options.Symmetry asks for it), and
// a partial-order reduction is used only when Options.POR gives one.
// *model.System implements Symmetric, TransitionCounter and WriteMasker
// (model/canonical.go, model/next.go); *model.POR implements PartialOrder
// (model/por.go).

// A Symmetric model has a symmetry: a group of permutations of its states
// that maps transitions to transitions (a successor of st to a successor
// of st's image, faults to faults, with actors permuted alike) and keeps
// Quiescent. The checker then explores one state per class of states
// equal up to the group (Options.Symmetry).
type Symmetric interface {
	// SymmetryCanonicalizer returns a function, for one goroutine, writing
	// into dst the canonical representative of st's class: the same state
	// for every member of the class. nil: the model has no symmetry.
	SymmetryCanonicalizer() func(st, dst []byte)
}

// A PartialOrder is a partial-order reduction for the safety properties
// (Options.POR).
type PartialOrder interface {
	// NewAmple returns the reduction's ample-set function for one
	// goroutine (each worker calls NewAmple once, so the function may keep
	// scratch space of its own). In state st the function yields the
	// transitions of an ample set, as Model.Next does (next is the buffer
	// to write the successor into), and returns true; or returns false,
	// yielding nothing, for a full expansion. isNew, under the
	// breadth-first cycle proviso (Options.BFSProviso), says whether a
	// successor is new (not found at the level being expanded or before),
	// so that the reduction can prefer an ample set with a new successor
	// to a full expansion; it is nil when the checker checks for cycles
	// after the search instead (the default), and any ample set will do.
	//
	// An ample set must be a persistent set whose transitions are
	// invisible to the properties checked: no transition outside it,
	// from st on, depends on one inside it until one inside it is taken,
	// and none inside it changes what a property reads. The checker adds
	// the rest: no cycle of the reduced graph without a fully expanded
	// state (the cycle proviso, see Options.POR), and an
	// ample set without a transition that is not a fault is not used (a
	// state whose only transitions are faults is stuck, which the
	// reduction must not hide).
	NewAmple() func(st, next []byte, isNew func(next []byte) bool, yield func(id, actor int32, fault bool, next []byte) bool) bool
}

// A TransitionCounter is a model that says how many transition ids it
// uses (ids are 0 to NumTransitions()-1). The checker then stores the
// transition that found each state in 16 bits when they fit, instead of
// 32.
type TransitionCounter interface {
	NumTransitions() int
}

// narrowIDs reports whether m's transition ids fit in 16 bits.
func narrowIDs(m Model) bool {
	tc, ok := m.(TransitionCounter)
	return ok && tc.NumTransitions() < 1<<16
}

// A WriteMasker is a model that says which 8-byte words of the state each
// transition may change, in any state (bit j: bytes 8j to 8j+7), indexed
// by transition id. The checker then updates a successor's fingerprint
// from its parent's by those words alone, instead of comparing every word
// (fp.Table.UpdateMasked). A mask must cover every word its transition
// changes in some state: a changed word left out would not be hashed, and
// two different states could share a fingerprint.
type WriteMasker interface {
	WriteWords() []uint64
}

// writeWords is m's WriteWords when m offers them for every transition
// id and states of at most fp.MaxDiffWords words; nil otherwise.
func writeWords(m Model, size int) []uint64 {
	wm, ok := m.(WriteMasker)
	tc, ok2 := m.(TransitionCounter)
	if !ok || !ok2 || (size+7)/8 > fp.MaxDiffWords {
		return nil
	}
	if w := wm.WriteWords(); len(w) == tc.NumTransitions() {
		return w
	}
	return nil
}
