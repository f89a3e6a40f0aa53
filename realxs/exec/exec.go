package exec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/realxs"
	"github.com/xbcheck/xbcheck/trace"
)

// CleanupTimeout bounds the removal of what a run created, which goes on
// after the run's context is cancelled (on SIGINT, say).
const CleanupTimeout = 10 * time.Second

// ErrRootExists is returned when the run's root is already in the store:
// the run removes its root at the end and must not remove what it did
// not create.
var ErrRootExists = errors.New("exec: the run's root already exists")

// An Executor performs a model's transitions against a [Backend] and
// compares, after every step, the store below its root and the watch
// events delivered with the model's prediction.
type Executor struct {
	Sys     *model.System
	Backend Backend
	// Root is the prefix the model's paths are mapped below: model path
	// /a/b is Root+"/a/b", and the model's root is Root. It must be an
	// absolute path other than "/" whose parent exists and which does
	// not exist itself; the run creates it and removes it at the end.
	// It is ignored (paths are used as they are) when Live is set.
	Root string
	// Live, when not nil, runs on a real host's own paths. See
	// [LiveTarget].
	Live *LiveTarget
	// Observed, when not nil, names the actors that a real component
	// plays (observed mode, package realxs/observe): the executor does
	// not register their watches, and leaves the comparisons to the
	// observer, which explains every change it sees by their
	// transitions ([Session.Advance]).
	Observed func(actor int) bool
	// Log, when not nil, receives one line per operation performed.
	Log io.Writer
	// Opaque keys are read back by presence only: the model stands for
	// their values with a representative (conform.DefaultOpaque), and a
	// real component writes its own (a ring reference, a disk's size).
	Opaque []string
	// Hook, when not nil, is called after the requests of every step the
	// executor performs, with the store they went to: the step's
	// transaction when the step is a transaction body, else the daemon.
	// A run on a real host uses it for what the model leaves out of a
	// toolstack step: the keys a real driver needs (params, virtual-device)
	// written in the same transaction, and the hotplug script the step
	// stands for, run for real.
	Hook func(ctx context.Context, t *model.Transition, s realxs.Store) error
	_    struct{}
}

// A StepReport is what the executor did for one step.
type StepReport struct {
	Step       int
	Actor      string
	Transition string
	// Ops are the requests performed, with the daemon's paths.
	Ops []string
	// Events counts the watch events delivered after the step, by watch.
	Events map[string]int `json:",omitempty"`
	// Observed: a real component took the step; the executor saw it.
	Observed bool `json:",omitempty"`
}

// A Report is the outcome of a run.
type Report struct {
	Scenario string
	Root     string
	// Steps are the steps performed, the last one possibly partly.
	Steps []StepReport
	// Trace is the trace of the steps done (without a step that failed).
	Trace *trace.Trace
	// Divergence is the first divergence, or nil.
	Divergence *Divergence
	// Known counts the known differences met (see [Known]).
	Known map[Known]int
	// CleanupErr says why removing what the run created failed.
	CleanupErr error `json:"-"`
}

// Replay performs the transitions ids of sys, from its initial state,
// against b below root (see [Executor.Root]). It returns an error (with
// the report so far) when the backend fails; a divergence is not an
// error but Report.Divergence.
func Replay(ctx context.Context, b Backend, root string, sys *model.System, ids []int32) (*Report, error) {
	e := &Executor{Sys: sys, Backend: b, Root: root}
	return e.Run(ctx, ids)
}

// A Session is one run of an [Executor]: the model state it is in, the
// daemon's transactions and watches it holds, and its report. [Executor.Run]
// drives a session through a list of transitions; [Executor.Start] hands
// one to a caller that drives it a transition at a time (observed mode,
// package realxs/observe).
type Session struct {
	pathMap  // the model's paths mapped below the run's root ("": as they are)
	e        *Executor
	b        Backend
	st       model.State
	watchers map[model.WatchID]Watcher
	pending  map[model.WatchID]bool // an event came that no handler took yet
	txns     map[int]Txn            // open transactions by actor
	snaps    map[int]model.State    // the model state when each was opened
	rep      *Report
	cur      *StepReport
	last     int             // the transition of the step being compared
	created  []string        // root mode: the root, once it is ours
	existed  map[string]bool // live mode: the model's nodes there at the start
	wrote    map[string]bool // live mode: nodes the run wrote, and their parents
	strict   bool            // compare the whole subtree, not only the model's paths
}

// Run performs the transitions ids from the model's initial state. It
// stops at the first divergence, and removes what it created before it
// returns, also when ctx is cancelled.
func (e *Executor) Run(ctx context.Context, ids []int32) (rep *Report, err error) {
	r, err := e.start(ctx, ids, true)
	if err != nil {
		return r.rep, err
	}
	defer func() {
		r.rep.CleanupErr = r.cleanup()
		if err == nil && r.rep.CleanupErr != nil {
			err = r.rep.CleanupErr
		}
	}()
	if r.rep.Divergence != nil {
		return r.rep, nil
	}
	for i, id := range ids {
		t, err := stepOf(e.Sys, r.st, i, id)
		if err != nil {
			return r.rep, err
		}
		if err := r.Step(ctx, t); err != nil {
			return r.rep, err
		}
		tr, terr := trace.FromPath(e.Sys, e.Sys.Name, "", ids[:i+1], -1)
		if terr == nil {
			r.rep.Trace = tr
		}
		if r.rep.Divergence != nil {
			return r.rep, nil
		}
	}
	return r.rep, nil
}

// stepOf returns the transition id of step i (from 0) of a run, which
// must exist and be enabled in st.
func stepOf(sys *model.System, st model.State, i int, id int32) (*model.Transition, error) {
	if int(id) < 0 || int(id) >= len(sys.Trans) {
		return nil, fmt.Errorf("exec: step %d: no transition %d", i+1, id)
	}
	t := &sys.Trans[id]
	if !sys.Enabled(st, t) {
		return nil, fmt.Errorf("exec: step %d: %s %q is not enabled in the model", i+1, sys.Actors[t.Actor].Name, t.Name)
	}
	return t, nil
}

// Start sets the initial state up and returns the session; the caller
// performs steps with [Session.Step] and must call [Session.Close].
//
// Sessions do not run on a live host's own paths (Executor.Live): only a
// whole run, whose plan a dry run showed, may.
func (e *Executor) Start(ctx context.Context) (*Session, error) {
	r, err := e.start(ctx, nil, false)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// State returns the model state the session is in.
func (r *Session) State() model.State { return r.st }

// Report returns the report so far.
func (r *Session) Report() *Report { return r.rep }

// Close removes what the run created.
func (r *Session) Close() error {
	r.rep.CleanupErr = r.cleanup()
	return r.rep.CleanupErr
}

// Advance records that an observed actor took transition t, which must be
// enabled: the model moves, and nothing is performed.
func (r *Session) Advance(t *model.Transition) {
	a := &r.sys.Actors[t.Actor]
	r.rep.Steps = append(r.rep.Steps, StepReport{Step: len(r.rep.Steps) + 1, Actor: a.Name, Transition: t.Name, Observed: true})
	if r.e.Log != nil {
		fmt.Fprintf(r.e.Log, "step %d %s %q (observed)\n", len(r.rep.Steps), a.Name, t.Name)
	}
	r.st = r.sys.Apply(r.st, t)
}

// Diverge records a divergence found by the caller after the steps done:
// a change of the observed actors that the model does not allow.
func (r *Session) Diverge(what, diff string) {
	if r.rep.Divergence == nil {
		r.rep.Divergence = &Divergence{Step: len(r.rep.Steps) + 1, Actor: "observed actors", Transition: "(none allowed)", What: what, Diff: diff}
	}
}

// Path maps a model path to the backend's.
func (r *Session) Path(p string) string { return r.mapPath(p) }

func (e *Executor) start(ctx context.Context, ids []int32, whole bool) (*Session, error) {
	sys := e.Sys
	r := &Session{pathMap: pathMap{sys: sys}, e: e, b: e.Backend, st: sys.Initial(),
		watchers: map[model.WatchID]Watcher{}, pending: map[model.WatchID]bool{}, txns: map[int]Txn{}, snaps: map[int]model.State{},
		rep: &Report{Scenario: sys.Name, Known: map[Known]int{}}, existed: map[string]bool{}, wrote: map[string]bool{}}
	r.rep.Trace = &trace.Trace{Scenario: sys.Name, Loop: -1}
	if e.Live != nil {
		if !whole && !e.Live.Session {
			return r, errors.New("exec: a session cannot run on a live host's own paths")
		}
		if whole {
			if err := e.Live.check(sys, ids); err != nil {
				return r, err
			}
		} else if _, err := e.Live.device(sys); err != nil {
			return r, err
		}
		r.root = ""
	} else {
		if err := checkRoot(e.Root); err != nil {
			return r, err
		}
		r.root = e.Root
		r.strict = true
	}
	r.rep.Root = r.root
	r.cur = &StepReport{}
	if e.Live == nil {
		if _, err := r.b.Read(ctx, r.root); err == nil {
			return r, fmt.Errorf("%w: %s", ErrRootExists, r.root)
		} else if !errors.Is(err, realxs.ENOENT) {
			return r, err
		}
		if _, err := r.b.Read(ctx, memParent(r.root)); err != nil {
			return r, fmt.Errorf("exec: the parent of the root %s must exist: %w", r.root, err)
		}
		// From here on the root is ours: remove it whatever happens.
		r.created = []string{"/"}
		for i := range sys.Paths {
			p := model.PathID(i)
			if sys.Exists(r.st, p) {
				if err := r.write(ctx, r.b, p, sys.Get(r.st, p)); err != nil {
					r.cleanup()
					return r, err
				}
			}
		}
	} else {
		for i := range sys.Paths {
			if _, err := r.b.Read(ctx, sys.Paths[i].Name); err == nil {
				r.existed[sys.Paths[i].Name] = true
			}
		}
	}
	for w := range sys.Watches {
		if e.Observed != nil && e.Observed(sys.Watches[w].Actor) {
			continue
		}
		if sys.WatchRegistered(r.st, model.WatchID(w)) {
			if err := r.watch(ctx, model.WatchID(w)); err != nil {
				r.cleanup()
				return r, err
			}
		}
	}
	if err := r.b.Sync(ctx); err != nil {
		r.cleanup()
		return r, err
	}
	for _, w := range r.watchers {
		w.Drain() // the registration events of the initial watches
	}
	if err := r.compare(ctx, 0, nil); err != nil {
		r.cleanup()
		return r, err
	}
	return r, nil
}

func (r *Session) logOp(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	r.cur.Ops = append(r.cur.Ops, s)
	if r.e.Log != nil {
		fmt.Fprintf(r.e.Log, "  %s\n", s)
	}
}

func (r *Session) diverge(step int, what, diff string) {
	if r.rep.Divergence != nil {
		return
	}
	d := &Divergence{Step: step, What: what, Diff: diff}
	if step > 0 && step <= len(r.rep.Steps) {
		d.Actor, d.Transition = r.rep.Steps[step-1].Actor, r.rep.Steps[step-1].Transition
	}
	r.rep.Divergence = d
}

// daemonErr tells a failure of the daemon (an error name it sent, which
// the model did not predict: a divergence) from a failure to talk to it
// (the run cannot go on).
func daemonErr(err error) bool {
	var en realxs.Errno
	return errors.As(err, &en) && !errors.Is(err, realxs.ErrConnLost) && !errors.Is(err, realxs.ErrClosed)
}

// Step performs one transition, which must be enabled, and compares.
func (r *Session) Step(ctx context.Context, t *model.Transition) error {
	sys := r.sys
	n := len(r.rep.Steps) + 1
	a := &sys.Actors[t.Actor]
	r.rep.Steps = append(r.rep.Steps, StepReport{Step: n, Actor: a.Name, Transition: t.Name})
	r.cur = &r.rep.Steps[n-1]
	if r.e.Log != nil {
		fmt.Fprintf(r.e.Log, "step %d %s %q\n", n, a.Name, t.Name)
	}
	pre := r.st
	if r.e.Live != nil && r.e.Live.Session {
		if err := r.e.Live.allows(sys, pre, t); err != nil {
			return fmt.Errorf("exec: step %d %s %q: %w", n, a.Name, t.Name, err)
		}
	}
	post := sys.Apply(pre, t)
	r.last = t.ID
	if t.Watch != model.NoWatch {
		r.pending[t.Watch] = false // the step takes the watch's event
	}
	err := r.perform(ctx, t, pre)
	if err != nil {
		var d *Divergence
		if errors.As(err, &d) {
			r.diverge(n, d.What, d.Diff)
			r.st = post
			return nil
		}
		if daemonErr(err) {
			r.diverge(n, "error", fmt.Sprintf("the daemon answered %v where the model predicts success", err))
			r.st = post
			return nil
		}
		return fmt.Errorf("exec: step %d %s %q: %w", n, a.Name, t.Name, err)
	}
	r.st = post
	if err := r.compare(ctx, n, pre); err != nil {
		return fmt.Errorf("exec: step %d %s %q: %w", n, a.Name, t.Name, err)
	}
	return nil
}

// cleanup aborts open transactions, removes the watches and removes what
// the run created, with a context of its own.
func (r *Session) cleanup() error {
	ctx, cancel := context.WithTimeout(context.Background(), CleanupTimeout)
	defer cancel()
	for a, tx := range r.txns {
		tx.Abort(ctx)
		delete(r.txns, a)
	}
	for w, wt := range r.watchers {
		wt.Unwatch(ctx)
		delete(r.watchers, w)
	}
	if r.root == "" && r.e.Live != nil && r.e.Live.Keep {
		return nil
	}
	if r.root != "" {
		if len(r.created) == 0 {
			return nil
		}
		r.created = nil
		if err := r.b.Rm(ctx, r.root); err != nil {
			return fmt.Errorf("exec: removing the run's root %s: %w", r.root, err)
		}
		return nil
	}
	// A live host: remove, deepest first, the model's nodes that were not
	// there at the start, that the run wrote (or created as parents of
	// what it wrote) and that have no children left.
	var errs []error
	for i := len(r.sys.Paths) - 1; i >= 0; i-- {
		p := r.sys.Paths[i].Name
		if r.existed[p] || !r.wrote[p] {
			continue
		}
		kids, err := r.b.Directory(ctx, p)
		if errors.Is(err, realxs.ENOENT) {
			continue
		}
		if err == nil && len(kids) == 0 {
			err = r.b.Rm(ctx, p)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
