package difftest

import (
	"fmt"
	"strings"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/realxs"
)

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
	s.u.cxAccess(tx, view, u.op(kind, p, ""))
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
	got := s.commitLive(tx)
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
