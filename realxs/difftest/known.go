package difftest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/realxs"
	"github.com/xbcheck/xbcheck/realxs/exec"
)

// A Dialer opens a new connection to the daemon under test, with dom0's
// privileges (xstest's Daemon.Dial, xenhost's Host.DialXenstore).
type Dialer func(ctx context.Context) (*realxs.Client, error)

// One live check per difference the model keeps on purpose (exec.Known)
// that a daemon shows: each shows what the daemon does and what the model
// predicts, so that the name stays true. The executor's own
// (exec.Emulated) are tested in package exec.
var knownChecks = []struct {
	name  exec.Known
	check func(e *knownEnv)
}{
	{exec.EventMultiplicity, knownEventMultiplicity},
	{exec.RmMissingParent, knownRmMissingParent},
	{exec.RmPhantomEvent, knownRmPhantomEvent},
	{exec.TxnEventsFromBody, knownTxnEventsFromBody},
	{exec.TxnNoopWrites, knownTxnNoopWrites},
	{exec.TxnFailedRequestReplayed, knownTxnFailedRequestReplayed},
	{exec.Coalesce, knownCoalesce},
	{exec.PermsNotModelled, knownPermsNotModelled},
}

// shows reports whether daemon (Oxenstored or CXenstored) shows the
// known difference k (see exec.OxenstoredOnly).
func shows(daemon string, k exec.Known) bool {
	return daemon == Oxenstored || daemon == CXenstored && !slices.Contains(exec.OxenstoredOnly, k)
}

// KnownTested lists the known differences that Known checks on daemon.
func KnownTested(daemon string) []exec.Known {
	var ks []exec.Known
	for _, k := range knownChecks {
		if shows(daemon, k.name) {
			ks = append(ks, k.name)
		}
	}
	return ks
}

var knownRuns atomic.Int64

// Known checks, live, every known difference that daemon (Oxenstored or
// CXenstored) shows, each in a subtest named after it with two new
// connections, below a fresh node that it removes at the end.
func Known(t *testing.T, dial Dialer, daemon string) {
	for _, k := range knownChecks {
		if !shows(daemon, k.name) {
			continue
		}
		t.Run(string(k.name), func(t *testing.T) {
			k.check(newKnownEnv(t, dial, daemon))
		})
	}
}

type knownEnv struct {
	t      *testing.T
	ctx    context.Context
	daemon string
	c, o   *realxs.Client // the client under test and another one
	u      *universe
	st     model.State
	prefix string
}

func newKnownEnv(t *testing.T, dial Dialer, daemon string) *knownEnv {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	e := &knownEnv{t: t, ctx: ctx, daemon: daemon, u: newUniverse(t, daemon, 2),
		prefix: fmt.Sprintf("/known-%d-%d", time.Now().UnixNano()%1e9, knownRuns.Add(1))}
	for _, c := range []**realxs.Client{&e.c, &e.o} {
		cl, err := dial(ctx)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		t.Cleanup(func() { cl.Close() })
		*c = cl
	}
	e.st = e.u.sys.Initial()
	e.must(e.c.Write(ctx, e.prefix, nil))
	t.Cleanup(func() { e.o.Rm(context.Background(), e.prefix) })
	return e
}

func (e *knownEnv) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

// path is the daemon's path of the universe's path p.
func (e *knownEnv) path(p string) string { return under(e.prefix, p) }

// do performs a plain request on the other client and on the model.
func (e *knownEnv) do(op model.Op) {
	e.t.Helper()
	_, err := send(e.ctx, e.o, op.Kind.String(), e.path(e.u.sys.Paths[op.Path].Name), e.u.sys.Values[op.Val])
	e.must(err)
	e.u.sys.ApplyOp(e.st, op)
}

func (e *knownEnv) watch(w model.WatchID) *realxs.Watch {
	lw, err := e.c.Watch(e.ctx, e.path(watchAt[w]), "t")
	e.must(err)
	e.t.Cleanup(func() { lw.Unwatch(context.Background()) })
	e.must(e.c.Sync(e.ctx))
	lw.Drain()
	e.u.sys.ApplyOp(e.st, model.WatchOp(w))
	e.st = e.u.sys.Apply(e.st, e.u.ignore[w])
	return lw
}

func (e *knownEnv) events(lw *realxs.Watch) int {
	e.must(e.c.Sync(e.ctx))
	e.must(e.o.Sync(e.ctx))
	return len(lw.Drain())
}

func (e *knownEnv) consume(w model.WatchID) {
	if e.u.sys.WatchPending(e.st, w) {
		e.st = e.u.sys.Apply(e.st, e.u.ignore[w])
	}
}

func (e *knownEnv) commitErr(tx *realxs.Tx) error {
	err := tx.Commit(e.ctx)
	if err != nil && !errors.Is(err, realxs.EAGAIN) {
		e.t.Fatal(err)
	}
	return err
}

// Reference: xenstore-wire.md 1.6: the daemon sends one event per write
// of a transaction; the model keeps one pending bit.
func knownEventMultiplicity(e *knownEnv) {
	t := e.t
	lw := e.watch(1) // /a
	e.must(e.c.Transact(e.ctx, func(tx *realxs.Tx) error {
		e.must(tx.Write(e.ctx, e.path("/a"), []byte("x")))
		return tx.Write(e.ctx, e.path("/a/b"), []byte("y"))
	}))
	if n := e.events(lw); n != 2 {
		t.Errorf("daemon: %d events for two writes in one transaction; want 2", n)
	}
	e.u.sys.ApplyOp(e.st, model.Write(e.u.p("/a"), e.u.v("x")))
	e.u.sys.ApplyOp(e.st, model.Write(e.u.p("/a/b"), e.u.v("y")))
	if !e.u.sys.WatchPending(e.st, 1) {
		t.Errorf("model: watch /a not pending")
	}
}

// Reference: xenstore-wire.md 1.2: RM of a node whose parent is missing
// is ENOENT; the model makes it a no-op.
func knownRmMissingParent(e *knownEnv) {
	t := e.t
	if err := e.c.Rm(e.ctx, e.path("/a/b")); !errors.Is(err, realxs.ENOENT) {
		t.Errorf("daemon: RM with a missing parent: %v; want ENOENT", err)
	}
	before := storeOf(e.u.sys, e.st)
	e.u.sys.ApplyOp(e.st, model.Rm(e.u.p("/a/b")))
	if after := storeOf(e.u.sys, e.st); len(after) != len(before) {
		t.Errorf("model: RM with a missing parent changed the store")
	}
}

// The daemon fires a watch below a removed node only if the watched node
// existed (C xenstored), or it or its parent (oxenstored); the model
// fires it anyway.
func knownRmPhantomEvent(e *knownEnv) {
	t := e.t
	lw := e.watch(2) // /a/b/c, missing
	e.do(model.Mkdir(e.u.p("/a")))
	e.do(model.Rm(e.u.p("/a")))
	if n := e.events(lw); n != 0 {
		t.Errorf("daemon: %d events on /a/b/c (missing) for RM /a; want 0", n)
	}
	if !e.u.sys.WatchPending(e.st, 2) {
		t.Errorf("model: watch /a/b/c not pending after RM /a")
	}
	e.consume(2)
	// With the watched node's parent there, oxenstored fires, C
	// xenstored does not: the difftest's rule (seenBelowRm) says which.
	e.do(model.Mkdir(e.u.p("/a/b")))
	e.events(lw)
	e.consume(2)
	want := 0
	if e.u.seenBelowRm(e.st, "/a/b/c") {
		want = 1
	}
	if e.daemon == Oxenstored && want != 1 || e.daemon == CXenstored && want != 0 {
		t.Errorf("the difftest's rule: %s delivers %d events on /a/b/c (missing, parent present) for RM /a", e.daemon, want)
	}
	e.do(model.Rm(e.u.p("/a")))
	if n := e.events(lw); n != want {
		t.Errorf("daemon: %d events on /a/b/c (missing, parent present) for RM /a; want %d", n, want)
	}
	if !e.u.sys.WatchPending(e.st, 2) {
		t.Errorf("model: watch /a/b/c not pending after RM /a")
	}
	e.consume(2)
	// With the watched node there, both fire.
	e.do(model.Write(e.u.p("/a/b/c"), e.u.v("x")))
	e.events(lw)
	e.consume(2)
	e.do(model.Rm(e.u.p("/a")))
	if n := e.events(lw); n != 1 || !e.u.sys.WatchPending(e.st, 2) {
		t.Errorf("RM /a with /a/b/c present: daemon %d events, model pending %v; want 1, true", n, e.u.sys.WatchPending(e.st, 2))
	}
}

// At a commit the daemon fires for the transaction's requests, not for
// what the commit changes. oxenstored: a MKDIR of a node created
// meanwhile still fires. C xenstored: a node written then removed in the
// transaction, whose parent did not exist before, fires nothing, though
// the commit creates the parent (its permissions were not recorded when
// the transaction first touched it, and it is gone after the commit).
func knownTxnEventsFromBody(e *knownEnv) {
	t := e.t
	lw := e.watch(1) // /a, missing
	if e.daemon == CXenstored {
		ops := []model.Op{model.Write(e.u.p("/a/b"), e.u.v("x")), model.Rm(e.u.p("/a/b"))}
		e.must(e.c.Transact(e.ctx, func(tx *realxs.Tx) error {
			e.must(tx.Write(e.ctx, e.path("/a/b"), []byte("x")))
			return tx.Rm(e.ctx, e.path("/a/b"))
		}))
		// The difftest's rule (cxCommitFires) and the daemon: no event.
		ref, view := newCxTxn(nil), append(model.State(nil), e.st...)
		for _, op := range ops {
			e.u.cxAccess(ref, view, op)
			e.u.sys.ApplyOp(view, op)
		}
		if e.u.cxCommitFires(ref, view, "/a") {
			t.Errorf("the difftest's rule: C xenstored fires /a at the commit")
		}
		if n := e.events(lw); n != 0 {
			t.Errorf("daemon: %d events for a node written and removed in one transaction; want 0", n)
		}
		if _, err := e.c.Read(e.ctx, e.path("/a")); err != nil {
			t.Errorf("daemon: the parent the transaction created: %v", err)
		}
		for _, op := range ops { // the model's commit
			e.u.sys.ApplyOp(e.st, op)
		}
		if !e.u.sys.WatchPending(e.st, 1) {
			t.Errorf("model: the commit of a write and a removal below /a does not fire /a")
		}
		return
	}
	tx, err := e.c.StartTransaction(e.ctx)
	e.must(err)
	e.must(tx.Mkdir(e.ctx, e.path("/a")))
	e.do(model.Mkdir(e.u.p("/a")))
	if n := e.events(lw); n != 1 {
		t.Fatalf("daemon: %d events for the plain MKDIR; want 1", n)
	}
	e.consume(1)
	e.must(e.commitErr(tx))
	if n := e.events(lw); n != 1 {
		t.Errorf("daemon: %d events at the commit of a MKDIR of an existing node; want 1", n)
	}
	e.u.sys.ApplyOp(e.st, model.Mkdir(e.u.p("/a"))) // the model's commit
	if e.u.sys.WatchPending(e.st, 1) {
		t.Errorf("model: a commit's MKDIR of an existing node fires")
	}
}

// A transaction whose modifying requests changed nothing in its snapshot
// commits on oxenstored even though what it read changed; the model's
// rule, deciding on the request kinds, fails it.
func knownTxnNoopWrites(e *knownEnv) {
	t := e.t
	tx, err := e.c.StartTransaction(e.ctx)
	e.must(err)
	if _, err := tx.Read(e.ctx, e.path("/a")); !errors.Is(err, realxs.ENOENT) {
		t.Fatal(err)
	}
	e.must(tx.Rm(e.ctx, e.path("/a"))) // missing: nothing to do
	e.do(model.Mkdir(e.u.p("/a")))
	if err := e.commitErr(tx); err != nil {
		t.Errorf("daemon: %v; want the commit to succeed", err)
	}
	ref := &refTxn{attempted: true, log: []refReq{
		{read: "READ /a", saw: "ENOENT"}, {read: "RM /a", saw: "", write: true, op: model.Rm(e.u.p("/a")), noop: true}}}
	if e.u.modelCommit(append(model.State(nil), e.st...), ref) {
		t.Errorf("model: the commit succeeds; the model's rule was expected to fail it")
	}
	if _, err := e.c.Read(e.ctx, e.path("/a")); err != nil {
		t.Errorf("daemon: /a gone after the commit: %v", err)
	}
}

// A failed request of a transaction is replayed at commit: an RM that
// was ENOENT in the snapshot and would now succeed fails the commit.
func knownTxnFailedRequestReplayed(e *knownEnv) {
	t := e.t
	e.do(model.Write(e.u.p("/e"), e.u.v("x")))
	tx, err := e.c.StartTransaction(e.ctx)
	e.must(err)
	e.do(model.Write(e.u.p("/a"), e.u.v("")))
	e.must(tx.Rm(e.ctx, e.path("/e")))
	if err := tx.Rm(e.ctx, e.path("/a/b")); !errors.Is(err, realxs.ENOENT) {
		t.Fatalf("RM with a missing parent in the snapshot: %v", err)
	}
	e.do(model.Write(e.u.p("/a"), e.u.v("")))
	if err := e.commitErr(tx); !errors.Is(err, realxs.EAGAIN) {
		t.Errorf("daemon: commit %v; want EAGAIN", err)
	}
	ref := &refTxn{attempted: true, effective: true, log: []refReq{
		{read: "RM /e", saw: "", write: true, op: model.Rm(e.u.p("/e"))},
		{read: "RM /a/b", saw: "ENOENT", write: true, op: model.Rm(e.u.p("/a/b"))}}}
	if !e.u.modelCommit(append(model.State(nil), e.st...), ref) {
		t.Errorf("model: EAGAIN; the model's rule was expected to commit")
	}
}

// oxenstored's coalescing commit accepts a transaction whose replay
// would fail: the failed RM below is not replayed.
func knownCoalesce(e *knownEnv) {
	t := e.t
	e.do(model.Mkdir(e.u.p("/a")))
	e.do(model.Mkdir(e.u.p("/e/f")))
	tx, err := e.c.StartTransaction(e.ctx)
	e.must(err)
	e.do(model.Write(e.u.p("/a/b"), e.u.v("")))
	e.must(tx.Write(e.ctx, e.path("/e"), []byte("")))
	if err := tx.Rm(e.ctx, e.path("/a/b/c")); !errors.Is(err, realxs.ENOENT) {
		t.Fatalf("RM with a missing parent in the snapshot: %v", err)
	}
	if err := e.commitErr(tx); err != nil {
		t.Errorf("daemon: commit %v; want success", err)
	}
	ref := &refTxn{attempted: true, effective: true, log: []refReq{
		{write: true, op: model.Write(e.u.p("/e"), e.u.v(""))},
		{read: "RM /a/b/c", saw: "ENOENT", write: true, op: model.Rm(e.u.p("/a/b/c"))}}}
	if e.u.oxCommit(append(model.State(nil), e.st...), ref) {
		t.Errorf("the replay rule commits; it was expected to fail with EAGAIN")
	}
}

// Every client of the daemon is dom0: permissions restrict nothing, as
// the model assumes. oxenstored takes any domain as a node's owner; C
// xenstored refuses an owner that does not exist (xenstored_core.c,
// do_set_perms: ENOENT when domain_alloc_permrefs marks it
// XS_PERM_IGNORE), so there the node stays dom0's, with no access for
// anybody else.
func knownPermsNotModelled(e *knownEnv) {
	t := e.t
	e.must(e.c.Write(e.ctx, e.path("/p"), []byte("x")))
	owner := 5
	if e.daemon == CXenstored {
		err := e.c.SetPerms(e.ctx, e.path("/p"), []realxs.Perm{{Domid: 5, Access: realxs.AccessNone}})
		if !errors.Is(err, realxs.ENOENT) {
			t.Errorf("C xenstored: SET_PERMS with domain 5 (missing) as the owner: %v; want ENOENT", err)
		}
		owner = 0
	}
	e.must(e.c.SetPerms(e.ctx, e.path("/p"), []realxs.Perm{{Domid: uint32(owner), Access: realxs.AccessNone}}))
	if err := e.o.Write(e.ctx, e.path("/p"), []byte("y")); err != nil {
		t.Errorf("dom0 write to a node owned by domain %d, no access for others: %v; want success", owner, err)
	}
}
