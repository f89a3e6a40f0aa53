package conform

import (
	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/realxs/xstrace"
)

// A Tracker follows a real run change by change: Check in steps, for a
// run that is going on (package observe). Besides the changes that real
// components make (Change, Snapshot), the caller may take model steps
// itself (Played) when it performs them.
type Tracker struct {
	c       *checker
	set     []model.State
	real    xstrace.Store
	pending []xstrace.Change
	rep     *Report
}

// NewTracker starts following a run from the real store base. When base
// does not match the model's initial state, Report().Initial is false
// and the tracker explains nothing.
func NewTracker(sys *model.System, base xstrace.Store, opts Options) *Tracker {
	if opts.Depth <= 0 {
		opts.Depth = 10
	}
	if opts.Window <= 0 {
		opts.Window = 8
	}
	if opts.Opaque == nil {
		opts.Opaque = DefaultOpaque
	}
	if opts.MaxStates <= 0 {
		opts.MaxStates = 4096
	}
	if opts.Actors == nil {
		opts.Actors = ByRole
	}
	c := &checker{sys: sys, opts: opts}
	c.scope()
	t := &Tracker{c: c, rep: &Report{Fired: map[int]bool{}}, real: base.Clone()}
	init := sys.Initial()
	if c.modelKey(init) != c.realKey(t.real) {
		t.rep.InitialDiff = c.diff(init, t.real)
		return t
	}
	t.rep.Initial = true
	t.set = []model.State{init}
	return t
}

// Change applies one real change, with its writer, and explains it.
func (t *Tracker) Change(ch xstrace.Change) {
	if !t.rep.Initial {
		return
	}
	c := t.c
	before := c.realKey(t.real)
	for _, op := range ch.Ops {
		t.real.Apply(op)
	}
	if c.realKey(t.real) == before {
		return // nothing the model knows changed
	}
	t.rep.Steps++
	t.pending = append(t.pending, c.restrict(ch))
	actors := map[int]bool{}
	for _, p := range t.pending {
		for _, a := range c.opts.Actors(c.sys, p.Conn) {
			actors[a] = true
		}
	}
	t.explainPending(actors)
}

// Snapshot sets the real store to s, as read back from a live daemon,
// and explains the difference as one change by the actors given (a live
// read does not say who wrote).
func (t *Tracker) Snapshot(s xstrace.Store, writer string, actors []int) {
	if !t.rep.Initial || t.c.realKey(s) == t.c.realKey(t.real) {
		return
	}
	ch := xstrace.Change{Conn: &xstrace.Conn{Name: writer, Role: xstrace.Client}}
	for _, p := range t.c.names {
		old, had := t.real[p]
		v, ok := s[p]
		switch {
		case ok && (!had || old != v):
			ch.Ops = append(ch.Ops, xstrace.Op{Kind: "WRITE", Path: p, Value: v})
		case !ok && had:
			ch.Ops = append(ch.Ops, xstrace.Op{Kind: "RM", Path: p})
		}
	}
	t.real = s.Clone()
	t.rep.Steps++
	t.pending = append(t.pending, ch)
	set := map[int]bool{}
	for _, a := range actors {
		set[a] = true
	}
	t.explainPending(set)
}

func (t *Tracker) explainPending(actors map[int]bool) {
	c := t.c
	next, path := c.explain(t.set, c.realKey(t.real), actors)
	if next != nil {
		t.set = next
		t.rep.Groups = append(t.rep.Groups, c.group(t.pending, path, true, ""))
		t.rep.Explained += len(t.pending)
		if len(t.pending) > 1 {
			t.rep.Coarser++
		}
		for _, tr := range path {
			t.rep.Fired[tr] = true
		}
		t.pending = nil
		return
	}
	if len(t.pending) > c.opts.Window {
		// The oldest change waited long enough: it diverges. Go on from
		// the states the model can be in, with the real store as it is
		// now, so that one divergence is reported once.
		t.diverge()
		t.set = c.resync(t.set, t.real)
	}
}

func (t *Tracker) diverge() {
	g := t.c.group(t.pending, nil, false, t.c.diff(t.set[0], t.real))
	t.rep.Groups = append(t.rep.Groups, g)
	t.rep.Unexplained += len(t.pending)
	t.pending = nil
}

// Pending reports whether changes wait for their explanation.
func (t *Tracker) Pending() bool { return len(t.pending) > 0 }

// Settle ends the wait of pending changes: they diverge.
func (t *Tracker) Settle() {
	if len(t.pending) > 0 {
		t.diverge()
		t.set = t.c.resync(t.set, t.real)
	}
}

// Enabled reports whether tr is enabled in some state the model can be
// in, after steps of actors that change no compared node.
func (t *Tracker) Enabled(tr *model.Transition) bool {
	for _, st := range t.set {
		if t.c.sys.Enabled(st, tr) {
			return true
		}
	}
	return false
}

// States returns the model states consistent with the run so far.
func (t *Tracker) States() []model.State { return t.set }

// Played takes transition tr, which the caller performed for real, in
// every state where it is enabled, dropping the others. It returns false,
// and changes nothing, when tr is enabled in none.
func (t *Tracker) Played(tr *model.Transition) bool {
	var next []model.State
	for _, st := range t.set {
		if t.c.sys.Enabled(st, tr) {
			next = append(next, t.c.sys.Apply(st, tr))
		}
	}
	if next == nil {
		return false
	}
	t.set = next
	t.rep.Fired[tr.ID] = true
	// What the step wrote is the caller's own doing: the real store
	// follows the model's on the compared nodes.
	return true
}

// Finish ends the run: pending changes diverge, and the report is final.
func (t *Tracker) Finish() *Report {
	t.Settle()
	t.rep.Final = t.set
	return t.rep
}

// Report returns the report so far.
func (t *Tracker) Report() *Report { return t.rep }

// Paths returns the compared nodes, for a caller that reads them back
// from a live daemon (Snapshot).
func (t *Tracker) Paths() []string { return t.c.names }
