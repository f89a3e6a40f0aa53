package exec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/google/go-cmp/cmp"

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

// run is the state of one run.
type run struct {
	e        *Executor
	sys      *model.System
	b        Backend
	root     string
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
		if int(id) < 0 || int(id) >= len(e.Sys.Trans) {
			return r.rep, fmt.Errorf("exec: step %d: no transition %d", i+1, id)
		}
		t := &e.Sys.Trans[id]
		if !e.Sys.Enabled(r.st, t) {
			return r.rep, fmt.Errorf("exec: step %d: %s %q is not enabled in the model", i+1, e.Sys.Actors[t.Actor].Name, t.Name)
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

// Session is a run driven one transition at a time (see
// [Executor.Start]); observed mode uses it.
type Session = run

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
func (r *run) State() model.State { return r.st }

// Report returns the report so far.
func (r *run) Report() *Report { return r.rep }

// Close removes what the run created.
func (r *run) Close() error {
	r.rep.CleanupErr = r.cleanup()
	return r.rep.CleanupErr
}

// Advance records that an observed actor took transition t, which must be
// enabled: the model moves, and nothing is performed.
func (r *run) Advance(t *model.Transition) {
	a := &r.sys.Actors[t.Actor]
	r.rep.Steps = append(r.rep.Steps, StepReport{Step: len(r.rep.Steps) + 1, Actor: a.Name, Transition: t.Name, Observed: true})
	if r.e.Log != nil {
		fmt.Fprintf(r.e.Log, "step %d %s %q (observed)\n", len(r.rep.Steps), a.Name, t.Name)
	}
	r.st = r.sys.Apply(r.st, t)
}

// ReadStore reads the model's paths back from the backend.
func (r *run) ReadStore(ctx context.Context) (map[string]string, error) {
	saved := r.strict
	r.strict = false
	defer func() { r.strict = saved }()
	return r.readStore(ctx)
}

// Diverge records a divergence found by the caller after the steps done:
// a change of the observed actors that the model does not allow.
func (r *run) Diverge(what, diff string) {
	if r.rep.Divergence == nil {
		r.rep.Divergence = &Divergence{Step: len(r.rep.Steps) + 1, Actor: "observed actors", Transition: "(none allowed)", What: what, Diff: diff}
	}
}

// Path maps a model path to the backend's.
func (r *run) Path(p string) string { return r.mapPath(p) }

func (e *Executor) start(ctx context.Context, ids []int32, whole bool) (*run, error) {
	sys := e.Sys
	r := &run{e: e, sys: sys, b: e.Backend, st: sys.Initial(),
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
	if err := r.compare(ctx, 0, nil, map[model.WatchID]int{}); err != nil {
		r.cleanup()
		return r, err
	}
	return r, nil
}

func checkRoot(root string) error {
	if root == "" || root == "/" || !strings.HasPrefix(root, "/") || strings.HasSuffix(root, "/") || strings.Contains(root, "//") {
		return fmt.Errorf("exec: root %q: want an absolute path below / (such as /xbcheck-run)", root)
	}
	for _, c := range root {
		if !(c == '/' || c == '_' || c == '-' || c == '@' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return fmt.Errorf("exec: root %q: bad character %q", root, c)
		}
	}
	return nil
}

func (r *run) mapPath(p string) string {
	if r.root == "" {
		return p
	}
	if p == "/" {
		return r.root
	}
	return r.root + p
}

func (r *run) unmap(p string) string {
	if r.root == "" {
		return p
	}
	if p == r.root {
		return "/"
	}
	return strings.TrimPrefix(p, r.root)
}

func (r *run) path(p model.PathID) string { return r.mapPath(r.sys.Paths[p].Name) }

func (r *run) logOp(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	r.cur.Ops = append(r.cur.Ops, s)
	if r.e.Log != nil {
		fmt.Fprintf(r.e.Log, "  %s\n", s)
	}
}

func (r *run) diverge(step int, what, diff string) {
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
func (r *run) Step(ctx context.Context, t *model.Transition) error {
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
	consumed := model.NoWatch
	if t.Watch != model.NoWatch {
		consumed = t.Watch
		r.pending[t.Watch] = false
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
	counts := map[model.WatchID]int{}
	if err := r.compare(ctx, n, pre, counts); err != nil {
		return fmt.Errorf("exec: step %d %s %q: %w", n, a.Name, t.Name, err)
	}
	_ = consumed
	return nil
}

// perform does the xenstore requests of t, taken in pre.
func (r *run) perform(ctx context.Context, t *model.Transition, pre model.State) error {
	sys := r.sys
	cur := append(model.State(nil), pre...)
	switch t.Kind {
	case model.TxnBody:
		if old := r.txns[t.Actor]; old != nil {
			old.Abort(ctx)
		}
		tx, err := r.b.StartTransaction(ctx)
		if err != nil {
			return err
		}
		r.txns[t.Actor] = tx
		r.snaps[t.Actor] = pre
		r.logOp("TXN_START")
		if err := r.body(ctx, tx, t, cur); err != nil {
			return err
		}
		return r.hook(ctx, t, tx)
	case model.Commit:
		tx := r.txns[t.Actor]
		delete(r.txns, t.Actor)
		body := sys.OpenBody(pre, t.Actor)
		if tx == nil || body == nil {
			return fmt.Errorf("commit without an open transaction")
		}
		err := tx.Commit(ctx)
		r.logOp("TXN_COMMIT")
		if errors.Is(err, realxs.EAGAIN) {
			r.rep.Known[EAGAINRetried]++
			r.logOp("(EAGAIN: the body again, through the retry helper)")
			err = r.b.Transact(ctx, func(s realxs.Store) error {
				return r.body(ctx, s, body, append(model.State(nil), pre...))
			})
		}
		if err != nil {
			return err
		}
		for _, op := range body.Ops {
			sys.ApplyOp(cur, op)
		}
		return r.ops(ctx, t.Ops[1:], cur)
	case model.EAGAIN:
		tx := r.txns[t.Actor]
		delete(r.txns, t.Actor)
		if tx == nil {
			return fmt.Errorf("EAGAIN without an open transaction")
		}
		if t.Fault != "" {
			r.rep.Known[InjectedEAGAIN]++
			r.logOp("TXN_ABORT (injected EAGAIN)")
			if err := tx.Abort(ctx); err != nil {
				return err
			}
		} else {
			err := tx.Commit(ctx)
			r.logOp("TXN_COMMIT (the model predicts EAGAIN)")
			if err == nil {
				return &Divergence{What: "commit", Diff: fmt.Sprintf(
					"the daemon committed a transaction that the model fails with EAGAIN (conflict rule %s)", sys.Conflict)}
			}
			if !errors.Is(err, realxs.EAGAIN) {
				return err
			}
		}
		return r.ops(ctx, t.Ops, cur)
	}
	if err := r.ops(ctx, t.Ops, cur); err != nil {
		return err
	}
	return r.hook(ctx, t, r.b)
}

func (r *run) hook(ctx context.Context, t *model.Transition, s realxs.Store) error {
	if r.e.Hook == nil {
		return nil
	}
	return r.e.Hook(ctx, t, s)
}

// body performs a transaction body's reads (the guard's nodes first, as
// the actor reads them before deciding) and writes in s.
func (r *run) body(ctx context.Context, s realxs.Store, t *model.Transition, cur model.State) error {
	var seen []model.PathID
	for _, c := range t.Guard {
		switch c.Kind {
		case model.CondPresent, model.CondAbsent, model.CondEq, model.CondNe, model.CondIn:
			if !slices.Contains(seen, c.Path) {
				seen = append(seen, c.Path)
				if err := r.op(ctx, s, true, model.Read(c.Path), cur); err != nil {
					return err
				}
			}
		}
	}
	ops := t.Ops
	if len(ops) > 0 && ops[0].Kind == model.OpTxnStart {
		ops = ops[1:]
	}
	for _, op := range ops {
		if err := r.op(ctx, s, true, op, cur); err != nil {
			return err
		}
	}
	return nil
}

// ops performs an atomic transition's operations in order outside any
// transaction; a TXN_START ... TXN_COMMIT run goes through the retry
// helper, a TXN_START ... TXN_ABORT through an aborted transaction.
func (r *run) ops(ctx context.Context, ops []model.Op, cur model.State) error {
	for i := 0; i < len(ops); i++ {
		op := ops[i]
		if op.Kind != model.OpTxnStart {
			if err := r.op(ctx, r.b, false, op, cur); err != nil {
				return err
			}
			continue
		}
		j := i + 1
		for j < len(ops) && ops[j].Kind != model.OpTxnCommit && ops[j].Kind != model.OpTxnAbort {
			j++
		}
		seg := ops[i+1 : min(j, len(ops))]
		start := append(model.State(nil), cur...)
		r.logOp("TXN_START")
		if j < len(ops) && ops[j].Kind == model.OpTxnAbort {
			tx, err := r.b.StartTransaction(ctx)
			if err != nil {
				return err
			}
			for _, op := range seg {
				if err := r.op(ctx, tx, true, op, cur); err != nil {
					tx.Abort(ctx)
					return err
				}
			}
			copy(cur, start) // the model applies nothing of an aborted run... but its ops are reads
			r.logOp("TXN_ABORT")
			if err := tx.Abort(ctx); err != nil {
				return err
			}
		} else {
			attempt := 0
			err := r.b.Transact(ctx, func(s realxs.Store) error {
				if attempt > 0 {
					r.rep.Known[EAGAINRetried]++
				}
				attempt++
				copy(cur, start)
				for _, op := range seg {
					if err := r.op(ctx, s, true, op, cur); err != nil {
						return err
					}
				}
				return nil
			})
			r.logOp("TXN_COMMIT")
			if err != nil {
				return err
			}
		}
		i = j
	}
	return nil
}

// op performs one operation on s (the backend, or a transaction when
// inTx) and checks what it reads against cur, the model's store at that
// point, which it then updates.
func (r *run) op(ctx context.Context, s realxs.Store, inTx bool, op model.Op, cur model.State) error {
	sys := r.sys
	name := func() string { return r.path(op.Path) }
	defer sys.ApplyOp(cur, op)
	switch op.Kind {
	case model.OpRead:
		v, err := s.Read(ctx, name())
		r.logOp("READ %s", name())
		return r.checkRead(op.Path, v, err, cur)
	case model.OpDirectory:
		got, err := s.Directory(ctx, name())
		r.logOp("DIRECTORY %s", name())
		if err != nil && !errors.Is(err, realxs.ENOENT) {
			return err
		}
		want := sys.Children(cur, op.Path)
		if !sys.Exists(cur, op.Path) {
			want = nil
		}
		if errors.Is(err, realxs.ENOENT) != !sys.Exists(cur, op.Path) || !sameSet(want, got) {
			return &Divergence{What: "read", Diff: fmt.Sprintf("DIRECTORY %s: model [%s], daemon [%s] (%v)",
				sys.Paths[op.Path].Name, strings.Join(want, " "), strings.Join(got, " "), err)}
		}
		return nil
	case model.OpWrite:
		return r.write(ctx, s, op.Path, op.Val)
	case model.OpMkdir:
		r.logOp("MKDIR %s", name())
		r.markWritten(op.Path)
		return s.Mkdir(ctx, name())
	case model.OpRm:
		return r.rm(ctx, s, op.Path, cur)
	case model.OpCleanup:
		return r.compound(ctx, s, inTx, func(s realxs.Store) error {
			c := append(model.State(nil), cur...)
			if err := r.rm(ctx, s, op.Path, c); err != nil {
				return err
			}
			sys.ApplyOp(c, model.Rm(op.Path))
			for q := sys.Paths[op.Path].Parent; q != model.NoPath && q != 0; q = sys.Paths[q].Parent {
				v, err := s.Read(ctx, r.path(q))
				r.logOp("READ %s", r.path(q))
				if errors.Is(err, realxs.ENOENT) {
					break
				} else if err != nil {
					return err
				}
				kids, err := s.Directory(ctx, r.path(q))
				r.logOp("DIRECTORY %s", r.path(q))
				if err != nil {
					return err
				}
				if len(v) != 0 || len(kids) != 0 {
					break
				}
				if err := r.rm(ctx, s, q, c); err != nil {
					return err
				}
				sys.ApplyOp(c, model.Rm(q))
			}
			return nil
		})
	case model.OpSetPerms:
		r.rep.Known[PermsNotModelled]++
		r.logOp("SET_PERMS %s n%d", name(), sys.Paths[op.Path].Owner)
		err := s.SetPerms(ctx, name(), []realxs.Perm{{Domid: uint32(sys.Paths[op.Path].Owner), Access: realxs.AccessNone}})
		if errors.Is(err, realxs.ENOENT) && !sys.Exists(cur, op.Path) {
			return nil // the model: SET_PERMS of a missing node does nothing
		}
		return err
	case model.OpSwitchState:
		if sys.VarValue(cur, op.Var) == uint8(op.Val)-2 {
			r.logOp("(SWITCH_STATE %s %s: the cached state already matches; nothing)", name(), sys.Values[op.Val])
			return nil
		}
		return r.compound(ctx, s, inTx, func(s realxs.Store) error {
			_, err := s.Read(ctx, name())
			r.logOp("READ %s", name())
			if errors.Is(err, realxs.ENOENT) {
				return nil // "we don't want to resurrect that directory"
			} else if err != nil {
				return err
			}
			return r.write(ctx, s, op.Path, op.Val)
		})
	case model.OpReplace:
		return r.compound(ctx, s, inTx, func(s realxs.Store) error {
			v, err := s.Read(ctx, name())
			r.logOp("READ %s", name())
			if err != nil && !errors.Is(err, realxs.ENOENT) {
				return err
			}
			if op.From == model.Absent && err == nil || op.From != model.Absent && (err != nil || string(v) != sys.Values[op.From]) {
				return nil
			}
			return r.write(ctx, s, op.Path, op.Val)
		})
	case model.OpWatch:
		return r.watch(ctx, op.Watch)
	case model.OpUnwatch:
		w := r.watchers[op.Watch]
		delete(r.watchers, op.Watch)
		r.pending[op.Watch] = false
		r.logOp("UNWATCH %s", r.path(sys.Watches[op.Watch].Path))
		if w == nil {
			return nil
		}
		return w.Unwatch(ctx)
	case model.OpDomainGone:
		r.rep.Known[DomainGoneEmulated]++
		r.logOp("(DOMAIN_GONE %d: emulated)", op.Dom)
		if !sys.RemoveOwnedOnDeath {
			return nil
		}
		// oxenstored deletes without events (System.DeathFiresWatches);
		// the emulating RMs fire, so their events are dropped, after the
		// events of the step's earlier requests are kept as compare does.
		silent := !sys.DeathFiresWatches
		if silent {
			if err := r.drainEvents(ctx, true); err != nil {
				return err
			}
		}
		for i := range sys.Paths {
			p := &sys.Paths[i]
			if p.Owner == op.Dom && sys.Exists(cur, model.PathID(i)) && (p.Parent == model.NoPath || sys.Paths[p.Parent].Owner != op.Dom) {
				if err := r.rm(ctx, s, model.PathID(i), cur); err != nil {
					return err
				}
				sys.ApplyOp(cur, model.Rm(model.PathID(i)))
			}
		}
		if silent {
			return r.drainEvents(ctx, false)
		}
		return nil
	case model.OpSignal:
		r.logOp("(%s)", op.Note)
		return nil
	case model.OpTxnStart, model.OpTxnCommit, model.OpTxnAbort:
		return nil
	}
	return fmt.Errorf("exec: unknown operation %v", op.Kind)
}

// compound runs fn in a transaction of its own, unless s already is one.
func (r *run) compound(ctx context.Context, s realxs.Store, inTx bool, fn func(s realxs.Store) error) error {
	if inTx {
		return fn(s)
	}
	return r.b.Transact(ctx, fn)
}

// wrote records, on a live host, that the run wrote p (and so maybe
// created its parents).
func (r *run) markWritten(p model.PathID) {
	for q := p; q != model.NoPath && r.root == ""; q = r.sys.Paths[q].Parent {
		r.wrote[r.sys.Paths[q].Name] = true
	}
}

func (r *run) write(ctx context.Context, s realxs.Store, p model.PathID, v model.Value) error {
	r.markWritten(p)
	r.logOp("WRITE %s %q", r.path(p), r.sys.Values[v])
	return s.Write(ctx, r.path(p), []byte(r.sys.Values[v]))
}

func (r *run) rm(ctx context.Context, s realxs.Store, p model.PathID, cur model.State) error {
	r.logOp("RM %s", r.path(p))
	err := s.Rm(ctx, r.path(p))
	if errors.Is(err, realxs.ENOENT) && !r.sys.Exists(cur, p) {
		r.rep.Known[RmMissingParent]++
		return nil
	}
	return err
}

func (r *run) checkRead(p model.PathID, v []byte, err error, cur model.State) error {
	sys := r.sys
	if err != nil && !errors.Is(err, realxs.ENOENT) {
		return err
	}
	got := "⊥"
	if err == nil {
		got = fmt.Sprintf("%q", v)
	}
	if r.opaque(p) && (err == nil) == sys.Exists(cur, p) {
		return nil
	}
	if want := sys.FormatValue(sys.Get(cur, p)); want != got {
		return &Divergence{What: "read", Diff: fmt.Sprintf("READ %s: model %s, daemon %s", sys.Paths[p].Name, want, got)}
	}
	return nil
}

// opaque reports whether p's value is compared by presence.
func (r *run) opaque(p model.PathID) bool {
	name := r.sys.Paths[p].Name
	return slices.Contains(r.e.Opaque, name[strings.LastIndexByte(name, '/')+1:])
}

func (r *run) watch(ctx context.Context, w model.WatchID) error {
	p := r.path(r.sys.Watches[w].Path)
	r.logOp("WATCH %s %s", p, token(r.sys, w))
	if old := r.watchers[w]; old != nil {
		old.Unwatch(ctx)
	}
	wt, err := r.b.Watch(ctx, p, token(r.sys, w))
	if err != nil {
		return err
	}
	r.watchers[w] = wt
	return nil
}

// token is the watch token of model watch w.
func token(sys *model.System, w model.WatchID) string {
	return fmt.Sprintf("xbcheck-%d", w)
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// drainEvents waits for the daemon's events so far and takes them from
// every watcher: as pending events when keep is set, else dropped.
func (r *run) drainEvents(ctx context.Context, keep bool) error {
	if err := r.b.Sync(ctx); err != nil {
		return err
	}
	for w, wt := range r.watchers {
		if len(wt.Drain()) > 0 && keep {
			r.pending[w] = true
		}
	}
	return nil
}

// compare reads the store and the events back and compares them with the
// model's state r.st (the state after step n).
func (r *run) compare(ctx context.Context, n int, pre model.State, counts map[model.WatchID]int) error {
	sys := r.sys
	if err := r.b.Sync(ctx); err != nil {
		return err
	}
	for w, wt := range r.watchers {
		evs := wt.Drain()
		counts[w] = len(evs)
		if len(evs) > 0 {
			r.pending[w] = true
			if r.cur.Events == nil {
				r.cur.Events = map[string]int{}
			}
			r.cur.Events[sys.Watches[w].Name] += len(evs)
		}
		if len(evs) > 1 || len(evs) == 1 && pre != nil && sys.WatchPending(pre, w) {
			r.rep.Known[EventMultiplicity]++
		}
	}
	if r.e.Observed != nil {
		return nil // the observer compares
	}
	got, err := r.readStore(ctx)
	if err != nil {
		return err
	}
	if d := cmp.Diff(sys.Store(r.st), got); d != "" {
		r.diverge(n, "store", "store below the root (-model +daemon):\n"+d)
		return nil
	}
	wantW, gotW := map[string]string{}, map[string]string{}
	for i := range sys.Watches {
		w := model.WatchID(i)
		state := func(reg, pend bool) string {
			switch {
			case !reg:
				return "off"
			case pend:
				return "pending"
			}
			return "on"
		}
		wantW[sys.Watches[i].Name] = state(sys.WatchRegistered(r.st, w), sys.WatchPending(r.st, w))
		gotW[sys.Watches[i].Name] = state(r.watchers[w] != nil, r.pending[w])
	}
	r.tolerate(n, pre, wantW, gotW)
	if d := cmp.Diff(wantW, gotW); d != "" {
		r.diverge(n, "watch", "watches (-model +daemon; pending: an event came that no handler took yet):\n"+d)
	}
	return nil
}

// tolerate accepts the watch differences that the model keeps on purpose
// and brings the executor's view in line with the model's:
// RmPhantomEvent (the model fires a watch below a removed node that did
// not exist; oxenstored does not) and TxnEventsFromBody (a commit fires
// for the body's requests even where they change nothing now).
func (r *run) tolerate(n int, pre model.State, want, got map[string]string) {
	if n == 0 || pre == nil {
		return
	}
	sys := r.sys
	t := &sys.Trans[r.last]
	body, own := sys.EffectiveOps(pre, t)
	for i := range sys.Watches {
		w := model.WatchID(i)
		name := sys.Watches[i].Name
		if want[name] == got[name] {
			continue
		}
		wp := sys.Paths[sys.Watches[i].Path].Name
		if want[name] == "pending" && got[name] == "on" {
			wid := sys.Watches[i].Path
			for _, op := range append(append([]model.Op{}, body...), own...) {
				rp := sys.Paths[op.Path].Name
				if (op.Kind == model.OpRm || op.Kind == model.OpCleanup) && strings.HasPrefix(wp, rp+"/") &&
					!sys.Exists(pre, wid) && !sys.Exists(pre, sys.Paths[wid].Parent) {
					r.rep.Known[RmPhantomEvent]++
					r.pending[w] = true
					got[name] = want[name]
					break
				}
			}
		}
		if want[name] != got[name] && t.Kind == model.Commit && want[name] != "off" && got[name] != "off" &&
			!firesAny(sys, own[1:], w) && (got[name] == "pending") == r.commitEvents(r.snaps[t.Actor], pre, body, w) {
			r.rep.Known[TxnEventsFromBody]++
			r.pending[w] = want[name] == "pending"
			got[name] = want[name]
		}
	}
}

// fires reports whether op, by its path alone, concerns watch w: it
// modifies the watched node or a node below it, or removes an ancestor.
func fires(sys *model.System, op model.Op, w model.WatchID) bool {
	if !op.Kind.IsWrite() || op.Kind == model.OpDomainGone {
		return false
	}
	wp, p := sys.Paths[sys.Watches[w].Path].Name, sys.Paths[op.Path].Name
	if p == wp || wp == "/" || strings.HasPrefix(p, wp+"/") {
		return true
	}
	return (op.Kind == model.OpRm || op.Kind == model.OpCleanup) && (p == "/" || strings.HasPrefix(wp, p+"/"))
}

func firesAny(sys *model.System, ops []model.Op, w model.WatchID) bool {
	for _, op := range ops {
		if fires(sys, op, w) {
			return true
		}
	}
	return false
}

// commitEvents is what oxenstored sends watch w at the commit of body,
// opened in snap and committed in pre: one event per modifying request
// that changed the snapshot, delivered if its node exists in the
// snapshot or after the commit, or its parent in the snapshot (see
// TxnEventsFromBody).
func (r *run) commitEvents(snap, pre model.State, body []model.Op, w model.WatchID) bool {
	sys := r.sys
	if snap == nil {
		snap = pre
	}
	cur := append(model.State(nil), snap...)
	post := append(model.State(nil), pre...)
	for _, op := range body {
		sys.ApplyOp(post, op)
	}
	wid := sys.Watches[w].Path
	for _, op := range body {
		noop := op.Kind == model.OpMkdir && sys.Exists(cur, op.Path) ||
			(op.Kind == model.OpRm || op.Kind == model.OpCleanup) && !sys.Exists(cur, op.Path)
		if !noop && fires(sys, op, w) {
			e := op.Path
			if strings.HasPrefix(sys.Paths[wid].Name, sys.Paths[op.Path].Name+"/") {
				e = wid
			}
			if sys.Exists(snap, e) || sys.Exists(post, e) || sys.Paths[e].Parent != model.NoPath && sys.Exists(snap, sys.Paths[e].Parent) {
				return true
			}
		}
		sys.ApplyOp(cur, op)
	}
	return false
}

// readStore reads the store back: the whole subtree below the root, or
// (on a live host) the model's own paths.
func (r *run) readStore(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	if !r.strict {
		for i := range r.sys.Paths {
			v, err := r.b.Read(ctx, r.mapPath(r.sys.Paths[i].Name))
			if errors.Is(err, realxs.ENOENT) {
				continue
			} else if err != nil {
				return nil, err
			}
			out[r.sys.Paths[i].Name] = string(v)
		}
		return out, nil
	}
	var walk func(p string) error
	walk = func(p string) error {
		v, err := r.b.Read(ctx, p)
		if errors.Is(err, realxs.ENOENT) {
			return nil
		} else if err != nil {
			return err
		}
		out[r.unmap(p)] = string(v)
		kids, err := r.b.Directory(ctx, p)
		if errors.Is(err, realxs.ENOENT) {
			return nil
		} else if err != nil {
			return err
		}
		for _, k := range kids {
			if err := walk(p + "/" + k); err != nil {
				return err
			}
		}
		return nil
	}
	return out, walk(r.root)
}

// cleanup aborts open transactions, removes the watches and removes what
// the run created, with a context of its own.
func (r *run) cleanup() error {
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
