// Package conform judges the model by what a real Xen host did: it takes
// the changes a real run made to the store, in the order the daemon made
// them and with who made each one (package xstrace reads them from the
// daemon's request trace), and explains each change by transitions of the
// model's actors that play that writer: the toolstack's changes by the
// toolstack actors (libxl, with its hotplug scripts), a domain kernel's by
// the driver actors of that domain.
//
// Only the nodes the model knows are compared, and only in the scope of
// the model's devices: their frontend, backend and /libxl directories.
// Real drivers and libxl write many keys the model leaves out (params,
// feature-*, ...; docs/model.md), and values the model stands for with a
// representative (ring-ref, event-channel, sectors, physical-device) are
// compared by presence (Options.Opaque).
//
// The check keeps the set of model states consistent with the changes so
// far (the model is nondeterministic, and the trace does not show the
// actors' internal steps). For each change it searches, from every state
// in the set, the sequences of at most Options.Depth transitions after
// which the model's nodes equal the real ones, where every transition
// that changes a compared node belongs to an actor the writer may be;
// steps that change no compared node (reading, taking a watch event,
// deciding) may be any actor's. A real component's step is not always
// atomic where the model's is: blkfront publishes ring-ref and
// event-channel in one transaction and switches to Initialised in the
// next, and the block script writes physical-device well before
// hotplug-status. A change that no sequence explains therefore waits, up
// to Options.Window further changes, for the ones that complete it; the
// report counts such groups as Coarser. A change still unexplained then is
// a divergence between the model and the real host.
package conform

import (
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-cmp/cmp"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/realxs/xstrace"
)

// DefaultOpaque are the keys whose values the model stands for with a
// representative value, compared by presence: the ring references and
// event channels a frontend grants, the disk size blkback reports, the
// device number the block script finds, and the script's error message.
var DefaultOpaque = []string{"ring-ref", "event-channel", "tx-ring-ref", "rx-ring-ref", "event-channel-tx", "event-channel-rx", "sectors", "physical-device", "hotplug-error"}

// Options tune a check.
type Options struct {
	// Depth bounds the transitions that explain one group of changes
	// (default 10).
	Depth int
	// Window bounds the further real changes a change may wait for
	// before it counts as unexplained (default 8).
	Window int
	// Opaque keys are compared by presence (default DefaultOpaque).
	Opaque []string
	// MaxStates bounds the set of model states kept (default 4096).
	MaxStates int
	// Faults the model may take (by fault name: the real host did
	// something the model calls a fault, such as a frontend that refuses
	// to close while the disk is open). None by default.
	Faults []string
	// Actors returns the model actors that may have made a change of
	// connection c (default ByRole).
	Actors func(sys *model.System, c *xstrace.Conn) []int
	// Observed, when not nil, further limits the transitions that may
	// change a compared node in an explanation: those the real
	// components take, not those a player performs itself.
	Observed func(t *model.Transition) bool
}

// ByRole maps a connection to the actors that play it: a domain's kernel
// to the frontend and backend drivers of that domain, the toolstack and
// hotplug scripts to the toolstack actors (the model puts libxl's hotplug
// script steps into its device actors), and nothing else to anyone.
func ByRole(sys *model.System, c *xstrace.Conn) []int {
	var out []int
	for i, a := range sys.Actors {
		switch c.Role {
		case xstrace.Kernel:
			if (a.Kind == model.Frontend || a.Kind == model.Backend) && a.Domain == c.Domain {
				out = append(out, i)
			}
		case xstrace.Toolstack, xstrace.Hotplug:
			if a.Kind == model.Toolstack {
				out = append(out, i)
			}
		}
	}
	return out
}

// A Group is one or more real changes and the transitions that explain
// them together.
type Group struct {
	// Changes are the real changes, restricted to the compared nodes.
	Changes []xstrace.Change
	// Writers names who made them ("toolstack", "dom0-kernel", ...).
	Writers []string
	// Trans are the transitions of one explanation ("actor: transition"),
	// IDs their indexes in System.Trans.
	Trans []string
	IDs   []int
	// Explained is false for a divergence.
	Explained bool
	// Diff is, for a divergence, the model's nodes against the real ones
	// (-model +real) from the closest state the model can be in.
	Diff string
}

// A Report is the outcome of a check.
type Report struct {
	Groups []Group
	// Steps counts the real changes of compared nodes; Explained and
	// Unexplained split them.
	Steps, Explained, Unexplained int
	// Coarser counts the groups that explain more than one real change:
	// places where the model's step is coarser than the real one.
	Coarser int
	// Fired holds the transitions (indexes into System.Trans) of the
	// explanations.
	Fired map[int]bool
	// Initial is false when the real store before the run does not match
	// the model's initial state; InitialDiff then says how.
	Initial     bool
	InitialDiff string
	// Final holds the model states consistent with the whole run.
	Final []model.State
}

// Divergences returns the groups that are not explained.
func (r *Report) Divergences() []Group {
	var out []Group
	for _, g := range r.Groups {
		if !g.Explained {
			out = append(out, g)
		}
	}
	return out
}

// String summarises the report in one line.
func (r *Report) String() string {
	return fmt.Sprintf("%d steps observed, %d explained, %d unexplained, %d groups coarser in the model",
		r.Steps, r.Explained, r.Unexplained, r.Coarser)
}

// checker holds one check's compiled scope.
type checker struct {
	sys    *model.System
	opts   Options
	ids    []model.PathID // the compared nodes
	names  []string
	opaque []bool
}

// Check explains the changes tr.Changes[from:to] of a real run, starting
// from the real store base (everything the run's changes apply to), by
// the model sys, whose initial state must match base on the compared
// nodes.
func Check(sys *model.System, tr *xstrace.Trace, base xstrace.Store, from, to int, opts Options) *Report {
	t := NewTracker(sys, base, opts)
	if !t.rep.Initial {
		return t.rep
	}
	for _, ch := range tr.Changes[from:to] {
		t.Change(ch)
	}
	return t.Finish()
}

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

// scope collects the model's nodes at or below a device directory.
func (c *checker) scope() {
	var dirs []model.PathID
	for _, d := range c.sys.Devices {
		for _, p := range []model.PathID{d.FEDir, d.BEDir, d.LibxlDir} {
			if p != model.NoPath {
				dirs = append(dirs, p)
			}
		}
	}
	for i, p := range c.sys.Paths {
		for _, d := range dirs {
			if p.Name == c.sys.Paths[d].Name || strings.HasPrefix(p.Name, c.sys.Paths[d].Name+"/") {
				c.ids = append(c.ids, model.PathID(i))
				c.names = append(c.names, p.Name)
				c.opaque = append(c.opaque, slices.Contains(c.opts.Opaque, p.Name[strings.LastIndexByte(p.Name, '/')+1:]))
				break
			}
		}
	}
}

// key renders the compared nodes: absent, or present with their value
// ("*" for an opaque one).
func (c *checker) key(get func(i int) (string, bool)) string {
	var b strings.Builder
	for i := range c.ids {
		v, ok := get(i)
		switch {
		case !ok:
			b.WriteString("\x00-")
		case c.opaque[i]:
			b.WriteString("\x00*")
		default:
			b.WriteString("\x00=")
			b.WriteString(v)
		}
	}
	return b.String()
}

func (c *checker) modelKey(st model.State) string {
	return c.key(func(i int) (string, bool) {
		v := model.Value(st[c.ids[i]])
		if v == model.Absent {
			return "", false
		}
		return c.sys.Values[v], true
	})
}

func (c *checker) realKey(s xstrace.Store) string {
	return c.key(func(i int) (string, bool) {
		v, ok := s[c.names[i]]
		return v, ok
	})
}

func (c *checker) view(get func(i int) (string, bool)) map[string]string {
	m := map[string]string{}
	for i := range c.ids {
		if v, ok := get(i); ok {
			if c.opaque[i] {
				v = "*"
			}
			m[c.names[i]] = v
		}
	}
	return m
}

func (c *checker) diff(st model.State, real xstrace.Store) string {
	mv := c.view(func(i int) (string, bool) {
		v := model.Value(st[c.ids[i]])
		return c.sys.Values[v], v != model.Absent
	})
	rv := c.view(func(i int) (string, bool) { v, ok := real[c.names[i]]; return v, ok })
	return cmp.Diff(mv, rv)
}

// restrict keeps the operations of ch on compared nodes (an RM of an
// ancestor counts).
func (c *checker) restrict(ch xstrace.Change) xstrace.Change {
	out := ch
	out.Ops = nil
	for _, op := range ch.Ops {
		for _, n := range c.names {
			if n == op.Path || strings.HasPrefix(n, op.Path+"/") {
				out.Ops = append(out.Ops, op)
				break
			}
		}
	}
	return out
}

func (c *checker) group(changes []xstrace.Change, path []int, ok bool, diff string) Group {
	g := Group{Changes: slices.Clone(changes), Explained: ok, Diff: diff}
	seen := map[string]bool{}
	for _, ch := range changes {
		if w := ch.Conn.String(); !seen[w] {
			seen[w] = true
			g.Writers = append(g.Writers, w)
		}
	}
	for _, t := range path {
		tr := &c.sys.Trans[t]
		g.Trans = append(g.Trans, c.sys.Actors[tr.Actor].Name+": "+tr.Name)
		g.IDs = append(g.IDs, t)
	}
	return g
}

type node struct {
	st   model.State
	path []int
}

// explain returns the states, reachable from set in at most Depth steps,
// whose compared nodes are target, and one path to the first; nil when
// there is none. Transitions that change a compared node must belong to
// actors; faults only those allowed.
func (c *checker) explain(set []model.State, target string, actors map[int]bool) ([]model.State, []int) {
	sys := c.sys
	seen := map[uint64]bool{}
	var frontier []node
	for _, st := range set {
		fp := model.Fingerprint(st)
		if !seen[fp] {
			seen[fp] = true
			frontier = append(frontier, node{st: st})
		}
	}
	var found []model.State
	var first []int
	for _, n := range frontier {
		if c.modelKey(n.st) == target {
			found = append(found, n.st)
			first = []int{}
		}
	}
	for depth := 0; depth < c.opts.Depth && len(frontier) > 0 && found == nil; depth++ {
		var next []node
		for _, n := range frontier {
			nk := c.modelKey(n.st)
			sys.Successors(n.st, make(model.State, sys.Size()), func(t *model.Transition, s model.State) bool {
				if t.Fault != "" && !slices.Contains(c.opts.Faults, t.Fault) {
					return true
				}
				fp := model.Fingerprint(s)
				if seen[fp] {
					return true
				}
				sk := c.modelKey(s)
				if sk != nk && (!actors[t.Actor] || c.opts.Observed != nil && !c.opts.Observed(t)) {
					return true
				}
				seen[fp] = true
				st := slices.Clone(s)
				path := append(slices.Clone(n.path), t.ID)
				if sk == target {
					if found == nil {
						first = path
					}
					if len(found) < c.opts.MaxStates {
						found = append(found, st)
					}
					return true
				}
				if len(next) < 64*c.opts.MaxStates {
					next = append(next, node{st: st, path: path})
				}
				return true
			})
		}
		frontier = next
	}
	return found, first
}

// resync returns the states reachable from set by any non-fault steps
// whose compared nodes equal real, or set itself when there are none.
func (c *checker) resync(set []model.State, real xstrace.Store) []model.State {
	all := map[int]bool{}
	for i := range c.sys.Actors {
		all[i] = true
	}
	if next, _ := c.explain(set, c.realKey(real), all); next != nil {
		return next
	}
	return set
}
