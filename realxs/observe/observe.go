// Package observe is the executor's observed mode: some actors of a
// scenario are played by the executor (it performs their transitions, as
// in package exec), the others by real components (on a Xen host, the
// kernel's blkback, say). The observer watches the run's subtree and
// checks that every change it sees is explained by transitions of the
// observed actors that the model allows from the current state,
// reporting the first change that is not.
//
// A real component's step is not atomic: blkback writes sectors in one
// transaction and its state in another. The observer therefore waits up
// to Options.Settle for a change to become explainable before it reports
// it, and explains a change by a sequence of up to Options.Depth
// transitions (steps that change nothing in xenstore included). Only the
// model's own paths are compared: real components write keys the model
// leaves out (docs/model.md, simplification 5).
package observe

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/realxs/conform"
	"github.com/xbcheck/xbcheck/realxs/exec"
)

// Options configure a run.
type Options struct {
	// Observed names the actors that real components play.
	Observed []string
	// Settle bounds how long a change may stay unexplained (default 2 s),
	// and how long the observer waits for an observed actor to act when
	// the executor has nothing to play.
	Settle time.Duration
	// Depth bounds the observed transitions that explain one change
	// (default 6).
	Depth int
	// MaxSteps bounds the run (default 200).
	MaxSteps int
	// Log, when not nil, receives the executor's lines.
	Log interface{ Write([]byte) (int, error) }
	_   struct{}
}

// A Report is the outcome of an observed run.
type Report struct {
	*exec.Report
	// Final: the run ended with every actor at a final location.
	Final bool
}

// Run sets the scenario's initial store up below root, then plays the
// actors not observed, one enabled transition at a time (the first in
// the model's order, no faults, no timers), and explains every change the
// observed actors make, until no actor can move or MaxSteps.
func Run(ctx context.Context, b exec.Backend, root string, sys *model.System, opts Options) (*Report, error) {
	if opts.Settle <= 0 {
		opts.Settle = 2 * time.Second
	}
	if opts.Depth <= 0 {
		opts.Depth = 6
	}
	if opts.MaxSteps <= 0 {
		opts.MaxSteps = 200
	}
	observed := make([]bool, len(sys.Actors))
	for _, name := range opts.Observed {
		i := slices.IndexFunc(sys.Actors, func(a model.Actor) bool { return a.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("observe: no actor %q", name)
		}
		observed[i] = true
	}
	e := &exec.Executor{Sys: sys, Backend: b, Root: root, Observed: func(a int) bool { return observed[a] }}
	if opts.Log != nil {
		e.Log = opts.Log
	}
	sess, err := e.Start(ctx)
	if err != nil {
		return nil, err
	}
	rep := &Report{Report: sess.Report()}
	defer sess.Close()
	w, err := b.Watch(ctx, root, "xbcheck-observe")
	if err != nil {
		return rep, err
	}
	defer w.Unwatch(context.WithoutCancel(ctx))
	o := &observer{sys: sys, b: b, sess: sess, w: w, observed: observed, opts: opts}
	for len(rep.Steps) < opts.MaxSteps {
		ok, err := o.explain(ctx, opts.Settle)
		if err != nil || !ok {
			return rep, err
		}
		if t := o.playable(); t != nil {
			if err := sess.Step(ctx, t); err != nil {
				return rep, err
			}
			continue
		}
		// Nothing to play: the observed actors must act, if they can.
		if !o.canMove() {
			rep.Final = sys.AllFinal(sess.State())
			return rep, nil
		}
		changed, err := o.wait(ctx, opts.Settle)
		if err != nil {
			return rep, err
		}
		if !changed {
			sess.Diverge("observed", fmt.Sprintf("no observed change within %v, though the model lets an observed actor move", opts.Settle))
			return rep, nil
		}
	}
	return rep, nil
}

type observer struct {
	sys      *model.System
	b        exec.Backend
	sess     *exec.Session
	w        exec.Watcher
	observed []bool
	opts     Options
}

// playable returns the first enabled transition of a played actor that
// changes the state, leaving faults and timers out.
func (o *observer) playable() *model.Transition {
	var pick *model.Transition
	o.sys.Successors(o.sess.State(), make(model.State, o.sys.Size()), func(t *model.Transition, _ model.State) bool {
		if !o.observed[t.Actor] && t.Fault == "" && t.Timeout == 0 {
			pick = t
			return false
		}
		return true
	})
	return pick
}

// canMove reports whether an observed actor has an enabled step.
func (o *observer) canMove() bool {
	found := false
	o.sys.Successors(o.sess.State(), make(model.State, o.sys.Size()), func(t *model.Transition, _ model.State) bool {
		found = o.observed[t.Actor] && t.Fault == "" && t.Timeout == 0
		return !found
	})
	return found
}

// wait waits up to d for an event below the root.
func (o *observer) wait(ctx context.Context, d time.Duration) (bool, error) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if err := o.b.Sync(ctx); err != nil {
			return false, err
		}
		if len(o.w.Drain()) > 0 {
			return true, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return false, nil
}

// explain reads the store and explains it by observed transitions; it
// waits up to settle for a partial change to complete. It returns false
// after recording a divergence.
func (o *observer) explain(ctx context.Context, settle time.Duration) (bool, error) {
	deadline := time.Now().Add(settle)
	for {
		if err := o.b.Sync(ctx); err != nil {
			return false, err
		}
		o.w.Drain()
		live, err := o.sess.ReadStore(ctx)
		if err != nil {
			return false, err
		}
		if path := o.search(live); path != nil {
			for _, t := range path {
				o.sess.Advance(t)
			}
			return true, nil
		}
		if time.Now().After(deadline) {
			d := cmp.Diff(o.sys.Store(o.sess.State()), live)
			o.sess.Diverge("observed", fmt.Sprintf(
				"no sequence of at most %d transitions of the observed actors leads from the model's state to what the daemon shows (-model +daemon):\n%s",
				o.opts.Depth, d))
			return false, nil
		}
		if _, err := o.wait(ctx, 20*time.Millisecond); err != nil {
			return false, err
		}
	}
}

// search returns the shortest sequence of observed transitions (empty
// when none is needed) after which the model's store is live, or nil.
func (o *observer) search(live map[string]string) []*model.Transition {
	sys := o.sys
	start := o.sess.State()
	if cmp.Equal(sys.Store(start), live) {
		return []*model.Transition{}
	}
	s := &conform.Search{Sys: sys, Depth: o.opts.Depth, MaxFound: 1,
		Take: func(t *model.Transition, _, _ model.State) bool { return o.observed[t.Actor] && t.Fault == "" },
		Goal: func(st model.State) bool { return cmp.Equal(sys.Store(st), live) },
	}
	found, path := s.Run([]model.State{start})
	if found == nil {
		return nil
	}
	return transitions(sys, path)
}

// transitions are the transitions of a path of indexes into System.Trans.
func transitions(sys *model.System, path []int) []*model.Transition {
	out := make([]*model.Transition, len(path))
	for i, id := range path {
		out[i] = &sys.Trans[id]
	}
	return out
}
