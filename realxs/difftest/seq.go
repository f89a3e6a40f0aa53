package difftest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/realxs"
	"github.com/xbcheck/xbcheck/realxs/exec"
)

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

func (s *seq) path(p string) string { return under(s.root, p) }

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

// commitLive commits tx on the daemon and counts the commit; it returns
// the outcome as errName says it.
func (s *seq) commitLive(tx *refTxn) string {
	got := errName(tx.live.Commit(s.ctx))
	s.stats.commits.Add(1)
	if got == "EAGAIN" {
		s.stats.eagains.Add(1)
	}
	return got
}

// check compares the outcome of one request.
func (s *seq) check(what, want, got string) {
	if want != got {
		s.fatalf("%s: model %s, daemon %s", what, want, got)
	}
}

func (s *seq) read(st realxs.Store, read string) string {
	kind, p, _ := strings.Cut(read, " ")
	got, err := send(s.ctx, st, kind, s.path(p), "")
	if err != nil {
		return errName(err)
	}
	return got
}

// send sends request kind (READ, DIRECTORY, WRITE, MKDIR, RM, SET_PERMS)
// for the daemon's path to st, with value v for a WRITE. It returns a
// read's response as universe.look renders it.
func send(ctx context.Context, st realxs.Store, kind, path, v string) (string, error) {
	switch kind {
	case "READ":
		b, err := st.Read(ctx, path)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%q", b), nil
	case "DIRECTORY":
		kids, err := st.Directory(ctx, path)
		if err != nil {
			return "", err
		}
		slices.Sort(kids)
		return "[" + strings.Join(kids, " ") + "]", nil
	case "WRITE":
		return "", st.Write(ctx, path, []byte(v))
	case "MKDIR":
		return "", st.Mkdir(ctx, path)
	case "RM":
		return "", st.Rm(ctx, path)
	case "SET_PERMS":
		return "", st.SetPerms(ctx, path, []realxs.Perm{{Domid: 0, Access: realxs.AccessRead}})
	}
	panic(kind)
}

// write performs a modifying request on the daemon (st) and returns the
// model's operation.
func (s *seq) write(st realxs.Store, kind, p, v string) (model.Op, error) {
	_, err := send(s.ctx, st, kind, s.path(p), v)
	return s.u.op(kind, p, v), err
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
