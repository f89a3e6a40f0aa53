package checker

import (
	"context"
	"fmt"
	"math"
	"os"
	"time"
)

// Check explores m and checks props. It chooses the reductions (Options
// and the properties decide which are sound here; Result.Notes says why a
// requested one was not used), runs the explorer once, judges the
// eventually-properties on its graph, and turns reduced counterexamples
// into real, shortest runs.
func Check(m Model, props []Property, opt Options) Result {
	start := time.Now()
	ctx := opt.Context
	if ctx == nil {
		ctx = context.Background()
	}
	_, _, ev, _ := byKind(props)
	var notes []string
	pl := plan{exact: opt.Exact || len(ev) > 0, graph: len(ev) > 0}
	if opt.Symmetry {
		if sm, ok := m.(Symmetric); ok && sm.SymmetryCanonicalizer() != nil {
			if why := symmetryUnsound(props); why != "" {
				notes = append(notes, "symmetry reduction not used: "+why)
			} else {
				pl.newCanon = sm.SymmetryCanonicalizer
			}
		}
	}
	if opt.POR != nil {
		switch {
		case len(ev) > 0:
			notes = append(notes, fmt.Sprintf("partial-order reduction not used: %s is an eventually-property, and the reduction preserves safety properties only", props[ev[0]].Name))
		default:
			// With symmetry too: the ample set is computed in the
			// representative being expanded and its successors are
			// canonicalized (see Options.POR).
			pl.ample = opt.POR
			pl.cycleCheck = !opt.BFSProviso
		}
	}
	defer tuneGC()()
	var ctl control
	if opt.MemoryBudget > 0 {
		ctl.budget = newBudget(opt.MemoryBudget)
		defer ctl.budget.restore()
	}
	var resumed *CheckpointInfo
	if opt.Resume != "" {
		var limit int64
		if ctl.budget != nil {
			limit = max(1, ctl.budget.limit)
		}
		s, over, err := readCheckpoint(opt.Resume, m, props, newCkHeader(m, props, opt, pl), limit)
		switch {
		case err != nil:
			return finish(Result{Err: err, Notes: notes, Reason: err.Error()}, start)
		case over:
			return finish(Result{Notes: notes, Reason: fmt.Sprintf("memory budget reached: the checkpoint %s does not fit in the %s budget", opt.Resume, MB(opt.MemoryBudget))}, start)
		}
		ctl.resume = s
		resumed = &CheckpointInfo{Path: opt.Resume, Depth: s.depth, States: s.total}
		if fi, err := os.Stat(opt.Resume); err == nil {
			resumed.Bytes, resumed.Time = fi.Size(), fi.ModTime()
		}
		// Elapsed time counts the interrupted runs too.
		start = start.Add(-s.elapsed)
	}
	ctl.prog = startProgress(opt, start)
	defer ctl.prog.close()
	if opt.Checkpoint != "" {
		every := opt.CheckpointEvery
		if every <= 0 {
			every = DefaultCheckpointEvery
		}
		ctl.ck = &checkpointer{path: opt.Checkpoint, every: every, last: time.Now(), head: newCkHeader(m, props, opt, pl), prog: ctl.prog}
	}
	res, g, onCycle := explore(m, props, opt, pl, ctx, start, ctl)
	if onCycle > 0 && (len(res.Violations) == 0 || opt.ReducedCounterexamples) {
		// The reduced states' ample edges close a cycle: a transition
		// left out of every ample set around it may hide a violation
		// (cycle.go). Search again with the proviso applied as the search
		// goes; not checkpointed, as below.
		again := pl
		again.cycleCheck = false
		res, g, _ = explore(m, props, opt, again, ctx, start, control{budget: ctl.budget, prog: ctl.prog})
		notes = append(notes, fmt.Sprintf("partial-order reduction: %d reduced states lie on or after a cycle of reduced states, where a transition could be ignored; searched again with the breadth-first cycle proviso", onCycle))
	}
	res.Notes = notes
	if len(res.Violations) > 0 && pl.reduces() && res.Stats.Reduced > 0 && !opt.ReducedCounterexamples {
		// The reduced graph keeps the verdict, not the shortest runs. This
		// search is not checkpointed: a resumed check finds the violation
		// again in the reduced one first.
		full := pl
		full.ample = nil
		again, _, _ := explore(m, props, opt, full, ctx, start, control{budget: ctl.budget, prog: ctl.prog})
		again.Notes = append(notes, fmt.Sprintf("partial-order reduction found a violation after %d states; searched again without it for the shortest counterexamples", res.Stats.States))
		res = again
	}
	res.Resumed = resumed
	if ctl.ck != nil {
		res.Checkpoint = ctl.ck.info
	}
	if g != nil && res.Stats.Complete {
		for _, pi := range ev {
			if v := eventually(g, props[pi]); v != nil {
				v.Property, v.Kind = props[pi].Name, Eventually
				res.Violations = append(res.Violations, *v)
			}
		}
		res.Violations = inPropertyOrder(props, res.Violations)
	}
	if pl.newCanon != nil {
		for i := range res.Violations {
			v := &res.Violations[i]
			var last func(pre []byte, id int32, post []byte) bool
			for _, p := range props {
				if p.Name == v.Property && p.Kind == StepInvariant {
					last = p.Step
				}
			}
			path, err := realize(m, pl.newCanon(), v.Path, last)
			if err != nil {
				res.Err = fmt.Errorf("counterexample of %s: %w", v.Property, err)
				res.Violations = nil
				res.Stats.Complete = false
				res.Reason = "internal error: " + res.Err.Error()
				break
			}
			v.Path = path
		}
	}
	return finish(res, start)
}

// symmetryUnsound says why symmetry reduction cannot be used for props,
// or returns "".
func symmetryUnsound(props []Property) string {
	for _, p := range props {
		switch {
		case p.Kind == Eventually:
			return fmt.Sprintf("%s is an eventually-property: weak fairness is per actor, and the quotient merges the actors it permutes (it would need Emerson and Sistla's annotated quotient); explored unreduced", p.Name)
		case p.Kind != Deadlock && !p.Symmetric:
			return fmt.Sprintf("property %s does not declare that it treats symmetric states alike", p.Name)
		}
	}
	return ""
}

// inPropertyOrder sorts violations by the order of their properties.
func inPropertyOrder(props []Property, vs []Counterexample) []Counterexample {
	var out []Counterexample
	for _, p := range props {
		for _, v := range vs {
			if v.Property == p.Name {
				out = append(out, v)
			}
		}
	}
	return out
}

// finish sets the verdict, the collision bound and the elapsed time.
func finish(res Result, start time.Time) Result {
	stats := &res.Stats
	stats.Elapsed = time.Since(start)
	switch {
	case res.Err != nil:
		res.Verdict = Unknown
	case len(res.Violations) > 0:
		res.Verdict = Violation
	case !stats.Complete:
		res.Verdict = Unknown
		if res.Reason == "" {
			res.Reason = "exploration incomplete"
		}
	default:
		res.Verdict = Ok
	}
	if !stats.Exact {
		res.CollisionBound = CollisionBound(stats.States)
	}
	return res
}

// CollisionBound is the probability that two of n states share a 64-bit
// fingerprint, for a fingerprint that behaves as a random function:
// at most n(n-1)/2 pairs, each colliding with probability 2^-64.
func CollisionBound(n int) float64 {
	f := float64(n)
	return f * (f - 1) / 2 * math.Pow(2, -64)
}

// byKind splits the properties' indexes by kind; deadlock is -1 when not
// checked.
func byKind(props []Property) (inv, step, ev []int, deadlock int) {
	deadlock = -1
	for i, p := range props {
		switch p.Kind {
		case Invariant:
			inv = append(inv, i)
		case StepInvariant:
			step = append(step, i)
		case Deadlock:
			deadlock = i
		case Eventually:
			ev = append(ev, i)
		}
	}
	return inv, step, ev, deadlock
}

// realize turns a path of the symmetry-reduced search (each step taken
// from a representative, its result canonicalized) into a run of the
// model: at each step it takes, from the real state, a transition whose
// result has the same representative (one exists when canon is a
// symmetry of the model). When last is set, the final step must also
// violate it. A step with no such transition is an error: the reduction
// was not a symmetry, and its verdict cannot be trusted.
func realize(m Model, canon func(st, dst []byte), ids []int32, last func(pre []byte, id int32, post []byte) bool) ([]int32, error) {
	size := m.Size()
	init := m.InitialState()
	c := make([]byte, size)
	canon(init, c)
	r := init
	buf, want, got := make([]byte, size), make([]byte, size), make([]byte, size)
	out := make([]int32, 0, len(ids))
	for k, id := range ids {
		// The representative after this step.
		found := false
		m.Next(c, buf, func(tid, _ int32, _ bool, next []byte) bool {
			if tid == id {
				found = true
				canon(next, want)
				return false
			}
			return true
		})
		if !found {
			return nil, fmt.Errorf("step %d: transition %d is not enabled in the representative", k+1, id)
		}
		var nr []byte
		final := k == len(ids)-1 && last != nil
		m.Next(r, buf, func(tid, _ int32, _ bool, next []byte) bool {
			canon(next, got)
			if string(got) != string(want) {
				return true
			}
			if final && last(r, tid, next) {
				return true
			}
			out = append(out, tid)
			nr = append([]byte(nil), next...)
			return false
		})
		if nr == nil {
			return nil, fmt.Errorf("step %d: no transition of the real run leads to the class transition %d leads to", k+1, id)
		}
		r = nr
		copy(c, want)
	}
	return out, nil
}
