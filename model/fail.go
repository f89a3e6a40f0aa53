package model

import "fmt"

// RequestFailFault is the fault of a xenstored that fails one request
// (ENOMEM, EQUOTA: a request can fail for reasons of its own,
// xenstored_core.c and oxenstored's Quota.Limit_reached): once per run,
// one request of one actor fails, under the one budget
// xenstored.failures-left (FailureBudget, RequestFails). The actors add
// the variants of their own requests, each with its code's handling:
// libxl's add, remove and destroy (model/libxl fail.go, per version),
// blkfront's ring transaction, blkback's connect, netback's probe and
// connect and netfront's talk_to_netback (model/linux fail.go); this
// file adds those of xenbus_switch_state for every driver. docs/model.md "Failing requests" has the table and what is
// not modelled.
//
// xenbus_switch_state's handling of every failure is in one function and
// the same for every driver (Linux v6.1
// drivers/xen/xenbus/xenbus_client.c __xenbus_switch_state), and it
// returns 0 whatever happened, so the driver's code goes on as if the
// switch had been made:
//
//   - a failed TRANSACTION_START: xenbus_switch_fatal, return 0; nothing
//     written, dev->state unchanged;
//   - a failed READ ("err != 1 goto abort") or WRITE (xenbus_switch_fatal,
//     goto abort): the transaction is ended with abort,
//     xenbus_transaction_end returns 0 and dev->state takes the new
//     state, nothing written;
//   - a failed TRANSACTION_END other than EAGAIN: xenbus_switch_fatal;
//     nothing written, dev->state unchanged.
//
// So there are two outcomes, both without the write: the cached state
// moves (failed read or write) or stays (failed start or end). The error
// node xenbus_switch_fatal writes is not modelled (keys, simplification
// 5 of docs/model.md).
const RequestFailFault = "request-fail"

// addSwitchStateFailures adds, for every transition of a frontend or
// backend driver with a xenbus_switch_state in it, the variants where
// that switch fails in each of its two ways, under the fault
// RequestFailFault and a budget of one failure per run.
func (b *Builder) addSwitchStateFailures() {
	left := b.FailureBudget()
	n := len(b.trans)
	for i := 0; i < n; i++ {
		t := b.trans[i]
		k := b.sys.Actors[t.Actor].Kind
		if t.Fault != "" || (k != Frontend && k != Backend) || t.Kind != Atomic {
			continue
		}
		for j, op := range t.Ops {
			if op.Kind != OpSwitchState {
				continue
			}
			later := false
			for _, o := range t.Ops[j+1:] {
				later = later || o.Kind == OpSwitchState && o.Var == op.Var
			}
			resets := false
			for _, st := range t.Sets {
				resets = resets || st.Var == op.Var
			}
			for _, moves := range []bool{true, false} {
				if moves && later {
					// The cache would have to move before the later
					// switches compare with it; no modelled transition
					// needs this.
					continue
				}
				if !moves && resets {
					// The step unregisters the driver: xenbus_dev_remove
					// switches to Closed again when the node reads
					// Closing, which with the cache unchanged writes it
					// (a second request); the model's step has no such
					// write, so this variant is left out.
					continue
				}
				u := t
				u.Fault = RequestFailFault
				how, short := "start or end fails: the cache stays", "cache stays"
				if moves {
					how, short = "read or write fails: abort, the cache takes it", "cache moves"
				}
				u.Name = fmt.Sprintf("%s (switch to %s fails, %s)", t.Name, XenbusState(op.Val-2), short)
				u.Desc = t.Desc + "; xenbus_switch_state fails (" + how + ")"
				u.Guard = append(append([]Cond(nil), t.Guard...), VarEq(left, 1))
				u.Ops = append(append([]Op(nil), t.Ops[:j]...), t.Ops[j+1:]...)
				u.Sets = nil
				if moves {
					// Before the transition's own sets: an unregister's
					// reset of the cache still wins.
					u.Sets = append(u.Sets, Set{Var: op.Var, Val: uint8(op.Val - 2)})
				}
				u.Sets = append(append(u.Sets, t.Sets...), Set{Var: left, Val: 0})
				b.trans = append(b.trans, u)
			}
		}
	}
}

// FailureBudget returns the variable xenstored.failures-left, the one
// budget of RequestFailFault (1: a request may still fail in this run, 0:
// one has), declared on first use so that a scenario without the fault
// has no such variable.
func (b *Builder) FailureBudget() VarID {
	if b.failLeft == 0 {
		b.failLeft = int(b.Var("xenstored.failures-left", 1, "0", "1")) + 1
	}
	return VarID(b.failLeft - 1)
}

// RequestFails returns t made a variant under RequestFailFault: enabled
// only while the budget is left, spending it. The caller gives t the
// effect of the failed request on its program (what is written or not,
// where it goes, which rc); an actor package adds such variants only when
// b.Allowed(RequestFailFault), so that a scenario without the fault keeps
// its transitions and its state layout.
func (b *Builder) RequestFails(t Transition) Transition {
	left := b.FailureBudget()
	t.Fault = RequestFailFault
	t.Guard = append(append([]Cond(nil), t.Guard...), VarEq(left, 1))
	t.Sets = append(append([]Set(nil), t.Sets...), Set{Var: left, Val: 0})
	return t
}
