package linux

import "github.com/xbcheck/xbcheck/model"

// Failing requests (model.RequestFailFault) of the drivers' own
// transactions, beside the xenbus_switch_state failures model.Builder
// adds for every driver (model/fail.go). Each variant shares the one
// failure of the run (model.Builder.RequestFails) and exists only when
// the fault is allowed. The handling is Linux 6.1's:
//
//   - blkfront's talk_to_blkback (drivers/block/xen-blkfront.c): a failed
//     xenbus_transaction_start ("xenbus_dev_fatal(dev, err, "starting
//     transaction"); goto destroy_blkring;"), a failed write of ring-ref or
//     event-channel (write_per_ring_nodes: "message = "writing ring-ref";
//     goto abort_transaction; ... xenbus_transaction_end(xbt, 1); if
//     (message) xenbus_dev_fatal(info->xbdev, err, "%s", message);") or of
//     protocol (the same in talk_to_blkback), and a commit failing other
//     than with EAGAIN ("xenbus_dev_fatal(dev, err, "completing
//     transaction"); goto destroy_blkring;") all end in xenbus_dev_fatal,
//     a switch to Closing, with nothing of the transaction written and no
//     switch to Initialised; talk_to_blkback returns the error and
//     blkback_changed breaks (the catch-up from Connected does not
//     connect either). A failed write of feature-persistent is only a
//     dev_warn (not a modelled key);
//   - blkback's connect (drivers/block/xen-blkback/xenbus.c): a failed
//     start ("xenbus_dev_fatal(dev, err, "starting transaction");
//     return;") or write of feature-persistent, sectors, info or
//     sector-size ("xenbus_dev_fatal(...); goto abort;" → "abort:
//     xenbus_transaction_end(xbt, 1);") switches to Closing and writes
//     nothing; a commit failing other than with EAGAIN is
//     "xenbus_dev_fatal(dev, err, "ending transaction");" and then, with
//     nothing committed, "err = xenbus_switch_state(dev,
//     XenbusStateConnected);": Closing, then Connected without sectors.
//     physical-sector-size's failure is a xenbus_dev_error only.

// failTxn returns os with the driver transaction (OpTxnStart to
// OpTxnCommit) replaced by fatal, and what followed it kept (keep) or
// dropped.
func failTxn(os []model.Op, keep bool, fatal ...model.Op) []model.Op {
	start, end := -1, -1
	for i, op := range os {
		if op.Kind == model.OpTxnStart && start < 0 {
			start = i
		}
		if op.Kind == model.OpTxnCommit && start >= 0 && end < 0 {
			end = i
		}
	}
	if start < 0 || end < 0 {
		return nil
	}
	out := append(append([]model.Op(nil), os[:start]...), fatal...)
	if keep {
		out = append(out, os[end+1:]...)
	}
	return out
}

// onFails adds, when the fault is allowed, the variant of the bound case
// name whose transaction fails: its ops are os with the transaction
// replaced (failTxn), under the shared budget.
func (dr *driver) onFails(name, how, desc string, guard []model.Cond, os []model.Op, sets ...model.Set) {
	if !dr.b.Allowed(model.RequestFailFault) || os == nil {
		return
	}
	dr.a.T(dr.b.RequestFails(model.Transition{Name: name + " (" + how + ")", Desc: desc,
		From: dr.bound, To: model.SameLoc, Guard: guard, Ops: os, Sets: sets}))
}
