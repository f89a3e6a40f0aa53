package exec

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/realxs"
)

// perform does the xenstore requests of t, taken in pre.
func (r *Session) perform(ctx context.Context, t *model.Transition, pre model.State) error {
	sys := r.sys
	cur := append(model.State(nil), pre...)
	switch t.Kind {
	case model.TxnBody:
		if old := r.txns[t.Actor]; old != nil {
			old.Abort(ctx)
		}
		tx, err := r.b.StartTransaction(ctx)
		if err != nil {
			return err
		}
		r.txns[t.Actor] = tx
		r.snaps[t.Actor] = pre
		r.logOp("TXN_START")
		if err := r.body(ctx, tx, t, cur); err != nil {
			return err
		}
		return r.hook(ctx, t, tx)
	case model.Commit:
		tx := r.txns[t.Actor]
		delete(r.txns, t.Actor)
		body := sys.OpenBody(pre, t.Actor)
		if tx == nil || body == nil {
			return fmt.Errorf("commit without an open transaction")
		}
		err := tx.Commit(ctx)
		r.logOp("TXN_COMMIT")
		if errors.Is(err, realxs.EAGAIN) {
			r.rep.Known[EAGAINRetried]++
			r.logOp("(EAGAIN: the body again, through the retry helper)")
			err = r.b.Transact(ctx, func(s realxs.Store) error {
				return r.body(ctx, s, body, append(model.State(nil), pre...))
			})
		}
		if err != nil {
			return err
		}
		for _, op := range body.Ops {
			sys.ApplyOp(cur, op)
		}
		return r.ops(ctx, t.Ops[1:], cur)
	case model.EAGAIN:
		tx := r.txns[t.Actor]
		delete(r.txns, t.Actor)
		if tx == nil {
			return fmt.Errorf("EAGAIN without an open transaction")
		}
		if t.Fault != "" {
			r.rep.Known[InjectedEAGAIN]++
			r.logOp("TXN_ABORT (injected EAGAIN)")
			if err := tx.Abort(ctx); err != nil {
				return err
			}
		} else {
			err := tx.Commit(ctx)
			r.logOp("TXN_COMMIT (the model predicts EAGAIN)")
			if err == nil {
				return &Divergence{What: "commit", Diff: fmt.Sprintf(
					"the daemon committed a transaction that the model fails with EAGAIN (conflict rule %s)", sys.Conflict)}
			}
			if !errors.Is(err, realxs.EAGAIN) {
				return err
			}
		}
		return r.ops(ctx, t.Ops, cur)
	}
	if err := r.ops(ctx, t.Ops, cur); err != nil {
		return err
	}
	return r.hook(ctx, t, r.b)
}

func (r *Session) hook(ctx context.Context, t *model.Transition, s realxs.Store) error {
	if r.e.Hook == nil {
		return nil
	}
	return r.e.Hook(ctx, t, s)
}

// body performs a transaction body's reads (the guard's nodes first, as
// the actor reads them before deciding) and writes in s.
func (r *Session) body(ctx context.Context, s realxs.Store, t *model.Transition, cur model.State) error {
	var seen []model.PathID
	for _, c := range t.Guard {
		switch c.Kind {
		case model.CondPresent, model.CondAbsent, model.CondEq, model.CondNe, model.CondIn:
			if !slices.Contains(seen, c.Path) {
				seen = append(seen, c.Path)
				if err := r.op(ctx, s, true, model.Read(c.Path), cur); err != nil {
					return err
				}
			}
		}
	}
	ops := t.Ops
	if len(ops) > 0 && ops[0].Kind == model.OpTxnStart {
		ops = ops[1:]
	}
	for _, op := range ops {
		if err := r.op(ctx, s, true, op, cur); err != nil {
			return err
		}
	}
	return nil
}

// ops performs an atomic transition's operations in order outside any
// transaction; a TXN_START ... TXN_COMMIT run goes through the retry
// helper, a TXN_START ... TXN_ABORT through an aborted transaction.
func (r *Session) ops(ctx context.Context, ops []model.Op, cur model.State) error {
	for i := 0; i < len(ops); i++ {
		op := ops[i]
		if op.Kind != model.OpTxnStart {
			if err := r.op(ctx, r.b, false, op, cur); err != nil {
				return err
			}
			continue
		}
		j := i + 1
		for j < len(ops) && ops[j].Kind != model.OpTxnCommit && ops[j].Kind != model.OpTxnAbort {
			j++
		}
		seg := ops[i+1 : min(j, len(ops))]
		start := append(model.State(nil), cur...)
		r.logOp("TXN_START")
		if j < len(ops) && ops[j].Kind == model.OpTxnAbort {
			tx, err := r.b.StartTransaction(ctx)
			if err != nil {
				return err
			}
			for _, op := range seg {
				if err := r.op(ctx, tx, true, op, cur); err != nil {
					tx.Abort(ctx)
					return err
				}
			}
			copy(cur, start) // the model applies nothing of an aborted run... but its ops are reads
			r.logOp("TXN_ABORT")
			if err := tx.Abort(ctx); err != nil {
				return err
			}
		} else {
			attempt := 0
			err := r.b.Transact(ctx, func(s realxs.Store) error {
				if attempt > 0 {
					r.rep.Known[EAGAINRetried]++
				}
				attempt++
				copy(cur, start)
				for _, op := range seg {
					if err := r.op(ctx, s, true, op, cur); err != nil {
						return err
					}
				}
				return nil
			})
			r.logOp("TXN_COMMIT")
			if err != nil {
				return err
			}
		}
		i = j
	}
	return nil
}

// op performs one operation on s (the backend, or a transaction when
// inTx) and checks what it reads against cur, the model's store at that
// point, which it then updates.
func (r *Session) op(ctx context.Context, s realxs.Store, inTx bool, op model.Op, cur model.State) error {
	sys := r.sys
	name := func() string { return r.path(op.Path) }
	defer sys.ApplyOp(cur, op)
	switch op.Kind {
	case model.OpRead:
		v, err := s.Read(ctx, name())
		r.logOp("READ %s", name())
		return r.checkRead(op.Path, v, err, cur)
	case model.OpDirectory:
		got, err := s.Directory(ctx, name())
		r.logOp("DIRECTORY %s", name())
		if err != nil && !errors.Is(err, realxs.ENOENT) {
			return err
		}
		want := sys.Children(cur, op.Path)
		if !sys.Exists(cur, op.Path) {
			want = nil
		}
		if errors.Is(err, realxs.ENOENT) != !sys.Exists(cur, op.Path) || !sameSet(want, got) {
			return &Divergence{What: "read", Diff: fmt.Sprintf("DIRECTORY %s: model [%s], daemon [%s] (%v)",
				sys.Paths[op.Path].Name, strings.Join(want, " "), strings.Join(got, " "), err)}
		}
		return nil
	case model.OpWrite:
		return r.write(ctx, s, op.Path, op.Val)
	case model.OpMkdir:
		r.logOp("MKDIR %s", name())
		r.markWritten(op.Path)
		return s.Mkdir(ctx, name())
	case model.OpRm:
		return r.rm(ctx, s, op.Path, cur)
	case model.OpCleanup:
		return r.compound(ctx, s, inTx, func(s realxs.Store) error {
			c := append(model.State(nil), cur...)
			if err := r.rm(ctx, s, op.Path, c); err != nil {
				return err
			}
			sys.ApplyOp(c, model.Rm(op.Path))
			for q := sys.Paths[op.Path].Parent; q != model.NoPath && q != 0; q = sys.Paths[q].Parent {
				v, err := s.Read(ctx, r.path(q))
				r.logOp("READ %s", r.path(q))
				if errors.Is(err, realxs.ENOENT) {
					break
				} else if err != nil {
					return err
				}
				kids, err := s.Directory(ctx, r.path(q))
				r.logOp("DIRECTORY %s", r.path(q))
				if err != nil {
					return err
				}
				if len(v) != 0 || len(kids) != 0 {
					break
				}
				if err := r.rm(ctx, s, q, c); err != nil {
					return err
				}
				sys.ApplyOp(c, model.Rm(q))
			}
			return nil
		})
	case model.OpSetPerms:
		r.rep.Known[PermsNotModelled]++
		r.logOp("SET_PERMS %s n%d", name(), sys.Paths[op.Path].Owner)
		err := s.SetPerms(ctx, name(), []realxs.Perm{{Domid: uint32(sys.Paths[op.Path].Owner), Access: realxs.AccessNone}})
		if errors.Is(err, realxs.ENOENT) && !sys.Exists(cur, op.Path) {
			return nil // the model: SET_PERMS of a missing node does nothing
		}
		return err
	case model.OpSwitchState:
		if sys.VarValue(cur, op.Var) == uint8(op.Val)-2 {
			r.logOp("(SWITCH_STATE %s %s: the cached state already matches; nothing)", name(), sys.Values[op.Val])
			return nil
		}
		return r.compound(ctx, s, inTx, func(s realxs.Store) error {
			_, err := s.Read(ctx, name())
			r.logOp("READ %s", name())
			if errors.Is(err, realxs.ENOENT) {
				return nil // "we don't want to resurrect that directory"
			} else if err != nil {
				return err
			}
			return r.write(ctx, s, op.Path, op.Val)
		})
	case model.OpReplace:
		return r.compound(ctx, s, inTx, func(s realxs.Store) error {
			v, err := s.Read(ctx, name())
			r.logOp("READ %s", name())
			if err != nil && !errors.Is(err, realxs.ENOENT) {
				return err
			}
			if op.From == model.Absent && err == nil || op.From != model.Absent && (err != nil || string(v) != sys.Values[op.From]) {
				return nil
			}
			return r.write(ctx, s, op.Path, op.Val)
		})
	case model.OpWatch:
		return r.watch(ctx, op.Watch)
	case model.OpUnwatch:
		w := r.watchers[op.Watch]
		delete(r.watchers, op.Watch)
		r.pending[op.Watch] = false
		r.logOp("UNWATCH %s", r.path(sys.Watches[op.Watch].Path))
		if w == nil {
			return nil
		}
		return w.Unwatch(ctx)
	case model.OpDomainGone:
		r.rep.Known[DomainGoneEmulated]++
		r.logOp("(DOMAIN_GONE %d: emulated)", op.Dom)
		if !sys.RemoveOwnedOnDeath {
			return nil
		}
		// oxenstored deletes without events (System.DeathFiresWatches);
		// the emulating RMs fire, so their events are dropped, after the
		// events of the step's earlier requests are kept as compare does.
		silent := !sys.DeathFiresWatches
		if silent {
			if err := r.drainEvents(ctx, true); err != nil {
				return err
			}
		}
		for i := range sys.Paths {
			p := &sys.Paths[i]
			if p.Owner == op.Dom && sys.Exists(cur, model.PathID(i)) && (p.Parent == model.NoPath || sys.Paths[p.Parent].Owner != op.Dom) {
				if err := r.rm(ctx, s, model.PathID(i), cur); err != nil {
					return err
				}
				sys.ApplyOp(cur, model.Rm(model.PathID(i)))
			}
		}
		if silent {
			return r.drainEvents(ctx, false)
		}
		return nil
	case model.OpSignal:
		r.logOp("(%s)", op.Note)
		return nil
	case model.OpTxnStart, model.OpTxnCommit, model.OpTxnAbort:
		return nil
	}
	return fmt.Errorf("exec: unknown operation %v", op.Kind)
}

// compound runs fn in a transaction of its own, unless s already is one.
func (r *Session) compound(ctx context.Context, s realxs.Store, inTx bool, fn func(s realxs.Store) error) error {
	if inTx {
		return fn(s)
	}
	return r.b.Transact(ctx, fn)
}

// wrote records, on a live host, that the run wrote p (and so maybe
// created its parents).
func (r *Session) markWritten(p model.PathID) {
	for q := p; q != model.NoPath && r.root == ""; q = r.sys.Paths[q].Parent {
		r.wrote[r.sys.Paths[q].Name] = true
	}
}

func (r *Session) write(ctx context.Context, s realxs.Store, p model.PathID, v model.Value) error {
	r.markWritten(p)
	r.logOp("WRITE %s %q", r.path(p), r.sys.Values[v])
	return s.Write(ctx, r.path(p), []byte(r.sys.Values[v]))
}

func (r *Session) rm(ctx context.Context, s realxs.Store, p model.PathID, cur model.State) error {
	r.logOp("RM %s", r.path(p))
	err := s.Rm(ctx, r.path(p))
	if errors.Is(err, realxs.ENOENT) && !r.sys.Exists(cur, p) {
		r.rep.Known[RmMissingParent]++
		return nil
	}
	return err
}

func (r *Session) watch(ctx context.Context, w model.WatchID) error {
	p := r.path(r.sys.Watches[w].Path)
	r.logOp("WATCH %s %s", p, token(r.sys, w))
	if old := r.watchers[w]; old != nil {
		old.Unwatch(ctx)
	}
	wt, err := r.b.Watch(ctx, p, token(r.sys, w))
	if err != nil {
		return err
	}
	r.watchers[w] = wt
	return nil
}

// token is the watch token of model watch w.
func token(sys *model.System, w model.WatchID) string {
	return fmt.Sprintf("xbcheck-%d", w)
}

// drainEvents waits for the daemon's events so far and takes them from
// every watcher: as pending events when keep is set, else dropped.
func (r *Session) drainEvents(ctx context.Context, keep bool) error {
	if err := r.b.Sync(ctx); err != nil {
		return err
	}
	for w, wt := range r.watchers {
		if len(wt.Drain()) > 0 && keep {
			r.pending[w] = true
		}
	}
	return nil
}
