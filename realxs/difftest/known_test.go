package difftest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/realxs"
	"github.com/xbcheck/xbcheck/realxs/exec"
	"github.com/xbcheck/xbcheck/realxs/xstest"
)

// One test per difference the model keeps on purpose (exec.Known): each
// shows what the daemon does and what the model predicts, so that the
// name stays true. The executor-level ones (InjectedEAGAIN,
// EAGAINRetried, DomainGoneEmulated) are tested in package exec.

type knownEnv struct {
	t      *testing.T
	ctx    context.Context
	c, o   *realxs.Client // the client under test and another one
	u      *universe
	st     model.State
	prefix string
}

func newKnownEnv(t *testing.T) *knownEnv {
	d := xstest.Start(t, xstest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	e := &knownEnv{t: t, ctx: ctx, c: d.Dial(t), o: d.Dial(t), u: newUniverse(t), prefix: "/k"}
	e.st = e.u.sys.Initial()
	e.must(e.c.Write(ctx, "/k", nil))
	return e
}

func (e *knownEnv) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

// do performs a plain request on the other client and on the model.
func (e *knownEnv) do(op model.Op) {
	e.t.Helper()
	p := e.prefix + e.u.sys.Paths[op.Path].Name
	switch op.Kind {
	case model.OpWrite:
		e.must(e.o.Write(e.ctx, p, []byte(e.u.sys.Values[op.Val])))
	case model.OpMkdir:
		e.must(e.o.Mkdir(e.ctx, p))
	case model.OpRm:
		e.must(e.o.Rm(e.ctx, p))
	}
	e.u.sys.ApplyOp(e.st, op)
}

func (e *knownEnv) watch(w model.WatchID) *realxs.Watch {
	lw, err := e.c.Watch(e.ctx, e.prefix+watchAt[w], "t")
	e.must(err)
	e.must(e.c.Sync(e.ctx))
	lw.Drain()
	e.u.sys.ApplyOp(e.st, model.WatchOp(w))
	e.st = e.u.sys.Apply(e.st, e.u.ignore[w])
	return lw
}

func (e *knownEnv) events(lw *realxs.Watch) int {
	e.must(e.c.Sync(e.ctx))
	return len(lw.Drain())
}

func (e *knownEnv) commitErr(tx *realxs.Tx) error {
	err := tx.Commit(e.ctx)
	if err != nil && !errors.Is(err, realxs.EAGAIN) {
		e.t.Fatal(err)
	}
	return err
}

// Reference: xenstore-wire.md 1.6: oxenstored sends one event per write
// of a transaction; the model keeps one pending bit.
func TestKnownEventMultiplicity(t *testing.T) {
	e := newKnownEnv(t)
	lw := e.watch(1) // /a
	e.must(e.c.Transact(e.ctx, func(tx *realxs.Tx) error {
		e.must(tx.Write(e.ctx, "/k/a", []byte("x")))
		return tx.Write(e.ctx, "/k/a/b", []byte("y"))
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
func TestKnownRmMissingParent(t *testing.T) {
	e := newKnownEnv(t)
	if err := e.c.Rm(e.ctx, "/k/a/b"); !errors.Is(err, realxs.ENOENT) {
		t.Errorf("daemon: RM with a missing parent: %v; want ENOENT", err)
	}
	before := storeOf(e.u.sys, e.st)
	e.u.sys.ApplyOp(e.st, model.Rm(e.u.p("/a/b")))
	if after := storeOf(e.u.sys, e.st); len(after) != len(before) {
		t.Errorf("model: RM with a missing parent changed the store")
	}
}

// oxenstored fires a watch below a removed node only if the watched node
// or its parent existed; the model fires it anyway.
func TestKnownRmPhantomEvent(t *testing.T) {
	e := newKnownEnv(t)
	lw := e.watch(2) // /a/b/c, missing
	e.do(model.Mkdir(e.u.p("/a")))
	e.do(model.Rm(e.u.p("/a")))
	if n := e.events(lw); n != 0 {
		t.Errorf("daemon: %d events on /a/b/c (missing) for RM /a; want 0", n)
	}
	if !e.u.sys.WatchPending(e.st, 2) {
		t.Errorf("model: watch /a/b/c not pending after RM /a")
	}
	// With the watched node's parent there, both fire.
	e.do(model.Mkdir(e.u.p("/a/b")))
	e.events(lw)
	e.st = e.u.sys.Apply(e.st, e.u.ignore[2])
	e.do(model.Rm(e.u.p("/a")))
	if n := e.events(lw); n != 1 {
		t.Errorf("daemon: %d events on /a/b/c (missing, parent present) for RM /a; want 1", n)
	}
	e.st = e.u.sys.Apply(e.st, e.u.ignore[2])
	// With the watched node there, both fire.
	e.do(model.Write(e.u.p("/a/b/c"), e.u.v("x")))
	e.events(lw)
	e.st = e.u.sys.Apply(e.st, e.u.ignore[2])
	e.do(model.Rm(e.u.p("/a")))
	if n := e.events(lw); n != 1 || !e.u.sys.WatchPending(e.st, 2) {
		t.Errorf("RM /a with /a/b/c present: daemon %d events, model pending %v; want 1, true", n, e.u.sys.WatchPending(e.st, 2))
	}
}

// oxenstored fires at commit for the transaction's requests as they went
// in the snapshot: a MKDIR of a node created meanwhile still fires.
func TestKnownTxnEventsFromBody(t *testing.T) {
	e := newKnownEnv(t)
	lw := e.watch(1) // /a
	tx, err := e.c.StartTransaction(e.ctx)
	e.must(err)
	e.must(tx.Mkdir(e.ctx, "/k/a"))
	e.do(model.Mkdir(e.u.p("/a")))
	if n := e.events(lw); n != 1 {
		t.Fatalf("daemon: %d events for the plain MKDIR; want 1", n)
	}
	e.st = e.u.sys.Apply(e.st, e.u.ignore[1])
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
func TestKnownTxnNoopWrites(t *testing.T) {
	e := newKnownEnv(t)
	tx, err := e.c.StartTransaction(e.ctx)
	e.must(err)
	if _, err := tx.Read(e.ctx, "/k/a"); !errors.Is(err, realxs.ENOENT) {
		t.Fatal(err)
	}
	e.must(tx.Rm(e.ctx, "/k/a")) // missing: nothing to do
	e.do(model.Mkdir(e.u.p("/a")))
	if err := e.commitErr(tx); err != nil {
		t.Errorf("daemon: %v; want the commit to succeed", err)
	}
	ref := &refTxn{attempted: true, log: []refReq{
		{read: "READ /a", saw: "ENOENT"}, {read: "RM /a", saw: "", write: true, op: model.Rm(e.u.p("/a")), noop: true}}}
	if e.u.modelCommit(append(model.State(nil), e.st...), ref) {
		t.Errorf("model: the commit succeeds; the model's rule was expected to fail it")
	}
	if _, err := e.c.Read(e.ctx, "/k/a"); err != nil {
		t.Errorf("daemon: /k/a gone after the commit: %v", err)
	}
}

// A failed request of a transaction is replayed at commit: an RM that
// was ENOENT in the snapshot and would now succeed fails the commit.
func TestKnownTxnFailedRequestReplayed(t *testing.T) {
	e := newKnownEnv(t)
	e.do(model.Write(e.u.p("/e"), e.u.v("x")))
	tx, err := e.c.StartTransaction(e.ctx)
	e.must(err)
	e.do(model.Write(e.u.p("/a"), e.u.v("")))
	e.must(tx.Rm(e.ctx, "/k/e"))
	if err := tx.Rm(e.ctx, "/k/a/b"); !errors.Is(err, realxs.ENOENT) {
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
func TestKnownCoalesce(t *testing.T) {
	e := newKnownEnv(t)
	e.do(model.Mkdir(e.u.p("/a")))
	e.do(model.Mkdir(e.u.p("/e/f")))
	tx, err := e.c.StartTransaction(e.ctx)
	e.must(err)
	e.do(model.Write(e.u.p("/a/b"), e.u.v("")))
	e.must(tx.Write(e.ctx, "/k/e", []byte("")))
	if err := tx.Rm(e.ctx, "/k/a/b/c"); !errors.Is(err, realxs.ENOENT) {
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

// Every client of the test daemon is dom0: permissions restrict nothing,
// as the model assumes.
func TestKnownPermsNotModelled(t *testing.T) {
	e := newKnownEnv(t)
	e.must(e.c.Write(e.ctx, "/k/p", []byte("x")))
	e.must(e.c.SetPerms(e.ctx, "/k/p", []realxs.Perm{{Domid: 5, Access: realxs.AccessNone}}))
	if err := e.o.Write(e.ctx, "/k/p", []byte("y")); err != nil {
		t.Errorf("dom0 write to a node owned by domain 5: %v; want success", err)
	}
}

// Every name has a test.
func TestKnownNamesTested(t *testing.T) {
	tested := map[exec.Known]bool{
		exec.EventMultiplicity: true, exec.RmMissingParent: true, exec.RmPhantomEvent: true,
		exec.TxnEventsFromBody: true, exec.TxnNoopWrites: true, exec.TxnFailedRequestReplayed: true,
		exec.Coalesce: true, exec.PermsNotModelled: true,
		// in package exec:
		exec.InjectedEAGAIN: true, exec.EAGAINRetried: true, exec.DomainGoneEmulated: true,
	}
	for _, k := range exec.Knowns {
		if !tested[k] {
			t.Errorf("known difference %q has no test", k)
		}
	}
}
