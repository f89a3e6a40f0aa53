package model_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xbcheck/xbcheck/model"
)

// This file checks transactions through a small actor: a TxnBody step
// ("body") from idle to wait, then either a Commit ("commit", guard
// NoConflict) to done or an EAGAIN ("eagain", guard Conflict) back to idle.
// The concurrent requests of other clients are applied with ApplyOp.

var conflictRules = []model.ConflictRule{model.CXenstored, model.Oxenstored}

// A txn is an xs with the transaction actor.
type txn struct {
	*xs
	actor int
}

// newTxn builds sp plus the transaction actor; body returns the body's
// guard and its operations after TRANSACTION_START.
func newTxn(t *testing.T, sp spec, body func(b *model.Builder) ([]model.Cond, []model.Op)) *txn {
	t.Helper()
	actor := -1
	sp.actors = func(b *model.Builder) {
		ab := b.Actor("txn", model.Toolstack, -1, true)
		actor = ab.Index()
		idle := ab.Loc("idle", "before TRANSACTION_START")
		wait := ab.Loc("wait", "body done, before TRANSACTION_END")
		done := ab.Final("done", "committed")
		guard, ops := body(b)
		ab.T(model.Transition{Name: "body", From: idle, To: wait, Kind: model.TxnBody,
			Guard: guard, Ops: append([]model.Op{model.TxnStart()}, ops...)})
		ab.T(model.Transition{Name: "commit", From: wait, To: done, Kind: model.Commit,
			Guard: []model.Cond{model.NoConflict()}, Ops: []model.Op{model.TxnCommit()}})
		ab.T(model.Transition{Name: "eagain", From: wait, To: idle, Kind: model.EAGAIN,
			Guard: []model.Cond{model.Conflict()}})
	}
	return &txn{xs: newXS(t, sp), actor: actor}
}

// tr returns the transaction actor's transition called name.
func (tx *txn) tr(name string) *model.Transition {
	tx.t.Helper()
	for i := range tx.sys.Trans {
		if t := &tx.sys.Trans[i]; t.Actor == tx.actor && t.Name == name {
			return t
		}
	}
	tx.t.Fatalf("no transition %q", name)
	return nil
}

// take applies the transition called name, which must be enabled.
func (tx *txn) take(name string) {
	tx.t.Helper()
	t := tx.tr(name)
	if !tx.sys.Enabled(tx.st, t) {
		tx.t.Fatalf("%s is not enabled at %s", name, tx.loc())
	}
	tx.st = tx.sys.Apply(tx.st, t)
}

func (tx *txn) loc() string {
	return tx.sys.Actors[tx.actor].LocName(tx.sys.LocOf(tx.st, tx.actor))
}

// end reports which end of the open transaction is enabled, "commit" or
// "eagain", and fails the test unless exactly one is. The successors of
// the state must agree with Enabled.
func (tx *txn) end() string {
	tx.t.Helper()
	c, e := tx.sys.Enabled(tx.st, tx.tr("commit")), tx.sys.Enabled(tx.st, tx.tr("eagain"))
	var succ []string
	tx.sys.Successors(tx.st, make(model.State, tx.sys.Size()), func(t *model.Transition, _ model.State) bool {
		if t.Actor == tx.actor {
			succ = append(succ, t.Name)
		}
		return true
	})
	switch {
	case c && !e:
		if diff := cmp.Diff([]string{"commit"}, succ); diff != "" {
			tx.t.Errorf("successors disagree with Enabled (-want +got):\n%s", diff)
		}
		return "commit"
	case e && !c:
		if diff := cmp.Diff([]string{"eagain"}, succ); diff != "" {
			tx.t.Errorf("successors disagree with Enabled (-want +got):\n%s", diff)
		}
		return "eagain"
	}
	tx.t.Fatalf("commit enabled: %v, eagain enabled: %v; want exactly one", c, e)
	return ""
}

func txnPath(b *model.Builder, p string) model.PathID { return b.Path(p) }

// TestTxnCommitDefersWrites: the body's writes are not visible and fire
// nothing until the commit; the commit applies them and fires their
// watches.
//
// Reference: xenstore-wire.md 1.7 (TRANSACTION_END T commits); 1.6
// ("Events are queued and fire only on a successful commit");
// xenbus-protocol.md 10.2 ("Events from a transaction are emitted only at
// successful commit").
func TestTxnCommitDefersWrites(t *testing.T) {
	for _, rule := range conflictRules {
		t.Run(rule.String(), func(t *testing.T) {
			tx := newTxn(t, spec{
				conflict: rule,
				init:     map[string]string{"/r": "a", "/old/x": "x"},
				values:   []string{"a"},
				watches:  []watchSpec{{"d", "/d", true}, {"old", "/old", true}, {"r", "/r", true}},
			}, func(b *model.Builder) ([]model.Cond, []model.Op) {
				return []model.Cond{model.Eq(txnPath(b, "/r"), b.Value("a"))},
					[]model.Op{model.Write(txnPath(b, "/d/x"), b.Value("x")), model.Mkdir(txnPath(b, "/d/y")), model.Rm(txnPath(b, "/old"))}
			})
			before := tx.store()
			tx.take("body")
			if diff := cmp.Diff(before, tx.store()); diff != "" {
				t.Errorf("store after the body (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{}, tx.pending()); diff != "" {
				t.Errorf("pending after the body (-want +got):\n%s", diff)
			}
			if tx.sys.OpenBody(tx.st, tx.actor) != tx.tr("body") {
				t.Errorf("OpenBody after the body is not the body")
			}
			if got := tx.end(); got != "commit" {
				t.Fatalf("end = %s; want commit", got)
			}
			tx.take("commit")
			want := map[string]string{"/": "", "/r": "a", "/d": "", "/d/x": "x", "/d/y": ""}
			if diff := cmp.Diff(want, tx.store()); diff != "" {
				t.Errorf("store after the commit (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"d", "old"}, tx.pending()); diff != "" {
				t.Errorf("pending after the commit (-want +got):\n%s", diff)
			}
			if tx.sys.OpenBody(tx.st, tx.actor) != nil {
				t.Errorf("a transaction is still open after the commit")
			}
		})
	}
}

// TestTxnConflicts: how a concurrent request between the body and the
// commit decides the commit, under each rule.
//
// Reference: xenstore-wire.md 1.7, "Conflict semantics differ".
func TestTxnConflicts(t *testing.T) {
	type body func(b *model.Builder) ([]model.Cond, []model.Op)
	readGuard := func(b *model.Builder) ([]model.Cond, []model.Op) { // read /r in the guard, write /w
		return []model.Cond{model.Present(txnPath(b, "/r"))}, []model.Op{model.Write(txnPath(b, "/w"), b.Value("x"))}
	}
	readOp := func(b *model.Builder) ([]model.Cond, []model.Op) { // READ /r, write /w
		return nil, []model.Op{model.Read(txnPath(b, "/r")), model.Write(txnPath(b, "/w"), b.Value("x"))}
	}
	readOnly := func(b *model.Builder) ([]model.Cond, []model.Op) { // READ /r, write nothing
		return nil, []model.Op{model.Read(txnPath(b, "/r"))}
	}
	blind := func(b *model.Builder) ([]model.Cond, []model.Op) { // write /r without reading it
		return nil, []model.Op{model.Write(txnPath(b, "/r"), b.Value("mine"))}
	}
	readMissing := func(b *model.Builder) ([]model.Cond, []model.Op) { // /new reads ENOENT, write /w
		return []model.Cond{model.IsAbsent(txnPath(b, "/new"))}, []model.Op{model.Write(txnPath(b, "/w"), b.Value("x"))}
	}
	readWrite := func(b *model.Builder) ([]model.Cond, []model.Op) { // read /r and write it
		return []model.Cond{model.Eq(txnPath(b, "/r"), b.Value("a"))}, []model.Op{model.Write(txnPath(b, "/r"), b.Value("mine"))}
	}
	dirOp := func(b *model.Builder) ([]model.Cond, []model.Op) { // DIRECTORY /t, write the existing /r
		return nil, []model.Op{model.Directory(txnPath(b, "/t")), model.Write(txnPath(b, "/r"), b.Value("mine"))}
	}
	rmTree := func(b *model.Builder) ([]model.Cond, []model.Op) { // RM /t (with /t/x)
		return nil, []model.Op{model.Rm(txnPath(b, "/t"))}
	}
	tests := []struct {
		name string
		body body
		// concurrent runs between the body and the commit.
		concurrent func(x *xs)
		want       map[model.ConflictRule]string
		ref        string
	}{
		{
			name: "different value to a node read in the guard", body: readGuard,
			concurrent: func(x *xs) { x.write("/r", "b") },
			want:       map[model.ConflictRule]string{model.CXenstored: "eagain", model.Oxenstored: "eagain"},
			ref:        "C: any write to a read node; oxenstored: a concurrent write of a different value gives EAGAIN",
		},
		{
			name: "different value to a node READ in the body", body: readOp,
			concurrent: func(x *xs) { x.write("/r", "b") },
			want:       map[model.ConflictRule]string{model.CXenstored: "eagain", model.Oxenstored: "eagain"},
			ref:        "as above, for a READ request",
		},
		{
			name: "removal of a node read", body: readOp,
			concurrent: func(x *xs) { x.rm("/r") },
			want:       map[model.ConflictRule]string{model.CXenstored: "eagain", model.Oxenstored: "eagain"},
			ref:        "the replayed READ now gives ENOENT; C: the node's generation changed",
		},
		{
			name: "same value to a node read", body: readGuard,
			concurrent: func(x *xs) { x.write("/r", "a") },
			want:       map[model.ConflictRule]string{model.CXenstored: "eagain", model.Oxenstored: "commit"},
			ref:        "C: \"even one that writes the same value\"; oxenstored: \"A concurrent write of the same value to a read node does not conflict\"",
		},
		{
			name: "read-only transaction, node read changed", body: readOnly,
			concurrent: func(x *xs) { x.write("/r", "b") },
			want:       map[model.ConflictRule]string{model.CXenstored: "eagain", model.Oxenstored: "commit"},
			ref:        "C: \"Read-only transactions can get EAGAIN\"; oxenstored: \"Read-only transactions never conflict\"",
		},
		{
			name: "blind write racing a write", body: blind,
			concurrent: func(x *xs) { x.write("/r", "theirs") },
			want:       map[model.ConflictRule]string{model.CXenstored: "eagain", model.Oxenstored: "commit"},
			ref: "C: do_write reads the node first (get_node), which records its generation (xenstore-wire.md's " +
				"\"Blind writes never conflict\" is wrong for 4.17, shown live by realxs/difftest); " +
				"oxenstored: \"A blind write racing a concurrent write to the same node: OK\"",
		},
		{
			name: "read ENOENT, then a concurrent create", body: readMissing,
			concurrent: func(x *xs) { x.write("/new", "b") },
			want:       map[model.ConflictRule]string{model.CXenstored: "eagain", model.Oxenstored: "eagain"},
			ref:        "C: \"A read of a missing node records no generation\"; oxenstored: \"Reading ENOENT, then a concurrent create: EAGAIN\"",
		},
		{
			name: "read ENOENT, then a concurrent create below it", body: readMissing,
			concurrent: func(x *xs) { x.write("/new/child", "b") },
			want:       map[model.ConflictRule]string{model.CXenstored: "eagain", model.Oxenstored: "eagain"},
			ref:        "the WRITE creates /new as a parent",
		},
		{
			name: "disjoint write", body: readGuard,
			concurrent: func(x *xs) { x.write("/other", "b") }, // /other exists: "/" keeps its children
			want:       map[model.ConflictRule]string{model.CXenstored: "commit", model.Oxenstored: "commit"},
			ref:        "oxenstored: \"A disjoint concurrent write: OK\"",
		},
		{
			name: "write to the node read and written", body: readWrite,
			concurrent: func(x *xs) { x.write("/r", "b") },
			want:       map[model.ConflictRule]string{model.CXenstored: "eagain", model.Oxenstored: "eagain"},
			ref:        "the read-modify-write of a node",
		},
		{
			name: "no concurrent request", body: readWrite,
			concurrent: func(x *xs) {},
			want:       map[model.ConflictRule]string{model.CXenstored: "commit", model.Oxenstored: "commit"},
			ref:        "the fast path",
		},
		{
			name: "new child of a node read", body: readOp,
			concurrent: func(x *xs) { x.write("/r/child", "b") },
			want:       map[model.ConflictRule]string{model.CXenstored: "eagain", model.Oxenstored: "commit"},
			ref:        "C: a new child rewrites the parent's record (add_child, write_node); oxenstored: the READ's answer is the same",
		},
		{
			name: "new sibling of the node a body creates", body: readGuard,
			concurrent: func(x *xs) { x.write("/new", "b") },
			want:       map[model.ConflictRule]string{model.CXenstored: "eagain", model.Oxenstored: "commit"},
			ref:        "C: creating /w reads and rewrites its parent / (construct_node, create_node), which /new changes",
		},
		{
			name: "value of a child of a node listed", body: dirOp,
			concurrent: func(x *xs) { x.write("/t/x", "b") },
			want:       map[model.ConflictRule]string{model.CXenstored: "commit", model.Oxenstored: "eagain"},
			ref: "C: DIRECTORY reads the node's record only (send_directory); oxenstored: the model's record keeps " +
				"the children's values, so it is stricter than oxenstored's replay (the same list)",
		},
		{
			name: "new child of a node listed", body: dirOp,
			concurrent: func(x *xs) { x.write("/t/y", "b") },
			want:       map[model.ConflictRule]string{model.CXenstored: "eagain", model.Oxenstored: "eagain"},
			ref:        "C: the node's record lists its children; oxenstored: a different list",
		},
		{
			name: "write below a node removed", body: rmTree,
			concurrent: func(x *xs) { x.write("/t/x", "b") },
			want:       map[model.ConflictRule]string{model.CXenstored: "eagain", model.Oxenstored: "commit"},
			ref:        "C: rm_node reads the whole subtree (walk_node_tree); oxenstored: the replayed RM succeeds",
		},
	}
	for _, tt := range tests {
		for _, rule := range conflictRules {
			t.Run(tt.name+"/"+rule.String(), func(t *testing.T) {
				tx := newTxn(t, spec{
					conflict: rule,
					paths:    []string{"/new/child", "/other", "/w", "/r/child", "/t/y"},
					init:     map[string]string{"/r": "a", "/other": "a", "/t/x": "a"},
					values:   []string{"a", "b", "mine", "theirs"},
				}, tt.body)
				tx.take("body")
				tt.concurrent(tx.xs)
				if got := tx.end(); got != tt.want[rule] {
					t.Errorf("end = %s; want %s (%s)", got, tt.want[rule], tt.ref)
				}
			})
		}
	}
}

// TestTxnBlindWriteWins: a blind write racing a concurrent write commits
// under oxenstored, and under C xenstored after one EAGAIN; the
// transaction's value wins (it commits last).
//
// Reference: xenstore-wire.md 1.7 (oxenstored: "the transaction's value
// wins"); C xenstored 4.17's do_write reads the node first (get_node),
// which records its generation, so the racing write fails the commit
// (xenstore-wire.md's "Blind writes never conflict" is wrong for it;
// realxs/difftest shows it live).
func TestTxnBlindWriteWins(t *testing.T) {
	for _, rule := range conflictRules {
		t.Run(rule.String(), func(t *testing.T) {
			tx := newTxn(t, spec{
				conflict: rule,
				init:     map[string]string{"/r": "a"},
				values:   []string{"a", "mine", "theirs"},
				watches:  []watchSpec{{"r", "/r", true}},
			}, func(b *model.Builder) ([]model.Cond, []model.Op) {
				return nil, []model.Op{model.Write(txnPath(b, "/r"), b.Value("mine"))}
			})
			tx.take("body")
			tx.write("/r", "theirs")
			tx.consumeAll()
			if rule == model.CXenstored {
				// C xenstored's WRITE reads the node first: the
				// concurrent write fails the commit, and the retry
				// wins.
				tx.take("eagain")
				tx.take("body")
			}
			tx.take("commit")
			if diff := cmp.Diff(map[string]string{"/": "", "/r": "mine"}, tx.store()); diff != "" {
				t.Errorf("store after the commit (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"r"}, tx.pending()); diff != "" {
				t.Errorf("pending after the commit (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTxnEAGAINDropsWrites: EAGAIN discards the body's writes and fires
// nothing; the actor runs the whole body again, against the current store,
// and then commits.
//
// Reference: xenstore-wire.md 1.7 ("EAGAIN means: redo the whole
// transaction"); xenbus-protocol.md 10.3 ("Every client loops on EAGAIN").
func TestTxnEAGAINDropsWrites(t *testing.T) {
	for _, rule := range conflictRules {
		t.Run(rule.String(), func(t *testing.T) {
			tx := newTxn(t, spec{
				conflict: rule,
				init:     map[string]string{"/r": "a"},
				values:   []string{"a", "b"},
				watches:  []watchSpec{{"w", "/w", true}},
			}, func(b *model.Builder) ([]model.Cond, []model.Op) {
				return []model.Cond{model.Present(txnPath(b, "/r"))}, []model.Op{model.Write(txnPath(b, "/w"), b.Value("x"))}
			})
			tx.take("body")
			tx.write("/r", "b")
			tx.take("eagain")
			if diff := cmp.Diff(map[string]string{"/": "", "/r": "b"}, tx.store()); diff != "" {
				t.Errorf("store after EAGAIN (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{}, tx.pending()); diff != "" {
				t.Errorf("pending after EAGAIN (-want +got):\n%s", diff)
			}
			if got := tx.loc(); got != "idle" {
				t.Errorf("actor at %s after EAGAIN; want idle", got)
			}
			if tx.sys.OpenBody(tx.st, tx.actor) != nil {
				t.Errorf("a transaction is still open after EAGAIN")
			}
			tx.take("body")
			if got := tx.end(); got != "commit" {
				t.Fatalf("retry: end = %s; want commit", got)
			}
			tx.take("commit")
			if diff := cmp.Diff(map[string]string{"/": "", "/r": "b", "/w": "x"}, tx.store()); diff != "" {
				t.Errorf("store after the retried commit (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTxnWriteBeforeStart: a write that completes before the transaction
// starts does not conflict with it.
//
// Reference: xenstore-wire.md 1.7 (START takes the snapshot; C compares
// generations from the transaction's reads on).
func TestTxnWriteBeforeStart(t *testing.T) {
	for _, rule := range conflictRules {
		t.Run(rule.String(), func(t *testing.T) {
			tx := newTxn(t, spec{
				conflict: rule,
				init:     map[string]string{"/r": "a"},
				values:   []string{"a", "b"},
			}, func(b *model.Builder) ([]model.Cond, []model.Op) {
				return []model.Cond{model.Present(txnPath(b, "/r"))}, []model.Op{model.Write(txnPath(b, "/w"), b.Value("x"))}
			})
			tx.write("/r", "b")
			tx.rm("/r")
			tx.write("/r", "a")
			tx.take("body")
			if got := tx.end(); got != "commit" {
				t.Errorf("end = %s; want commit", got)
			}
		})
	}
}

// TestTxnDirectoryNewChild: DIRECTORY in a transaction, then a concurrent
// new child of that node: oxenstored's replay of DIRECTORY answers a
// different list, so the commit fails with EAGAIN.
//
// Reference: xenstore-wire.md 1.7, oxenstored consequences ("DIRECTORY,
// then a concurrent new child: EAGAIN [verified]").
func TestTxnDirectoryNewChild(t *testing.T) {
	tx := newTxn(t, spec{
		conflict: model.Oxenstored,
		paths:    []string{"/dir/new"},
		init:     map[string]string{"/dir/old": "a"},
		values:   []string{"a"},
	}, func(b *model.Builder) ([]model.Cond, []model.Op) {
		return nil, []model.Op{model.Directory(txnPath(b, "/dir")), model.Write(txnPath(b, "/w"), b.Value("x"))}
	})
	tx.take("body")
	tx.write("/dir/new", "x")
	if got := tx.end(); got != "eagain" {
		t.Errorf("end = %s; want eagain", got)
	}
}

// TestTxnNoLostUpdate: two clients each increment /c once in a
// transaction (read it, write it plus one, retry on EAGAIN). In every
// interleaving, under both rules, the commits are serialisable: when both
// are done /c is 2, and every state can still progress to that end. Both
// rules make some interleaving take EAGAIN.
//
// Reference: xenstore-wire.md 1.7 (EAGAIN on a conflicting read set;
// "EAGAIN means: redo the whole transaction").
func TestTxnNoLostUpdate(t *testing.T) {
	for _, rule := range conflictRules {
		t.Run(rule.String(), func(t *testing.T) {
			x := newXS(t, spec{
				conflict: rule,
				init:     map[string]string{"/c": "0"},
				actors: func(b *model.Builder) {
					c := b.Path("/c")
					for _, name := range []string{"A", "B"} {
						ab := b.Actor(name, model.Toolstack, -1, true)
						idle := ab.Loc("idle", "")
						wait := ab.Loc("wait", "")
						done := ab.Final("done", "")
						for v := 0; v < 3; v++ {
							ab.T(model.Transition{Name: fmt.Sprintf("read %d", v), From: idle, To: wait, Kind: model.TxnBody,
								Guard: []model.Cond{model.Eq(c, b.Value(fmt.Sprint(v)))},
								Ops:   []model.Op{model.TxnStart(), model.Write(c, b.Value(fmt.Sprint(v+1)))}})
						}
						ab.T(model.Transition{Name: "commit", From: wait, To: done, Kind: model.Commit,
							Guard: []model.Cond{model.NoConflict()}, Ops: []model.Op{model.TxnCommit()}})
						ab.T(model.Transition{Name: "eagain", From: wait, To: idle, Kind: model.EAGAIN,
							Guard: []model.Cond{model.Conflict()}})
					}
				},
			})
			sys := x.sys
			seen := map[string]bool{string(x.st): true}
			queue := []model.State{x.st}
			eagains, finals := 0, 0
			next := make(model.State, sys.Size())
			for len(queue) > 0 {
				st := queue[0]
				queue = queue[1:]
				n := 0
				sys.Successors(st, next, func(tr *model.Transition, nx model.State) bool {
					n++
					if tr.Kind == model.EAGAIN {
						eagains++
					}
					if !seen[string(nx)] {
						seen[string(nx)] = true
						queue = append(queue, append(model.State(nil), nx...))
					}
					return true
				})
				if n == 0 {
					if !sys.AllFinal(st) {
						t.Errorf("deadlock:\n%s", sys.Describe(st))
						continue
					}
					finals++
					if diff := cmp.Diff(map[string]string{"/": "", "/c": "2"}, sys.Store(st)); diff != "" {
						t.Errorf("lost update: store when both are done (-want +got):\n%s", diff)
					}
				}
			}
			if finals == 0 {
				t.Errorf("no final state reached")
			}
			if eagains == 0 {
				t.Errorf("no interleaving took EAGAIN")
			}
		})
	}
}
