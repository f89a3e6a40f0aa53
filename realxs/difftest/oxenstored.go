package difftest

import (
	"fmt"
	"strings"

	"github.com/google/go-cmp/cmp"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/realxs/exec"
)

// The oxenstored reference: the model's rule for oxenstored and
// oxenstored's own, as observed (see refTxn).

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
	got := s.commitLive(tx)
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
