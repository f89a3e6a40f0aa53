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
)

// The daemons, named as package xenhost and model.ConflictRule name them:
// each has its own transaction rule and its own watch events, and the
// reference follows the daemon's.
const (
	Oxenstored = "oxenstored"
	CXenstored = "cxenstored"
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

// The requests a transaction makes, in the C xenstored reference's
// probes (see universe.probes).
var (
	txnReads  = []string{"READ", "DIRECTORY"}
	txnWrites = []string{"WRITE", "MKDIR", "RM"}
)

// universe is the model of the universe: its paths, values and one actor
// holding every watch (its implicit "ignore" cases consume events).
//
// For C xenstored the system uses the model's C xenstored conflict rule
// (model.CXenstored), and holds one probe per client, request kind and
// path: an actor whose transaction body is that one request. A live
// transaction's request opens its probe in the model state (the model's
// body runs at that point, recording what the model's rule records) and
// the commit asks the model whether any of the transaction's probes
// conflicts: the model's own rule, applied to the requests as C
// xenstored sees them, one at a time and not at the start.
type universe struct {
	sys    *model.System
	daemon string
	ignore []*model.Transition // by watch
	probes map[probeKey]*probe
}

type probeKey struct {
	client     int
	kind, path string
}

// A probe is a one-request transaction body of the model and the EAGAIN
// transition that closes it, enabled when the model's rule fails it.
type probe struct {
	name         string
	body, eagain *model.Transition
}

func newUniverse(t testing.TB, daemon string, clients int) *universe {
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
	type decl struct {
		key   probeKey
		actor int
	}
	var decls []decl
	if daemon == CXenstored {
		b.SetConflict(model.CXenstored)
		for c := range clients {
			for _, kind := range append(slices.Clone(txnReads), txnWrites...) {
				ps := paths
				if slices.Contains(txnWrites, kind) {
					ps = removable
				}
				for _, p := range ps {
					pid, _ := b.Sys().PathByName(p)
					var op model.Op
					switch kind {
					case "READ":
						op = model.Read(pid)
					case "DIRECTORY":
						op = model.Directory(pid)
					case "WRITE":
						op = model.Write(pid, model.Empty)
					case "MKDIR":
						op = model.Mkdir(pid)
					case "RM":
						op = model.Rm(pid)
					}
					pb := b.Actor(fmt.Sprintf("client %d: %s %s", c, kind, p), model.Toolstack, -1, false)
					idle, open := pb.Final("idle", ""), pb.Loc("open", "")
					pb.T(model.Transition{Name: "body", From: idle, To: open, Kind: model.TxnBody, Ops: []model.Op{op}})
					pb.T(model.Transition{Name: "eagain", From: open, To: idle, Kind: model.EAGAIN, Guard: []model.Cond{model.Conflict()}})
					decls = append(decls, decl{probeKey{c, kind, p}, pb.Index()})
				}
			}
		}
	}
	sys, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	u := &universe{sys: sys, daemon: daemon, ignore: make([]*model.Transition, len(watchAt)), probes: map[probeKey]*probe{}}
	for i := range sys.Trans {
		if tr := &sys.Trans[i]; tr.Kind == model.Ignore && sys.Actors[tr.Actor].Name == "clients" {
			u.ignore[tr.Watch] = tr
		}
	}
	for _, d := range decls {
		pr := &probe{name: sys.Actors[d.actor].Name}
		for _, ti := range sys.Actors[d.actor].Trans {
			switch tr := &sys.Trans[ti]; tr.Kind {
			case model.TxnBody:
				pr.body = tr
			case model.EAGAIN:
				pr.eagain = tr
			}
		}
		u.probes[d.key] = pr
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

// below reports whether path q is strictly below path p.
func (u *universe) below(q, p model.PathID) bool {
	for a := u.sys.Paths[q].Parent; a != model.NoPath; a = u.sys.Paths[a].Parent {
		if a == p {
			return true
		}
	}
	return false
}

// A refTxn is a transaction as the reference sees it.
//
// oxenstored (snapshot isolation): a snapshot of the model state, in
// which the body's requests are applied, and their log. Two rules decide
// its commit. The model's (package model, "Xenstore semantics"): a
// transaction with a modifying request commits if every read still sees
// what it saw, and then every modifying request is applied to the
// current store. oxenstored's, as observed (the reference the daemon is
// held to): requests that changed nothing in the snapshot (MKDIR of an
// existing node, RM of a missing one) are not recorded, failed requests
// are, with their error, and the replay compares every recorded
// response. Where the two rules disagree, the difference is counted
// under its name (TxnNoopWrites, TxnFailedRequestReplayed).
//
// C xenstored (no snapshot: a request sees the current store, with the
// transaction's own requests applied): the model's probes opened by the
// requests, the modifying requests in order, and what the commit's watch
// events need (see cxAccess).
type refTxn struct {
	live *realxs.Tx

	// oxenstored
	start     model.State // the store at TRANSACTION_START
	snap      model.State
	log       []refReq
	attempted bool // a modifying request was made (the model's rule)
	effective bool // one changed the snapshot (oxenstored's rule)
	failed    bool // one failed

	// C xenstored
	ops    []model.Op
	probes []*probe
	probed map[probeKey]bool
	// first: whether a node existed when the transaction first touched
	// it; queued: the nodes whose watches the commit fires, with the
	// event's exactness (xenstored_transaction.c, queue_watches), in
	// order.
	first  map[model.PathID]bool
	queued map[model.PathID]bool
	order  []model.PathID
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
// for a watch below a removed node that the daemon does not deliver
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
		phantom[w] = fired[w] && op.Kind == model.OpRm && u.below(u.p(wp), op.Path) && !u.seenBelowRm(st, wp)
	}
	return fired, phantom
}

// seenBelowRm reports whether the daemon delivers an event for watched
// path e below a node removed from st (found by this test, see
// RmPhantomEvent). oxenstored: only if e exists, or its parent (it looks
// them up to check that the watcher may read the node). C xenstored:
// only if e exists (xenstored_core.c, delnode_sub: one exact event per
// deleted node; the non-exact one of the removed node reaches watches
// on it and above).
func (u *universe) seenBelowRm(st model.State, e string) bool {
	if u.daemon == CXenstored {
		return u.sys.Exists(st, u.p(e))
	}
	return u.seen(st, st, e)
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

// modelCommit is the model's rule for oxenstored (see refTxn); it
// applies the commit to st.
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

// Stats are the figures of a differential run.
type Stats struct {
	// Daemon is Oxenstored or CXenstored.
	Daemon string
	// Sequences counts the random sequences run to the end; Requests
	// the requests they made (the setup, the checks' reads and the
	// clean-up left out); Commits and EAGAINs the commits and how many
	// the daemon failed.
	Sequences, Requests, Commits, EAGAINs int64
	// DoomedReads counts the reads inside C xenstored transactions that
	// the model's rule already fails: the model never sees what such a
	// read returns (its transaction body is retried), so it is not
	// compared.
	DoomedReads int64
	// Known counts the known differences met, by name (exec.Known).
	Known map[exec.Known]int64
	// Unexplained counts the divergences that no name explains: a
	// failing sequence, reported (shrunk) through the test, which fails.
	// The run stops at the first.
	Unexplained int
	Elapsed     time.Duration
}

// String is the one-line report of a run.
func (st Stats) String() string {
	var known []string
	for k, n := range st.Known {
		known = append(known, fmt.Sprintf("%s=%d", k, n))
	}
	slices.Sort(known)
	s := fmt.Sprintf("%s: %d sequences, %d requests, %d commits (%d EAGAIN) in %v; %d unexplained; known differences: %s",
		st.Daemon, st.Sequences, st.Requests, st.Commits, st.EAGAINs, st.Elapsed.Round(time.Millisecond), st.Unexplained, strings.Join(known, " "))
	if st.DoomedReads > 0 {
		s += fmt.Sprintf("; %d reads in transactions the model fails, not compared", st.DoomedReads)
	}
	return s
}

// counters are a run's figures, shared by concurrent sequences.
type counters struct {
	seqs, ops, commits, eagains, doomed atomic.Int64
	known                               sync.Map // exec.Known -> *atomic.Int64
}

func (c *counters) count(k exec.Known) {
	v, _ := c.known.LoadOrStore(k, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func (c *counters) stats(daemon string, elapsed time.Duration) Stats {
	st := Stats{Daemon: daemon, Sequences: c.seqs.Load(), Requests: c.ops.Load(), Commits: c.commits.Load(),
		EAGAINs: c.eagains.Load(), DoomedReads: c.doomed.Load(), Known: map[exec.Known]int64{}, Elapsed: elapsed}
	c.known.Range(func(k, v any) bool {
		st.Known[k.(exec.Known)] = v.(*atomic.Int64).Load()
		return true
	})
	return st
}

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
	txns    []*refTxn
	log     []string
	stats   *counters
	failing *atomic.Bool // set at the first divergence (see runner)

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

func (s *seq) path(p string) string {
	if p == "/" {
		return s.root
	}
	return s.root + p
}

func (s *seq) fatalf(format string, args ...any) {
	s.failing.Store(true)
	s.t.Fatalf("%s: %s\nafter:\n  %s", s.u.daemon, fmt.Sprintf(format, args...), strings.Join(s.log, "\n  "))
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
// watches the model marks pending, then consumes both. It syncs the
// clients that hold a watch, which is enough (realxs.Client.Sync).
func (s *seq) events(what string) {
	u := s.u
	var wg sync.WaitGroup
	errs := make([]error, len(s.clients))
	for i, c := range s.clients {
		for w := range s.watches {
			if int(w)%len(s.clients) == i {
				wg.Go(func() { errs[i] = c.Sync(s.ctx) })
				break
			}
		}
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
		switch {
		case s.commit && u.daemon == CXenstored:
			// C xenstored's events come from the nodes the
			// transaction touched (cxCommitEvents), a subset of
			// the model's.
			if s.required[i] != (got > 0) {
				s.fatalf("%s: watch %s: C xenstored's commit rule predicts an event=%v, the daemon sent %d events", what, watchAt[i], s.required[i], got)
			}
			if s.required[i] && !pending {
				s.fatalf("%s: watch %s: the daemon sent %d events for the commit, the model fires nothing", what, watchAt[i], got)
			}
			if pending && !s.required[i] {
				s.stats.count(exec.TxnEventsFromBody)
			}
		case s.commit:
			// oxenstored's events come from the recorded requests.
			if s.required[i] && got == 0 || got > 0 && !s.required[i] && !s.phantom[i] {
				s.fatalf("%s: watch %s: oxenstored's rule predicts required=%v, the daemon sent %d events", what, watchAt[i], s.required[i], got)
			}
			if pending != (got > 0) {
				s.stats.count(exec.TxnEventsFromBody)
			}
		default:
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
	ci := rapid.IntRange(0, len(s.clients)-1).Draw(t, "client")
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
		lw, err := s.clients[int(w)%len(s.clients)].Watch(s.ctx, s.path(watchAt[w]), fmt.Sprintf("w%d", w))
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
		ntx := newCxTxn(ltx)
		ntx.start, ntx.snap = append(model.State(nil), s.st...), append(model.State(nil), s.st...)
		s.txns[ci] = ntx
	case "COMMIT", "ABORT":
		s.txns[ci] = nil
		if kind == "ABORT" {
			if u.daemon == CXenstored {
				s.cxClose(tx)
			}
			if err := tx.live.Abort(s.ctx); err != nil {
				s.fatalf("%s: %v", what, err)
			}
			break
		}
		if u.daemon == CXenstored {
			what = s.cxCommit(what, tx)
		} else {
			what = s.oxCommit(what, tx)
		}
	case "READ", "DIRECTORY":
		p := rapid.SampledFrom(paths).Draw(t, "path")
		read := kind + " " + p
		what += " " + p
		switch {
		case tx == nil:
			s.check(what, u.look(s.st, read), s.read(c, read))
		case u.daemon == CXenstored:
			what = s.cxRead(what, ci, tx, kind, p)
		default:
			saw := u.look(tx.snap, read)
			tx.log = append(tx.log, refReq{read: read, saw: saw})
			s.check(what+" (in txn)", saw, s.read(tx.live, read))
		}
	default: // WRITE MKDIR RM SET_PERMS
		p := rapid.SampledFrom(removable).Draw(t, "path")
		v := ""
		if kind == "WRITE" {
			v = rapid.SampledFrom(values).Draw(t, "value")
		}
		what += fmt.Sprintf(" %s %q", p, v)
		switch {
		case tx == nil:
			want, known := s.expectWriteErr(s.st, kind, p)
			op, err := s.write(c, kind, p, v)
			s.check(what, want, errName(err))
			if known != "" {
				s.stats.count(known)
			}
			s.expect(s.st, op)
			u.sys.ApplyOp(s.st, op)
		case u.daemon == CXenstored:
			what = s.cxWrite(what, ci, tx, kind, p, v)
		default:
			s.oxWrite(what, tx, kind, p, v)
			what += " (in txn)"
		}
	}
	s.log = append(s.log, what)
	s.events(what)
}

// oxWrite performs a modifying request in an oxenstored transaction.
func (s *seq) oxWrite(what string, tx *refTxn, kind, p, v string) {
	u := s.u
	want, known := s.expectWriteErr(tx.snap, kind, p)
	op, err := s.write(tx.live, kind, p, v)
	s.check(what+" (in txn)", want, errName(err))
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
}

// oxCommit commits an oxenstored transaction and sets the step's
// expected events.
func (s *seq) oxCommit(what string, tx *refTxn) string {
	u := s.u
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
	return what
}

// C xenstored's transactions (xenstored_transaction.c) have no snapshot:
// a request reads the current store, except for the nodes the
// transaction touched already, of which it keeps its own copies; the
// commit fails with EAGAIN when a node it touched was modified since
// (its generation count changed). The reference is the model's C
// xenstored rule, asked through the probes: each request of the
// transaction opens its probe when it is made, and the commit is EAGAIN
// exactly when one of them conflicts. While none does, every node the
// transaction touched is as it was, so a request must see the current
// store with the transaction's own modifying requests applied
// (cxView); once one does, the model's transaction is lost (its body is
// retried), and what the daemon answers is not compared.

// cxOpen opens the probe of a request in the transaction of client ci:
// the model records what that request reads now, when C xenstored
// records the generation of what it touches.
func (s *seq) cxOpen(ci int, tx *refTxn, kind, p string) {
	k := probeKey{ci, kind, p}
	if tx.probed[k] {
		return // C xenstored keeps the first access
	}
	tx.probed[k] = true
	pr := s.u.probes[k]
	s.st = s.u.sys.Apply(s.st, pr.body)
	tx.probes = append(tx.probes, pr)
}

// cxConflicts names the transaction's probes the model's rule fails.
func (s *seq) cxConflicts(tx *refTxn) []string {
	var names []string
	for _, pr := range tx.probes {
		if s.u.sys.Enabled(s.st, pr.eagain) {
			names = append(names, pr.name)
		}
	}
	return names
}

// cxClose closes the transaction's probes, applying nothing.
func (s *seq) cxClose(tx *refTxn) {
	for _, pr := range tx.probes {
		s.st = s.u.sys.Apply(s.st, pr.eagain)
	}
	tx.probes = nil
}

// cxView is the store as a C xenstored transaction sees it while the
// model's rule does not fail it: the current store with the
// transaction's modifying requests applied in order.
func (s *seq) cxView(tx *refTxn) model.State {
	v := append(model.State(nil), s.st...)
	for _, op := range tx.ops {
		s.u.sys.ApplyOp(v, op)
	}
	return v
}

// cxAccess records what request op, made in view, touches for the
// commit's watch events: whether each node it touches existed when the
// transaction first touched it, and the nodes whose watches fire
// (xenstored_core.c: do_write and do_mkdir fire for the node written,
// not for the parents created; delnode_sub fires an exact event for
// every node removed below the removed one).
func (u *universe) cxAccess(tx *refTxn, view model.State, op model.Op) {
	sys := u.sys
	touch := func(p model.PathID) {
		if _, ok := tx.first[p]; !ok {
			tx.first[p] = sys.Exists(view, p)
		}
	}
	queue := func(p model.PathID, exact bool) {
		if e, ok := tx.queued[p]; !ok {
			tx.queued[p] = exact
			tx.order = append(tx.order, p)
		} else if e && !exact {
			tx.queued[p] = false // a non-exact event replaces an exact one
		}
	}
	touch(op.Path)
	switch op.Kind {
	case model.OpRead, model.OpDirectory:
	case model.OpWrite, model.OpMkdir:
		for q := sys.Paths[op.Path].Parent; q != model.NoPath && !sys.Exists(view, q); q = sys.Paths[q].Parent {
			touch(q)
		}
		if op.Kind == model.OpWrite || !sys.Exists(view, op.Path) {
			queue(op.Path, false)
		}
	case model.OpRm:
		if !sys.Exists(view, op.Path) {
			break
		}
		for d := range sys.Paths {
			if id := model.PathID(d); u.below(id, op.Path) && sys.Exists(view, id) {
				touch(id)
				queue(id, true)
			}
		}
		queue(op.Path, false)
	}
}

// cxRead performs a read in a C xenstored transaction.
func (s *seq) cxRead(what string, ci int, tx *refTxn, kind, p string) string {
	u := s.u
	read := kind + " " + p
	doomed := s.cxConflicts(tx)
	view := s.cxView(tx)
	s.cxOpen(ci, tx, kind, p)
	op := model.Read(u.p(p))
	if kind == "DIRECTORY" {
		op = model.Directory(u.p(p))
	}
	s.u.cxAccess(tx, view, op)
	got := s.read(tx.live, read)
	if len(doomed) > 0 {
		s.stats.doomed.Add(1)
		return fmt.Sprintf("%s (in txn: %s; not compared: the model fails the transaction)", what, got)
	}
	s.check(what+" (in txn)", u.look(view, read), got)
	return what + " (in txn)"
}

// cxWrite performs a modifying request in a C xenstored transaction.
func (s *seq) cxWrite(what string, ci int, tx *refTxn, kind, p, v string) string {
	doomed := s.cxConflicts(tx)
	view := s.cxView(tx)
	want, known := s.expectWriteErr(view, kind, p)
	s.cxOpen(ci, tx, kind, p)
	op, err := s.write(tx.live, kind, p, v)
	s.u.cxAccess(tx, view, op)
	tx.ops = append(tx.ops, op)
	if len(doomed) > 0 {
		s.stats.doomed.Add(1)
		return fmt.Sprintf("%s (in txn: %s; not compared: the model fails the transaction)", what, errName(err))
	}
	s.check(what+" (in txn)", want, errName(err))
	if known != "" {
		s.stats.count(known)
	}
	return what + " (in txn)"
}

// cxCommit commits a C xenstored transaction and sets the step's
// expected events.
func (s *seq) cxCommit(what string, tx *refTxn) string {
	u := s.u
	conflicts := s.cxConflicts(tx)
	s.cxClose(tx)
	want := ""
	if len(conflicts) > 0 {
		want = "EAGAIN"
	}
	got := errName(tx.live.Commit(s.ctx))
	s.stats.commits.Add(1)
	if got == "EAGAIN" {
		s.stats.eagains.Add(1)
	}
	what += fmt.Sprintf(" (%d modifying requests)", len(tx.ops))
	if len(conflicts) > 0 {
		what += " (the model's rule fails it: " + strings.Join(conflicts, "; ") + ")"
	}
	s.check(what+" (the model's C xenstored rule)", want, got)
	if got != "" {
		return what
	}
	for _, op := range tx.ops {
		u.sys.ApplyOp(s.st, op)
	}
	s.commit = true
	for w, wp := range watchAt {
		if s.watches[model.WatchID(w)] != nil && u.cxCommitFires(tx, s.st, wp) {
			s.required[w] = true
		}
	}
	return what
}

// cxCommitFires reports whether C xenstored fires a watch on wp when tx
// has committed, leaving the store after: for each node the transaction
// queued an event for, if the watcher may read it, which for dom0 is if
// the node existed when the transaction first touched it (its
// permissions were recorded) or exists after the commit
// (finalize_transaction, watch_permitted).
func (u *universe) cxCommitFires(tx *refTxn, after model.State, wp string) bool {
	wid := u.p(wp)
	for _, n := range tx.order {
		if !tx.first[n] && !u.sys.Exists(after, n) {
			continue
		}
		if n == wid || !tx.queued[n] && u.below(n, wid) {
			return true
		}
	}
	return false
}

// newCxTxn is a C xenstored transaction with nothing done yet.
func newCxTxn(live *realxs.Tx) *refTxn {
	return &refTxn{live: live, probed: map[probeKey]bool{}, first: map[model.PathID]bool{}, queued: map[model.PathID]bool{}}
}

// liveStore reads the subtree back, reading each node's value and
// children at once and the children side by side (a daemon in a VM
// takes a while to answer each request).
func (s *seq) liveStore() map[string]string {
	var (
		mu   sync.Mutex
		got  = map[string]string{}
		errs []error
		wg   sync.WaitGroup
		walk func(p string)
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	walk = func(p string) {
		var kids []string
		var kerr error
		var inner sync.WaitGroup
		inner.Go(func() { kids, kerr = s.clients[0].Directory(s.ctx, p) })
		v, err := s.clients[0].Read(s.ctx, p)
		inner.Wait()
		if err != nil {
			fail(fmt.Errorf("READ %s: %w", p, err))
			return
		}
		if kerr != nil {
			fail(fmt.Errorf("DIRECTORY %s: %w", p, kerr))
			return
		}
		name := strings.TrimPrefix(p, s.root)
		if name == "" {
			name = "/"
		}
		mu.Lock()
		got[name] = string(v)
		mu.Unlock()
		for _, k := range kids {
			wg.Go(func() { walk(p + "/" + k) })
		}
	}
	wg.Go(func() { walk(s.root) })
	wg.Wait()
	if len(errs) > 0 {
		s.fatalf("reading the store back: %v", errors.Join(errs...))
	}
	return got
}

// store compares the subtree with the model's store.
func (s *seq) store() {
	if d := cmp.Diff(s.u.sys.Store(s.st), s.liveStore()); d != "" {
		s.fatalf("store (-model +daemon):\n%s", d)
	}
}

// A runner runs random sequences against one daemon's clients.
type runner struct {
	u        *universe
	clients  []*realxs.Client
	stats    *counters
	prefix   string       // of each sequence's root
	n        atomic.Int64 // sequences started
	deadline time.Time    // zero: none
	// failing is set by the runner's first divergence: from then on
	// its sequences run whatever the deadline, so that rapid can shrink
	// it. stop, shared by the runners of one run, ends the others'.
	failing atomic.Bool
	stop    *atomic.Bool
}

// run is one random sequence against the daemon of clients, below a
// fresh root. Past the runner's deadline, or once another runner of the
// run failed, it does nothing, unless this runner found a divergence
// (then rapid is shrinking it).
func (r *runner) run(t *rapid.T) {
	if !r.failing.Load() && (!r.deadline.IsZero() && time.Now().After(r.deadline) || r.stop != nil && r.stop.Load()) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	u, clients, stats := r.u, r.clients, r.stats
	if r.failing.Load() {
		stats = &counters{} // rapid is shrinking: the figures are the search's
	}
	s := &seq{u: u, t: t, ctx: ctx, root: fmt.Sprintf("%s%d", r.prefix, r.n.Add(1)), st: u.sys.Initial(),
		clients: clients, watches: map[model.WatchID]*realxs.Watch{}, stats: stats, failing: &r.failing, txns: make([]*refTxn, len(clients)),
		required: make([]bool, len(watchAt)), phantom: make([]bool, len(watchAt))}
	if err := clients[0].Write(ctx, s.root, nil); err != nil {
		s.fatalf("WRITE %s: %v", s.root, err)
	}
	defer func() {
		var wg sync.WaitGroup
		for _, w := range s.watches {
			wg.Go(func() { w.Unwatch(ctx) })
		}
		for _, tx := range s.txns {
			if tx != nil {
				wg.Go(func() { tx.live.Abort(ctx) })
			}
		}
		wg.Wait()
		clients[0].Rm(ctx, s.root)
	}()
	steps := rapid.IntRange(1, 30).Draw(t, "steps")
	for range steps {
		s.step()
	}
	s.store()
	stats.seqs.Add(1)
}

// errFailNow stops a rapid check that failed, so that Live can return
// its figures (see noExit).
var errFailNow = errors.New("difftest: rapid check failed")

// noExit is the test as rapid sees it: FailNow panics with errFailNow
// instead of ending the test's goroutine.
type noExit struct{ testing.TB }

func (n noExit) FailNow() { panic(errFailNow) }
func (n noExit) Fatalf(format string, args ...any) {
	n.TB.Helper()
	n.TB.Errorf(format, args...)
	n.FailNow()
}
func (n noExit) Fatal(args ...any) {
	n.TB.Helper()
	n.TB.Error(args...)
	n.FailNow()
}

// check runs one rapid check (100 sequences, or -rapid.checks) and
// reports whether it found a divergence. t may be failed by another
// runner meanwhile: that one's failure is not this one's.
func (r *runner) check(t testing.TB) (failed bool) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil && p != errFailNow {
			panic(p)
		}
		failed = r.failing.Load()
	}()
	rapid.Check(noExit{t}, func(rt *rapid.T) {
		defer func() {
			if p := recover(); p != nil {
				r.failing.Store(true) // a failure of the sequence (rapid's Fatalf panics too)
				panic(p)
			}
		}()
		r.run(rt)
	})
	return r.failing.Load()
}

// GroupSize is the number of clients one sequence uses.
const GroupSize = 3

// Live runs random sequences of requests against the daemon that every
// client in clients is connected to (all with dom0's privileges), for
// about budget, and holds the daemon to the model: the values, listings
// and errors of every request, the watch events after each, the outcome
// of every commit, and the whole store after each sequence. daemon
// (Oxenstored or CXenstored) chooses the transaction rule the reference
// follows: oxenstored's replay (the model's oxenstored rule, with
// oxenstored's own as observed on top, see refTxn), or the model's C
// xenstored rule (model.CXenstored) itself.
//
// The clients are split into groups of GroupSize (at least one group of
// two): each group runs its own sequences, side by side with the
// others, which pays off where each request waits long for its answer
// (a daemon in a VM). Every sequence works below a fresh node
// (/difftest-<daemon>-<run>-<group>-<n>) and removes it at the end.
//
// A divergence that no known difference explains fails t, after rapid
// has shrunk it, and ends the run; the figures, returned either way,
// count it in Unexplained.
func Live(t testing.TB, clients []*realxs.Client, daemon string, budget time.Duration) Stats {
	t.Helper()
	start := time.Now()
	if daemon != Oxenstored && daemon != CXenstored {
		t.Fatalf("difftest: unknown daemon %q (want %q or %q)", daemon, Oxenstored, CXenstored)
	}
	if len(clients) < 2 {
		t.Fatalf("difftest: %d clients; want 2 at least", len(clients))
	}
	groups := [][]*realxs.Client{clients}
	if len(clients) >= 2*GroupSize {
		groups = nil
		for i := 0; i+GroupSize <= len(clients); i += GroupSize {
			groups = append(groups, clients[i:i+GroupSize])
		}
	}
	stats, stop := &counters{}, &atomic.Bool{}
	run := time.Now().UnixNano() % 1e9
	var unexplained atomic.Int64
	var wg sync.WaitGroup
	for g, cs := range groups {
		r := &runner{u: newUniverse(t, daemon, len(cs)), clients: cs, stats: stats, stop: stop,
			prefix: fmt.Sprintf("/difftest-%s-%d-%d-", daemon, run, g), deadline: start.Add(budget)}
		wg.Go(func() {
			for time.Now().Before(r.deadline) && !stop.Load() {
				if r.check(t) {
					unexplained.Add(1)
					stop.Store(true)
				}
			}
		})
	}
	wg.Wait()
	st := stats.stats(daemon, time.Since(start))
	st.Unexplained = int(unexplained.Load())
	t.Logf("difftest %s (%d groups of %d clients)", st, len(groups), len(groups[0]))
	return st
}
