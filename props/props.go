// Package props is the catalogue of named properties xbcheck checks: the
// properties of the seed bugs (xenbus-protocol.md section 9) and the
// generic ones (deadlock, completion, connection). Each is a reusable
// predicate built for a compiled model.System and handed to the checker.
//
// Everything about a property lives in its one Def: its name, kind and
// documentation, its predicate, the state it reads (for partial-order
// reduction) and its SPIN translation. Adding a property is adding a Def
// to seedProperties (seed.go), securityProperties (security.go) or
// genericProperties (generic.go); the
// scenario files' validation, the checker, the exporters and the tests
// take the names from here.
package props

import (
	"fmt"
	"sort"
	"strings"

	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/model"
)

// A Def defines one property for any system.
type Def struct {
	Name string
	Kind checker.Kind
	// Doc says what the property means and where it comes from.
	Doc string
	// Symmetric says the predicate treats interchangeable devices alike
	// (it looks at every device the same way), so that symmetry reduction
	// is sound for it; TestSymmetricPropertiesAreSymmetric checks it on
	// the scenarios with symmetry groups.
	Symmetric bool
	// step is a step invariant's predicate: it holds for the step from
	// pre to post by transition t. by says whose steps it judges.
	step func(s *model.System, pre model.State, t *model.Transition, post model.State) bool
	by   stepsOf
	// make builds any other property's predicate for a system.
	make func(s *model.System) checker.Property
	// reads, for a safety property, lists the state offsets its predicate
	// reads and says whether it inspects transitions' marks: partial-order
	// reduction keeps every transition that writes one of these, or
	// carries a mark, out of its ample sets. TestPropertyReadsAreComplete
	// ties it to the predicate: changing any other byte of a reachable
	// step never changes the predicate's value. Eventually-properties
	// have none (the checker never reduces a search that has one).
	reads func(s *model.System, add func(off int)) (marks bool)
	// stepReads, when set (step invariants only), refines reads per
	// transition for partial-order reduction (model.Visibility.Steps): it
	// lists what the predicate reads on a step by t, so that its value on
	// such a step, taken in any state where t is enabled with the state
	// after it being t's result, is a function of these bytes of the
	// state before; nothing for a step it cannot fail on. Then the
	// reduction need only keep these bytes from changing around t's own
	// steps instead of keeping every writer of reads out of its sets.
	// TestStepReadsAreComplete ties it to the predicate; reads stays the
	// union, for the other users of Visible.
	stepReads func(s *model.System, t *model.Transition, add func(off int))
	// promela, for a step invariant, is its translation for SPIN: the
	// conditions the predicate checks on a step, all of which must hold,
	// written over the bytes before and after it (model.PromelaCheck).
	// bench's TestSPINFindsTheSameViolations checks that SPIN finds what
	// the checker finds.
	promela func(s *model.System, t, body *model.Transition, pre, post func(int) string) []string
}

// catalogue lists every property, the seed properties first, then the
// security properties (security.go), in the order a scenario's error
// messages list them.
var catalogue = append(append(append([]Def(nil), seedProperties...), securityProperties...), genericProperties...)

// Defs lists every property, by name.
var Defs = func() map[string]Def {
	m := make(map[string]Def, len(catalogue))
	for _, d := range catalogue {
		m[d.Name] = d
	}
	return m
}()

// Listed returns the property names in catalogue order: the seed
// properties (section 9's P and S properties), then the generic ones.
func Listed() []string {
	n := make([]string, len(catalogue))
	for i, d := range catalogue {
		n[i] = d.Name
	}
	return n
}

// Names returns the property names sorted.
func Names() []string {
	n := Listed()
	sort.Strings(n)
	return n
}

// Visible returns the state offsets the named safety properties read and
// whether any inspects marks, for partial-order reduction. Eventually-
// properties are left out: the checker never reduces a search that has
// one. ok is false for an unknown property.
func Visible(s *model.System, names []string) (offs map[int]bool, marks, ok bool) {
	offs = map[int]bool{}
	for _, n := range names {
		d, known := Defs[n]
		if known && d.Kind == checker.Eventually {
			continue
		}
		if d.reads == nil {
			return nil, false, false
		}
		if d.reads(s, func(o int) { offs[o] = true }) {
			marks = true
		}
	}
	return offs, marks, true
}

// VisibilityOf returns what the named properties read, for partial-order
// reduction: the step invariants that declare per-step reads (Def's
// stepReads) per transition, the others' reads (as Visible) in Offsets
// and Marks. ok is false for an unknown property.
func VisibilityOf(s *model.System, names []string) (v model.Visibility, ok bool) {
	v.Offsets = map[int]bool{}
	for _, n := range names {
		d, known := Defs[n]
		if known && d.Kind == checker.Eventually {
			continue
		}
		if d.stepReads != nil {
			if v.Steps == nil {
				v.Steps = make([][]int, len(s.Trans))
			}
			for ti := range s.Trans {
				d.stepReads(s, &s.Trans[ti], func(o int) { v.Steps[ti] = append(v.Steps[ti], o) })
			}
			continue
		}
		if d.reads == nil {
			return model.Visibility{}, false
		}
		if d.reads(s, func(o int) { v.Offsets[o] = true }) {
			v.Marks = true
		}
	}
	return v, true
}

// Build returns the named properties for s.
func Build(s *model.System, names []string) ([]checker.Property, error) {
	var out []checker.Property
	for _, n := range names {
		d, ok := Defs[n]
		if !ok {
			return nil, fmt.Errorf("unknown property %q (known: %s)", n, strings.Join(Names(), ", "))
		}
		var p checker.Property
		if d.step != nil {
			p = stepProp(s, d.step, d.by)
			p.Judges = judges(s, d)
		} else {
			p = d.make(s)
		}
		p.Name, p.Kind, p.Doc, p.Symmetric = d.Name, d.Kind, d.Doc, d.Symmetric
		out = append(out, p)
	}
	return out, nil
}

// stepsOf says whose steps a step invariant judges; on the other steps its
// predicate and its SPIN translation hold without looking.
type stepsOf int

const (
	allSteps       stepsOf = iota
	toolstackSteps         // the toolstack actors' steps only
	otherSteps             // every step but the toolstack actors'
)

// judges reports whether the step by t is one w judges.
func (w stepsOf) judges(s *model.System, t *model.Transition) bool {
	switch w {
	case toolstackSteps:
		return byToolstack(s, t)
	case otherSteps:
		return !byToolstack(s, t)
	}
	return true
}

func stepProp(s *model.System, f func(s *model.System, pre model.State, t *model.Transition, post model.State) bool, by stepsOf) checker.Property {
	return checker.Property{Step: func(pre []byte, id int32, post []byte) bool {
		t := &s.Trans[id]
		return !by.judges(s, t) || f(s, pre, t, post)
	}}
}

// judges is step invariant d's Property.Judges on s: the transitions its
// by says it judges and, when it declares per-step reads, that it reads
// something on (stepReads lists nothing for a step it cannot fail on;
// TestStepReadsAreComplete checks that it holds on those).
func judges(s *model.System, d Def) func(id int32) bool {
	j := make([]bool, len(s.Trans))
	for id := range s.Trans {
		t := &s.Trans[id]
		if !d.by.judges(s, t) {
			continue
		}
		if d.stepReads == nil {
			j[id] = true
			continue
		}
		d.stepReads(s, t, func(int) { j[id] = true })
	}
	return func(id int32) bool { return j[id] }
}

func stateProp(f func(st model.State) bool) checker.Property {
	return checker.Property{State: func(st []byte) bool { return f(st) }}
}

// forOps calls f for every operation t applies when taken in pre.
func forOps(s *model.System, pre model.State, t *model.Transition, f func(op *model.Op)) {
	body, own := s.EffectiveOps(pre, t)
	for i := range body {
		f(&body[i])
	}
	for i := range own {
		f(&own[i])
	}
}

// byToolstack reports whether t is a toolstack actor's step.
func byToolstack(s *model.System, t *model.Transition) bool {
	return s.Actors[t.Actor].Kind == model.Toolstack
}

// created reports whether node p is missing before a step and there after.
func created(s *model.System, pre, post model.State, p model.PathID) bool {
	return !s.Exists(pre, p) && s.Exists(post, p)
}

func toolstack(s *model.System) []int {
	var ts []int
	for i := range s.Actors {
		if s.Actors[i].Kind == model.Toolstack {
			ts = append(ts, i)
		}
	}
	return ts
}

// What deviceReads declares besides the devices' nodes.
const (
	withTxns  = 1 << iota // the toolstack's open transactions (toolstackTxns)
	withMarks             // the transitions' marks
)

// deviceReads declares that a property reads the nodes paths picks of
// every device, and what also says (withTxns, withMarks).
func deviceReads(also int, paths ...func(d *model.Device) model.PathID) func(s *model.System, add func(int)) bool {
	return func(s *model.System, add func(int)) bool {
		for i := range s.Devices {
			for _, p := range paths {
				add(s.PathOffset(p(&s.Devices[i])))
			}
		}
		if also&withTxns != 0 {
			toolstackTxns(s, add)
		}
		return also&withMarks != 0
	}
}

// The nodes of a device that properties read.
func feDir(d *model.Device) model.PathID   { return d.FEDir }
func beDir(d *model.Device) model.PathID   { return d.BEDir }
func beState(d *model.Device) model.PathID { return d.BEState }

// commitTxn adds, when t is a commit, its actor's open-transaction record:
// which body the commit applies (forOps, and what the step leaves in the
// store).
func commitTxn(s *model.System, t *model.Transition, add func(int)) {
	if t.Kind == model.Commit {
		for _, o := range s.TxnOffsets(t.Actor) {
			add(o)
		}
	}
}

// toolstackTxns adds the open-transaction records of the toolstack's
// actors: a predicate that looks at the operations a step applies
// (forOps) reads which body a commit applies from there.
func toolstackTxns(s *model.System, add func(int)) {
	for _, a := range toolstack(s) {
		for _, o := range s.TxnOffsets(a) {
			add(o)
		}
	}
}
