package difftest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/realxs"
	"github.com/xbcheck/xbcheck/realxs/exec"
	"github.com/xbcheck/xbcheck/realxs/xstest"
)

// The universe: a small tree with a sibling whose name has another
// node's name as a string prefix (/ab next to /a), and watches at several
// depths, including one below nodes that may not exist.
var (
	paths     = []string{"/", "/a", "/a/b", "/a/b/c", "/a/d", "/ab", "/e", "/e/f"}
	removable = paths[1:]
	values    = []string{"", "x", "y"}
	watchAt   = []string{"/", "/a", "/a/b/c", "/ab", "/e/f"}
)

const nClients = 3

// universe is the model of the universe: its paths, values and one actor
// holding every watch (its implicit "ignore" cases consume events).
type universe struct {
	sys    *model.System
	ignore []*model.Transition // by watch
}

func newUniverse(t testing.TB) *universe {
	b := model.NewBuilder("difftest")
	for _, p := range paths {
		b.Path(p)
	}
	for _, v := range values {
		b.Value(v)
	}
	ab := b.Actor("clients", model.Toolstack, -1, true)
	ab.Final("idle", "")
	for i, p := range watchAt {
		pid, _ := b.Sys().PathByName(p)
		ab.Watch(fmt.Sprintf("w%d", i), pid, false)
	}
	sys, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	u := &universe{sys: sys, ignore: make([]*model.Transition, len(watchAt))}
	for i := range sys.Trans {
		if tr := &sys.Trans[i]; tr.Kind == model.Ignore {
			u.ignore[tr.Watch] = tr
		}
	}
	return u
}

func (u *universe) p(s string) model.PathID {
	id, ok := u.sys.PathByName(s)
	if !ok {
		panic("no path " + s)
	}
	return id
}

func (u *universe) v(s string) model.Value {
	id, ok := u.sys.ValueByName(s)
	if !ok {
		panic("no value " + s)
	}
	return id
}

// A refTxn is a transaction on top of the model: a snapshot of the model
// state, in which the body's requests are applied, and their log.
//
// Two rules decide its commit. The model's (package model, "Xenstore
// semantics"): a transaction with a modifying request commits if every
// read still sees what it saw, and then every modifying request is
// applied to the current store. oxenstored's, as observed (the
// reference the daemon is held to): requests that changed nothing in
// the snapshot (MKDIR of an existing node, RM of a missing one) are not
// recorded, failed requests are, with their error, and the replay
// compares every recorded response. Where the two rules disagree, the
// difference is counted under its name (TxnNoopWrites,
// TxnFailedRequestReplayed).
type refTxn struct {
	start     model.State // the store at TRANSACTION_START
	snap      model.State
	log       []refReq
	attempted bool // a modifying request was made (the model's rule)
	effective bool // one changed the snapshot (oxenstored's rule)
	failed    bool // one failed
	live      *realxs.Tx
}

type refReq struct {
	// read is "READ /p", "DIRECTORY /p" or "RM /p": a request whose
	// response the replay compares (an RM's is "" or ENOENT); saw is
	// that response in the snapshot.
	read string
	saw  string
	// write: op modifies (RM included).
	write bool
	op    model.Op
	// noop: the write changed nothing in the snapshot.
	noop bool
	// fired and phantom: the watches the write fired in the snapshot
	// (all watches taken as registered); oxenstored fires those at
	// commit.
	fired, phantom []bool
}

// fires reports, per watch, whether op fires it in st (with every watch
// registered when all is set), and whether only as the model's event
// for a watch below a removed node that did not exist itself
// (RmPhantomEvent).
func (u *universe) fires(st model.State, op model.Op, all bool) (fired, phantom []bool) {
	cp := append(model.State(nil), st...)
	for w := range watchAt {
		if all && !u.sys.WatchRegistered(cp, model.WatchID(w)) {
			u.sys.ApplyOp(cp, model.WatchOp(model.WatchID(w)))
		}
		if u.sys.WatchPending(cp, model.WatchID(w)) {
			cp = u.sys.Apply(cp, u.ignore[w])
		}
	}
	u.sys.ApplyOp(cp, op)
	fired, phantom = make([]bool, len(watchAt)), make([]bool, len(watchAt))
	for w, wp := range watchAt {
		fired[w] = u.sys.WatchPending(cp, model.WatchID(w))
		phantom[w] = fired[w] && op.Kind == model.OpRm && wp != u.sys.Paths[op.Path].Name &&
			strings.HasPrefix(wp, u.sys.Paths[op.Path].Name+"/") && !u.seen(st, st, wp)
	}
	return fired, phantom
}

// seen reports whether oxenstored delivers an event for path e when the
// store goes from old to new: only if e exists in one of them, or its
// parent in old (it looks the node up to check that the watcher may read
// it; found by this test, see RmPhantomEvent and TxnEventsFromBody).
func (u *universe) seen(old, new model.State, e string) bool {
	id := u.p(e)
	return u.sys.Exists(old, id) || u.sys.Exists(new, id) || id != 0 && u.sys.Exists(old, u.sys.Paths[id].Parent)
}

// look is what a read request sees in st.
func (u *universe) look(st model.State, read string) string {
	kind, p, _ := strings.Cut(read, " ")
	id := u.p(p)
	if kind == "RM" {
		if !u.sys.Exists(st, u.sys.Paths[id].Parent) {
			return "ENOENT"
		}
		return ""
	}
	if !u.sys.Exists(st, id) {
		return "ENOENT"
	}
	if kind == "READ" {
		return fmt.Sprintf("%q", u.sys.Values[u.sys.Get(st, id)])
	}
	kids := u.sys.Children(st, id)
	slices.Sort(kids)
	return "[" + strings.Join(kids, " ") + "]"
}

// modelCommit is the model's rule; it applies the commit to st.
func (u *universe) modelCommit(st model.State, tx *refTxn) bool {
	if !tx.attempted {
		return true
	}
	for _, q := range tx.log {
		if !q.write && u.look(st, q.read) != q.saw {
			return false
		}
	}
	for _, q := range tx.log {
		if q.write {
			u.sys.ApplyOp(st, q.op)
		}
	}
	return true
}

// oxCommit is oxenstored's rule; it applies the commit to st. A
// transaction that changed nothing in its snapshot commits with no
// effect; otherwise every request is replayed in order on the current
// store (RMs included, whatever they did in the snapshot), and the
// commit succeeds, with the replay's result, if every response is the
// same.
func (u *universe) oxCommit(st model.State, tx *refTxn) bool {
	if !tx.effective {
		return true
	}
	cp := append(model.State(nil), st...)
	for _, q := range tx.log {
		if q.read != "" && u.look(cp, q.read) != q.saw {
			return false
		}
		if q.write {
			u.sys.ApplyOp(cp, q.op)
		}
	}
	copy(st, cp)
	return true
}

func storeOf(sys *model.System, st model.State) map[string]string { return sys.Store(st) }

// A seq is one random sequence: the model state, the clients, their
// watches and transactions.
type seq struct {
	u       *universe
	t       *rapid.T
	ctx     context.Context
	root    string
	st      model.State
	clients []*realxs.Client
	watches map[model.WatchID]*realxs.Watch
	txns    [nClients]*refTxn
	log     []string
	stats   *stats

	// The step's expectation, per watch: an event is required, allowed
	// as a known difference, or expected absent.
	required, phantom []bool
	// commit: the step is a commit, whose events the daemon derives
	// from the body's requests (TxnEventsFromBody).
	commit bool
}

// expect adds op, about to be applied to st, to the step's expectation.
func (s *seq) expect(st model.State, op model.Op) {
	f, ph := s.u.fires(st, op, false)
	for w := range f {
		s.required[w] = s.required[w] || f[w] && !ph[w]
		s.phantom[w] = s.phantom[w] || ph[w]
	}
}

type stats struct {
	seqs, ops, commits, eagains atomic.Int64
	known                       sync.Map // exec.Known -> *atomic.Int64
}

func (s *stats) count(k exec.Known) {
	v, _ := s.known.LoadOrStore(k, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func (s *seq) path(p string) string {
	if p == "/" {
		return s.root
	}
	return s.root + p
}

func (s *seq) fatalf(format string, args ...any) {
	s.t.Fatalf("%s\nafter:\n  %s", fmt.Sprintf(format, args...), strings.Join(s.log, "\n  "))
}

// errName is how a reply is compared: "" for success, else the errno.
func errName(err error) string {
	if err == nil {
		return ""
	}
	var en realxs.Errno
	if errors.As(err, &en) {
		return string(en)
	}
	return err.Error()
}

// check compares the outcome of one request.
func (s *seq) check(what, want, got string) {
	if want != got {
		s.fatalf("%s: model %s, daemon %s", what, want, got)
	}
}

func (s *seq) read(st realxs.Store, read string) string {
	kind, p, _ := strings.Cut(read, " ")
	if kind == "READ" {
		v, err := st.Read(s.ctx, s.path(p))
		if err != nil {
			return errName(err)
		}
		return fmt.Sprintf("%q", v)
	}
	kids, err := st.Directory(s.ctx, s.path(p))
	if err != nil {
		return errName(err)
	}
	slices.Sort(kids)
	return "[" + strings.Join(kids, " ") + "]"
}

// write performs a modifying request on the daemon (st) and returns the
// model's operation.
func (s *seq) write(st realxs.Store, kind, p, v string) (model.Op, error) {
	u := s.u
	switch kind {
	case "WRITE":
		return model.Write(u.p(p), u.v(v)), st.Write(s.ctx, s.path(p), []byte(v))
	case "MKDIR":
		return model.Mkdir(u.p(p)), st.Mkdir(s.ctx, s.path(p))
	case "RM":
		return model.Rm(u.p(p)), st.Rm(s.ctx, s.path(p))
	case "SET_PERMS":
		return model.SetPerms(u.p(p)), st.SetPerms(s.ctx, s.path(p), []realxs.Perm{{Domid: 0, Access: realxs.AccessRead}})
	}
	panic(kind)
}

// expectWriteErr is the error the model's semantics predict for a
// modifying request in st, with the known difference it stands for.
func (s *seq) expectWriteErr(st model.State, kind, p string) (string, exec.Known) {
	u := s.u
	id := u.p(p)
	switch {
	case kind == "SET_PERMS" && !u.sys.Exists(st, id):
		return "ENOENT", "" // the model: SET_PERMS of a missing node does nothing
	case kind == "RM" && !u.sys.Exists(st, u.sys.Paths[id].Parent):
		return "ENOENT", exec.RmMissingParent
	}
	return "", ""
}

// events compares the watch events delivered since the last call with the
// watches the model marks pending, then consumes both.
func (s *seq) events(what string) {
	u := s.u
	var wg sync.WaitGroup
	errs := make([]error, nClients)
	for i, c := range s.clients {
		wg.Go(func() { errs[i] = c.Sync(s.ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		s.fatalf("Sync: %v", err)
	}
	for i := range watchAt {
		w := model.WatchID(i)
		pending := u.sys.WatchPending(s.st, w)
		got := 0
		if lw := s.watches[w]; lw != nil {
			got = len(lw.Drain())
		}
		if s.commit {
			// oxenstored's events come from the recorded requests.
			if s.required[i] && got == 0 || got > 0 && !s.required[i] && !s.phantom[i] {
				s.fatalf("%s: watch %s: oxenstored's rule predicts required=%v, the daemon sent %d events", what, watchAt[i], s.required[i], got)
			}
			if pending != (got > 0) {
				s.stats.count(exec.TxnEventsFromBody)
			}
		} else {
			if pending != (s.required[i] || s.phantom[i]) {
				s.fatalf("%s: watch %s: the test's expectation (required=%v, phantom=%v) disagrees with the model (pending=%v)",
					what, watchAt[i], s.required[i], s.phantom[i], pending)
			}
			switch {
			case s.required[i] && got == 0:
				s.fatalf("%s: watch %s: the model fires it, the daemon sent no event", what, watchAt[i])
			case !pending && got > 0:
				s.fatalf("%s: watch %s: the model does not fire it, the daemon sent %d events", what, watchAt[i], got)
			case pending && got == 0:
				s.stats.count(exec.RmPhantomEvent)
			}
		}
		if got > 1 {
			s.stats.count(exec.EventMultiplicity)
		}
		if pending {
			s.st = u.sys.Apply(s.st, u.ignore[w])
		}
		s.required[i], s.phantom[i] = false, false
	}
	s.commit = false
}

// step draws and performs one request of one client.
func (s *seq) step() {
	u, t := s.u, s.t
	ci := rapid.IntRange(0, nClients-1).Draw(t, "client")
	c := s.clients[ci]
	tx := s.txns[ci]
	var kinds []string
	if tx == nil {
		kinds = []string{"WRITE", "WRITE", "MKDIR", "RM", "RM", "READ", "DIRECTORY", "SET_PERMS", "WATCH", "START", "START"}
	} else {
		kinds = []string{"WRITE", "MKDIR", "RM", "READ", "READ", "DIRECTORY", "COMMIT", "COMMIT", "ABORT"}
	}
	kind := rapid.SampledFrom(kinds).Draw(t, "kind")
	s.stats.ops.Add(1)
	what := fmt.Sprintf("client %d: %s", ci, kind)
	switch kind {
	case "WATCH":
		w := model.WatchID(rapid.IntRange(0, len(watchAt)-1).Draw(t, "watch"))
		what += " " + watchAt[w]
		if lw := s.watches[w]; lw != nil {
			s.log = append(s.log, what+" (again: UNWATCH)")
			if err := lw.Unwatch(s.ctx); err != nil {
				s.fatalf("%s: UNWATCH: %v", what, err)
			}
			delete(s.watches, w)
			u.sys.ApplyOp(s.st, model.UnwatchOp(w))
			s.events(what)
			return
		}
		// Each watch belongs to one client.
		lw, err := s.clients[int(w)%nClients].Watch(s.ctx, s.path(watchAt[w]), fmt.Sprintf("w%d", w))
		if err != nil {
			s.fatalf("%s: %v", what, err)
		}
		s.watches[w] = lw
		s.expect(s.st, model.WatchOp(w))
		u.sys.ApplyOp(s.st, model.WatchOp(w))
	case "START":
		ltx, err := c.StartTransaction(s.ctx)
		if err != nil {
			s.fatalf("%s: %v", what, err)
		}
		s.txns[ci] = &refTxn{start: append(model.State(nil), s.st...), snap: append(model.State(nil), s.st...), live: ltx}
	case "COMMIT", "ABORT":
		s.txns[ci] = nil
		if kind == "ABORT" {
			if err := tx.live.Abort(s.ctx); err != nil {
				s.fatalf("%s: %v", what, err)
			}
			break
		}
		mst := append(model.State(nil), s.st...)
		mOK := u.modelCommit(mst, tx)
		ost := append(model.State(nil), s.st...)
		oOK := u.oxCommit(ost, tx)
		want := ""
		if !oOK {
			want = "EAGAIN"
		}
		got := errName(tx.live.Commit(s.ctx))
		s.stats.commits.Add(1)
		if got == "EAGAIN" {
			s.stats.eagains.Add(1)
		}
		what += fmt.Sprintf(" (%d requests)", len(tx.log))
		if got == "" {
			// oxenstored commits either by its coalescing fast
			// path (the subtrees the transaction touched are
			// unchanged: its effective writes are merged, nothing
			// is replayed) or by the replay; the store tells which.
			cst := append(model.State(nil), s.st...)
			for _, q := range tx.log {
				if q.write && !q.noop {
					u.sys.ApplyOp(cst, q.op)
				}
			}
			live := s.liveStore()
			switch {
			case oOK && cmp.Equal(storeOf(u.sys, ost), live):
			case cmp.Equal(storeOf(u.sys, cst), live):
				if !oOK || !cmp.Equal(storeOf(u.sys, ost), storeOf(u.sys, cst)) {
					s.stats.count(exec.Coalesce)
				}
				oOK, ost = true, cst
			default:
				s.fatalf("%s: the daemon committed; store (-replay +daemon):\n%s\nstore (-coalesce +daemon):\n%s", what,
					cmp.Diff(storeOf(u.sys, ost), live), cmp.Diff(storeOf(u.sys, cst), live))
			}
		} else {
			s.check(what+" (oxenstored's rule)", want, got)
		}
		if mOK != oOK || !cmp.Equal(storeOf(u.sys, mst), storeOf(u.sys, ost)) {
			if tx.failed {
				s.stats.count(exec.TxnFailedRequestReplayed)
			} else {
				s.stats.count(exec.TxnNoopWrites)
			}
		}
		s.commit = true
		if oOK {
			// One event per recorded request, for the watches it
			// fired in the snapshot, delivered if its node or the
			// node's parent exists in the transaction's snapshot or
			// after the commit.
			for _, q := range tx.log {
				if !q.write || q.noop {
					continue
				}
				op := u.sys.Paths[q.op.Path].Name
				for w, wp := range watchAt {
					if !q.fired[w] || s.watches[model.WatchID(w)] == nil {
						continue
					}
					e := op
					if strings.HasPrefix(wp, op+"/") {
						e = wp
					}
					if u.seen(tx.start, ost, e) {
						s.required[w] = true
					} else {
						s.phantom[w] = true
					}
				}
			}
		}
		s.st = ost
	case "READ", "DIRECTORY":
		p := rapid.SampledFrom(paths).Draw(t, "path")
		read := kind + " " + p
		what += " " + p
		if tx != nil {
			saw := u.look(tx.snap, read)
			tx.log = append(tx.log, refReq{read: read, saw: saw})
			s.check(what+" (in txn)", saw, s.read(tx.live, read))
		} else {
			s.check(what, u.look(s.st, read), s.read(c, read))
		}
	default: // WRITE MKDIR RM SET_PERMS
		p := rapid.SampledFrom(removable).Draw(t, "path")
		v := ""
		if kind == "WRITE" {
			v = rapid.SampledFrom(values).Draw(t, "value")
		}
		what += fmt.Sprintf(" %s %q", p, v)
		if tx != nil {
			want, known := s.expectWriteErr(tx.snap, kind, p)
			op, err := s.write(tx.live, kind, p, v)
			what += " (in txn)"
			s.check(what, want, errName(err))
			if known != "" {
				s.stats.count(known)
			}
			tx.attempted = true
			q := refReq{write: true, op: op}
			if kind == "RM" {
				q.read, q.saw = "RM "+p, errName(err)
			}
			tx.failed = tx.failed || err != nil
			q.fired, q.phantom = u.fires(tx.snap, op, true)
			before := storeOf(u.sys, tx.snap)
			u.sys.ApplyOp(tx.snap, op)
			q.noop = kind != "WRITE" && kind != "SET_PERMS" && cmp.Equal(before, storeOf(u.sys, tx.snap))
			tx.log = append(tx.log, q)
			tx.effective = tx.effective || !q.noop
		} else {
			want, known := s.expectWriteErr(s.st, kind, p)
			op, err := s.write(c, kind, p, v)
			s.check(what, want, errName(err))
			if known != "" {
				s.stats.count(known)
			}
			s.expect(s.st, op)
			u.sys.ApplyOp(s.st, op)
		}
	}
	s.log = append(s.log, what)
	s.events(what)
}

// liveStore reads the subtree back.
func (s *seq) liveStore() map[string]string {
	got := map[string]string{}
	var walk func(p string)
	walk = func(p string) {
		v, err := s.clients[0].Read(s.ctx, p)
		if err != nil {
			s.fatalf("READ %s: %v", p, err)
		}
		name := strings.TrimPrefix(p, s.root)
		if name == "" {
			name = "/"
		}
		got[name] = string(v)
		kids, err := s.clients[0].Directory(s.ctx, p)
		if err != nil {
			s.fatalf("DIRECTORY %s: %v", p, err)
		}
		for _, k := range kids {
			walk(p + "/" + k)
		}
	}
	walk(s.root)
	return got
}

// store compares the subtree with the model's store.
func (s *seq) store() {
	if d := cmp.Diff(s.u.sys.Store(s.st), s.liveStore()); d != "" {
		s.fatalf("store (-model +daemon):\n%s", d)
	}
}

// run is one random sequence against the daemon of clients, below a
// fresh root.
func run(t *rapid.T, u *universe, clients []*realxs.Client, n *atomic.Int64, st *stats) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := &seq{u: u, t: t, ctx: ctx, root: fmt.Sprintf("/d%d", n.Add(1)), st: u.sys.Initial(),
		clients: clients, watches: map[model.WatchID]*realxs.Watch{}, stats: st,
		required: make([]bool, len(watchAt)), phantom: make([]bool, len(watchAt))}
	if err := clients[0].Write(ctx, s.root, nil); err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, w := range s.watches {
			w.Unwatch(ctx)
		}
		for _, tx := range s.txns {
			if tx != nil {
				tx.live.Abort(ctx)
			}
		}
		clients[0].Rm(ctx, s.root)
	}()
	steps := rapid.IntRange(1, 30).Draw(t, "steps")
	for range steps {
		s.step()
	}
	s.store()
	st.seqs.Add(1)
}

// Rounds and daemons: the test runs Daemons daemons side by side, each
// with Rounds rapid checks (100 sequences each by default, more with
// -rapid.checks).
const (
	Daemons = 4
	Rounds  = 8
)

// Reference: xenstore-wire.md 1.2, 1.6, 1.7; package model, "Xenstore
// semantics".
func TestModelAgreesWithOxenstored(t *testing.T) {
	u := newUniverse(t)
	st := &stats{}
	start := time.Now()
	t.Run("daemons", func(t *testing.T) {
		for d := range Daemons {
			t.Run(fmt.Sprint(d), func(t *testing.T) {
				t.Parallel()
				dm := xstest.Start(t, xstest.Options{})
				clients := make([]*realxs.Client, nClients)
				for i := range clients {
					clients[i] = dm.Dial(t)
				}
				var n atomic.Int64
				for range Rounds {
					rapid.Check(t, func(rt *rapid.T) { run(rt, u, clients, &n, st) })
				}
			})
		}
	})
	var known []string
	st.known.Range(func(k, v any) bool {
		known = append(known, fmt.Sprintf("%s=%d", k, v.(*atomic.Int64).Load()))
		return true
	})
	slices.Sort(known)
	t.Logf("%d sequences, %d requests, %d commits (%d EAGAIN) in %v; known differences: %s",
		st.seqs.Load(), st.ops.Load(), st.commits.Load(), st.eagains.Load(), time.Since(start).Round(time.Millisecond), strings.Join(known, " "))
}
