package checker

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// toy is a small hand-written Model: a state is a few counters, and each
// actor may increment its own counter up to a limit (or, with loop, wrap
// around to 0, making cycles).
type toy struct {
	limits []byte
	loop   []bool
	fair   []bool
	fault  []bool
	// quiescent, when set, decides which dead ends are acceptable.
	quiescent func(st []byte) bool
}

func (m *toy) Size() int            { return len(m.limits) }
func (m *toy) InitialState() []byte { return make([]byte, len(m.limits)) }
func (m *toy) NumActors() int       { return len(m.limits) }
func (m *toy) ActorFair(a int) bool { return m.fair[a] }
func (m *toy) Quiescent(st []byte) bool {
	if m.quiescent != nil {
		return m.quiescent(st)
	}
	return true
}

// Transition ids: actor a's increment is 2a, its wrap-around 2a+1.
func (m *toy) Next(st, next []byte, yield func(id, actor int32, fault bool, next []byte) bool) {
	for a := range m.limits {
		switch {
		case st[a] < m.limits[a]:
			copy(next, st)
			next[a]++
			if !yield(int32(2*a), int32(a), m.fault[a], next) {
				return
			}
		case m.loop[a]:
			copy(next, st)
			next[a] = 0
			if !yield(int32(2*a+1), int32(a), m.fault[a], next) {
				return
			}
		}
	}
}

func newToy(limits ...byte) *toy {
	n := len(limits)
	return &toy{limits: limits, loop: make([]bool, n), fair: make([]bool, n), fault: make([]bool, n)}
}

func TestInvariantShortestCounterexample(t *testing.T) {
	m := newToy(3, 2)
	res := Check(m, []Property{{Name: "sum-below-4", Kind: Invariant, State: func(st []byte) bool { return st[0]+st[1] < 4 }}}, Options{})
	if res.Verdict != Violation {
		t.Fatalf("verdict = %s; want violation", res.Verdict)
	}
	// Breadth-first: the first state with sum 4 is at depth 4.
	if got := len(res.Violations[0].Path); got != 4 {
		t.Errorf("counterexample has %d steps; want 4 (shortest)", got)
	}
	if res.Violations[0].Loop != -1 {
		t.Errorf("Loop = %d; want -1 for an invariant", res.Violations[0].Loop)
	}
}

func TestOkExploresEverything(t *testing.T) {
	m := newToy(3, 2)
	res := Check(m, []Property{{Name: "true", Kind: Invariant, State: func([]byte) bool { return true }}}, Options{})
	want := Stats{States: 12, Transitions: 17, Depth: 5, Complete: true}
	got := Stats{States: res.Stats.States, Transitions: res.Stats.Transitions, Depth: res.Stats.Depth, Complete: res.Stats.Complete}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stats mismatch (-want +got):\n%s", diff)
	}
	if res.Verdict != Ok {
		t.Errorf("verdict = %s; want ok", res.Verdict)
	}
}

func TestStepInvariant(t *testing.T) {
	m := newToy(3, 2)
	// Actor 1 may not step while actor 0's counter is 0.
	p := Property{Name: "order", Kind: StepInvariant, Step: func(pre []byte, id int32, post []byte) bool { return !(id == 2 && pre[0] == 0) }}
	res := Check(m, []Property{p}, Options{})
	if res.Verdict != Violation {
		t.Fatalf("verdict = %s; want violation", res.Verdict)
	}
	if diff := cmp.Diff([]int32{2}, res.Violations[0].Path); diff != "" {
		t.Errorf("path mismatch (-want +got):\n%s", diff)
	}
}

// countedToy is a toy that counts its transition ids, so that the
// checker asks a step invariant's Judges.
type countedToy struct{ *toy }

func (m countedToy) NumTransitions() int { return 2 * len(m.limits) }

// TestStepJudges: a step invariant is called only on the transitions its
// Judges names, so one that fails on every step passes when it judges
// none, and fails first where it judges.
func TestStepJudges(t *testing.T) {
	m := countedToy{newToy(3, 2)}
	calls := 0
	fails := func(judged int32) Property {
		return Property{Name: "fails", Kind: StepInvariant,
			Step:   func([]byte, int32, []byte) bool { calls++; return false },
			Judges: func(id int32) bool { return id == judged }}
	}
	if res := Check(m, []Property{fails(-1)}, Options{Workers: 1}); res.Verdict != Ok || calls != 0 {
		t.Errorf("judging no step: verdict %s after %d calls; want ok after 0", res.Verdict, calls)
	}
	res := Check(m, []Property{fails(2)}, Options{Workers: 1})
	if res.Verdict != Violation {
		t.Fatalf("judging actor 1's increment: verdict %s; want violation", res.Verdict)
	}
	if diff := cmp.Diff([]int32{2}, res.Violations[0].Path); diff != "" {
		t.Errorf("path mismatch (-want +got):\n%s", diff)
	}
	// A model that does not count its transitions: Judges is not used.
	if res := Check(m.toy, []Property{fails(-1)}, Options{Workers: 1}); res.Verdict != Violation {
		t.Errorf("without NumTransitions: verdict %s; want violation", res.Verdict)
	}
}

func TestDeadlock(t *testing.T) {
	m := newToy(3, 2)
	m.quiescent = func(st []byte) bool { return st[0] == 0 } // the end (3,2) is not quiescent
	res := Check(m, []Property{{Name: "deadlock", Kind: Deadlock}}, Options{})
	if res.Verdict != Violation || len(res.Violations[0].Path) != 5 {
		t.Fatalf("got %s with %v; want a deadlock after 5 steps", res.Verdict, res.Violations)
	}
	m.quiescent = nil
	if res := Check(m, []Property{{Name: "deadlock", Kind: Deadlock}}, Options{}); res.Verdict != Ok {
		t.Errorf("verdict = %s; want ok when the end is quiescent", res.Verdict)
	}
}

func TestMaxStatesGivesUnknown(t *testing.T) {
	m := newToy(50, 50)
	res := Check(m, []Property{{Name: "true", Kind: Invariant, State: func([]byte) bool { return true }}}, Options{MaxStates: 100})
	if res.Verdict != Unknown || res.Stats.Complete || res.Reason == "" {
		t.Errorf("got verdict %s, complete %v, reason %q; want unknown, incomplete, with a reason", res.Verdict, res.Stats.Complete, res.Reason)
	}
	if res.Stats.States < 100 || res.Stats.States > 200 {
		t.Errorf("explored %d states; want about 100", res.Stats.States)
	}
}

func TestCancelGivesUnknown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m := newToy(100, 100)
	res := Check(m, []Property{{Name: "true", Kind: Invariant, State: func([]byte) bool { return true }}}, Options{Context: ctx})
	if res.Verdict != Unknown {
		t.Errorf("verdict = %s; want unknown", res.Verdict)
	}
}

// TestEventuallyWeakFairness: actor 0 cycles forever; actor 1 can take one
// step, after which P holds. With actor 1 fair, every fair run takes that
// step: ◇P holds. Without fairness, actor 0's cycle is a counterexample.
func TestEventuallyWeakFairness(t *testing.T) {
	done := Property{Name: "done", Kind: Eventually, State: func(st []byte) bool { return st[1] == 1 }}
	m := newToy(2, 1)
	m.loop[0] = true
	m.fair = []bool{true, true}
	if res := Check(m, []Property{done}, Options{}); res.Verdict != Ok {
		t.Fatalf("fair: verdict = %s (%v); want ok", res.Verdict, res.Violations)
	}
	m.fair = []bool{true, false}
	res := Check(m, []Property{done}, Options{})
	if res.Verdict != Violation {
		t.Fatalf("unfair: verdict = %s; want violation", res.Verdict)
	}
	v := res.Violations[0]
	if v.Loop < 0 || v.Loop >= len(v.Path) {
		t.Fatalf("Loop = %d with %d steps; want a cycle", v.Loop, len(v.Path))
	}
	// Replay: the cycle must return to the state it starts from and never
	// satisfy P.
	st := m.InitialState()
	var loopStart []byte
	for i, id := range v.Path {
		if i == v.Loop {
			loopStart = append([]byte(nil), st...)
		}
		st = step(t, m, st, id)
		if done.State(st) {
			t.Fatalf("P holds after step %d of the counterexample", i+1)
		}
	}
	if diff := cmp.Diff(loopStart, st); diff != "" {
		t.Errorf("cycle does not return to its start (-start +end):\n%s", diff)
	}
}

// TestEventuallyFaultsAreFinite: a cycle made only of fault steps is not a
// counterexample (faults happen finitely often).
func TestEventuallyFaultsAreFinite(t *testing.T) {
	done := Property{Name: "done", Kind: Eventually, State: func(st []byte) bool { return st[1] == 1 }}
	m := newToy(2, 1)
	m.loop[0] = true
	m.fault[0] = true
	m.fair = []bool{true, true}
	if res := Check(m, []Property{done}, Options{}); res.Verdict != Ok {
		t.Fatalf("verdict = %s (%v); want ok", res.Verdict, res.Violations)
	}
}

// TestEventuallyDeadEnd: a run that stops before P holds violates ◇P.
func TestEventuallyDeadEnd(t *testing.T) {
	m := newToy(2)
	m.fair = []bool{true}
	res := Check(m, []Property{{Name: "never", Kind: Eventually, State: func(st []byte) bool { return st[0] == 9 }}}, Options{})
	if res.Verdict != Violation {
		t.Fatalf("verdict = %s; want violation", res.Verdict)
	}
	if v := res.Violations[0]; v.Loop != len(v.Path) || len(v.Path) != 2 {
		t.Errorf("got path %v loop %d; want 2 steps ending in a dead end (loop == len)", v.Path, v.Loop)
	}
}

func step(t *testing.T, m Model, st []byte, id int32) []byte {
	t.Helper()
	var out []byte
	m.Next(st, make([]byte, len(st)), func(got, _ int32, _ bool, next []byte) bool {
		if got == id {
			out = append([]byte(nil), next...)
			return false
		}
		return true
	})
	if out == nil {
		t.Fatalf("transition %d not enabled in %v", id, st)
	}
	return out
}

// TestProgress: long runs report progress with growing statistics.
func TestProgress(t *testing.T) {
	m := newToy(200, 200)
	var calls []Stats
	res := Check(m, []Property{{Name: "true", Kind: Invariant, State: func([]byte) bool { return true }}},
		Options{ProgressEvery: 1, Progress: func(p Progress) { calls = append(calls, p.Stats) }})
	if res.Stats.States != 201*201 {
		t.Fatalf("explored %d states; want %d", res.Stats.States, 201*201)
	}
	if len(calls) == 0 {
		t.Fatal("Progress was never called")
	}
	for i := 1; i < len(calls); i++ {
		if calls[i].States < calls[i-1].States {
			t.Errorf("progress went backwards: %d then %d states", calls[i-1].States, calls[i].States)
		}
	}
}

// TestFaultOnlyStateIsStuck: faults are optional, so a state whose only
// move is a fault is stuck: a deadlock unless quiescent, and the end of
// a run for an eventually-property. One actor whose single step is a
// fault.
func TestFaultOnlyStateIsStuck(t *testing.T) {
	m := newToy(1)
	m.fair = []bool{true}
	m.fault = []bool{true}
	m.quiescent = func(st []byte) bool { return st[0] == 1 }
	res := Check(m, []Property{{Name: "deadlock", Kind: Deadlock}}, Options{})
	if res.Verdict != Violation || len(res.Violations[0].Path) != 0 {
		t.Errorf("deadlock: got %s with %v; want a deadlock in the initial state", res.Verdict, res.Violations)
	}
	done := Property{Name: "done", Kind: Eventually, State: func(st []byte) bool { return st[0] == 1 }}
	res = Check(m, []Property{done}, Options{})
	if res.Verdict != Violation {
		t.Fatalf("eventually: verdict %s; want a violation (the fault need not happen)", res.Verdict)
	}
	if v := res.Violations[0]; len(v.Path) != 0 || v.Loop != 0 {
		t.Errorf("eventually: got path %v loop %d; want the run that stops in the initial state", v.Path, v.Loop)
	}
}

// TestProgressSaysRateMemoryCheckpoint: the reports carry the rate, the
// memory in use against the budget, and the last checkpoint written.
func TestProgressSaysRateMemoryCheckpoint(t *testing.T) {
	m := newToy(30, 30)
	var reps []Progress
	file := filepath.Join(t.TempDir(), "p.xbckpt")
	res := Check(m, []Property{{Name: "true", Kind: Invariant, State: func([]byte) bool { return true }}},
		Options{ProgressEvery: 1, Progress: func(p Progress) { reps = append(reps, p) }, MemoryBudget: 1 << 40,
			Checkpoint: file, CheckpointEvery: 1})
	if res.Verdict != Ok || len(reps) == 0 {
		t.Fatalf("verdict %s, %d reports; want ok with reports", res.Verdict, len(reps))
	}
	var rate, ckpt bool
	for _, p := range reps {
		if p.Memory <= 0 || p.Budget != 1<<40 || p.Expanded > p.Frontier {
			t.Fatalf("report %+v: want memory > 0, the budget, expanded <= frontier", p)
		}
		rate = rate || p.Rate > 0
		if p.Checkpoint != nil {
			ckpt = true
			if p.Checkpoint.Path != file || p.Checkpoint.Depth > p.Depth {
				t.Errorf("report at depth %d names checkpoint %+v", p.Depth, *p.Checkpoint)
			}
		}
	}
	if !rate || !ckpt {
		t.Errorf("no report with a rate (%v) or with a checkpoint (%v)", rate, ckpt)
	}
}
