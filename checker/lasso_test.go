package checker

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// twoLoops is a model with two fair cycles at the same distance from the
// initial state: from 0, actor 0 goes to 1 and actor 1 to 2; then actor 0
// cycles 1 → 3 → 1 and actor 1 cycles 2 → 4 → 2. P never holds, so both
// cycles are counterexamples of ◇P.
type twoLoops struct{}

func (twoLoops) Size() int                { return 1 }
func (twoLoops) InitialState() []byte     { return []byte{0} }
func (twoLoops) Quiescent(st []byte) bool { return true }
func (twoLoops) NumActors() int           { return 2 }
func (twoLoops) ActorFair(a int) bool     { return true }
func (twoLoops) Next(st, next []byte, yield func(id, actor int32, fault bool, next []byte) bool) {
	step := map[byte][][2]int32{ // state → (actor, next state)
		0: {{0, 1}, {1, 2}},
		1: {{0, 3}}, 3: {{0, 1}},
		2: {{1, 4}}, 4: {{1, 2}},
	}
	for _, s := range step[st[0]] {
		next[0] = byte(s[1])
		if !yield(int32(st[0])*10+s[1], s[0], false, next) {
			return
		}
	}
}

// TestLassoDeterministic: the counterexample of an eventually-property is
// the same on every run and for every number of workers (components are
// examined in a fixed order, ties go to the smallest state index).
func TestLassoDeterministic(t *testing.T) {
	never := Property{Name: "never", Kind: Eventually, State: func([]byte) bool { return false }}
	var want *Counterexample
	for run := 0; run < 50; run++ {
		for _, w := range []int{1, 2, 3, 8} {
			res := Check(twoLoops{}, []Property{never}, Options{Workers: w})
			if res.Verdict != Violation {
				t.Fatalf("verdict %s; want a violation", res.Verdict)
			}
			got := res.Violations[0]
			if want == nil {
				want = &got
				continue
			}
			if diff := cmp.Diff(*want, got); diff != "" {
				t.Fatalf("run %d, %d workers: another lasso (-first +now):\n%s", run, w, diff)
			}
		}
	}
	// The smallest entry index: state 1 (actor 0's branch).
	if diff := cmp.Diff([]int32{1, 13, 31}, want.Path); diff != "" || want.Loop != 1 {
		t.Errorf("lasso %v loop %d; want [1 13 31] loop 1 (%s)", want.Path, want.Loop, diff)
	}
}

// TestEventuallyUsesTheCore: bounds, the memory budget, progress and
// cancellation act on a check with an eventually-property as on any
// other, since the same explorer serves it.
func TestEventuallyUsesTheCore(t *testing.T) {
	never := Property{Name: "never", Kind: Eventually, State: func(st []byte) bool { return st[0] == 255 }}
	m := newToy(50, 50)
	m.fair = []bool{true, true}
	res := Check(m, []Property{never}, Options{MaxStates: 100})
	if res.Verdict != Unknown || res.Reason != "state bound reached" || res.Stats.States < 100 || res.Stats.States > 200 {
		t.Errorf("MaxStates: %s (%s) after %d states; want unknown, state bound, about 100", res.Verdict, res.Reason, res.Stats.States)
	}
	res = Check(m, []Property{never}, Options{MemoryBudget: 10_000})
	if res.Verdict != Unknown || res.Stats.Complete {
		t.Errorf("MemoryBudget: %s (%s); want unknown", res.Verdict, res.Reason)
	}
	var calls int
	res = Check(newToy(200, 200), []Property{never}, Options{ProgressEvery: 1, Progress: func(Progress) { calls++ }, Workers: 2})
	if calls == 0 || res.Stats.Workers != 2 || !res.Stats.Exact {
		t.Errorf("progress calls %d, workers %d, exact %v; want calls, 2 workers, exact", calls, res.Stats.Workers, res.Stats.Exact)
	}
}

// falseTwins claims states 1 and 2 are symmetric, but only 2 has a
// successor: 0 → 1 (id 1), 0 → 2 (id 2), 2 → 3 (id 3).
type falseTwins struct{}

func (falseTwins) Size() int                { return 1 }
func (falseTwins) InitialState() []byte     { return []byte{0} }
func (falseTwins) Quiescent(st []byte) bool { return true }
func (falseTwins) NumActors() int           { return 1 }
func (falseTwins) ActorFair(a int) bool     { return true }
func (falseTwins) Next(st, next []byte, yield func(id, actor int32, fault bool, next []byte) bool) {
	switch st[0] {
	case 0:
		next[0] = 1
		if !yield(1, 0, false, next) {
			return
		}
		next[0] = 2
		yield(2, 0, false, next)
	case 2:
		next[0] = 3
		yield(3, 0, false, next)
	}
}
func (falseTwins) SymmetryCanonicalizer() func(st, dst []byte) {
	return func(st, dst []byte) {
		copy(dst, st)
		if st[0] == 1 {
			dst[0] = 2
		}
	}
}

// TestRealizeFailureIsAnError: a counterexample of the symmetry-reduced
// search that is not a run of the model (the "symmetry" is not one) is an
// internal error with an unknown verdict, never a reduced path passed off
// as a run.
func TestRealizeFailureIsAnError(t *testing.T) {
	not3 := Property{Name: "not-3", Kind: Invariant, Symmetric: true, State: func(st []byte) bool { return st[0] != 3 }}
	res := Check(falseTwins{}, []Property{not3}, Options{Symmetry: true})
	if res.Err == nil || res.Verdict != Unknown || len(res.Violations) != 0 {
		t.Errorf("got verdict %s, err %v, violations %v; want unknown with an error", res.Verdict, res.Err, res.Violations)
	}
	if res := Check(falseTwins{}, []Property{not3}, Options{}); res.Verdict != Violation || res.Err != nil {
		t.Errorf("unreduced: %s, %v; want the violation 0 → 2 → 3", res.Verdict, res.Err)
	}
}

// TestPORCycleProviso: an ample set that always picks actor 0, which
// cycles 0 → 1 → 0, would postpone actor 1's step forever (the ignoring
// problem); the cycle proviso expands a state fully when an ample
// successor was seen already, so the violation by actor 1 is found.
func TestPORCycleProviso(t *testing.T) {
	m := newToy(1, 1)
	m.loop[0] = true
	m.fair = []bool{true, true}
	ample := func(st, next []byte, yield func(id, actor int32, fault bool, next []byte) bool) bool {
		m.Next(st, next, func(id, actor int32, fault bool, n []byte) bool {
			if actor == 0 {
				return yield(id, actor, fault, n)
			}
			return true
		})
		return true
	}
	p := Property{Name: "actor-1-idle", Kind: Invariant, State: func(st []byte) bool { return st[1] == 0 }}
	res := Check(m, []Property{p}, Options{POR: ampleFunc(ample), ReducedCounterexamples: true})
	if res.Verdict != Violation {
		t.Errorf("verdict %s; want the violation by actor 1", res.Verdict)
	}
}

// ampleFunc is a PartialOrder made of a function, for tests.
type ampleFunc func(st, next []byte, yield func(id, actor int32, fault bool, next []byte) bool) bool

func (f ampleFunc) NewAmple() func(st, next []byte, isNew func([]byte) bool, yield func(id, actor int32, fault bool, next []byte) bool) bool {
	return func(st, next []byte, _ func([]byte) bool, yield func(id, actor int32, fault bool, next []byte) bool) bool {
		return f(st, next, yield)
	}
}
