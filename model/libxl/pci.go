package libxl

import (
	"fmt"

	"github.com/xbcheck/xbcheck/model"
)

// Location names of PCI add.
const (
	LocReadNumDevs   = "read-num_devs"
	LocDecide        = "decide"
	LocWaitBackend   = "wait-for-backend"
	LocLock          = "lock"
	LocPCITxn        = "pci-txn"
	LocPCICommit     = "pci-commit"
	LocCreateBackend = "create-backend"
)

// PCIOptions configures one PCI add.
type PCIOptions struct {
	Version Version
	// Starting is libxl__device_pci_add's starting flag (domain creation).
	Starting bool
	// PV says the guest is PV (pcifront exists only there).
	PV bool
	// BDF names the PCI function added, e.g. "0000:02:00.0".
	BDF string
	// Lock is the variable standing for the domain's userdata lock, shared
	// by concurrent PCI adds.
	Lock model.VarID
	// Slots is the number of dev-N slots modelled.
	Slots int
	// Name distinguishes concurrent adds.
	Name string
}

// PCIAdd adds libxl__device_pci_add_xenstore for pci device di, in the
// variant of opt.Version (xenbus-protocol.md 7: A before 0fdb48ffe7a1, B
// with it, C with 73ee2795aaef). It returns the actor's index.
func PCIAdd(b *model.Builder, di int, opt PCIOptions) int {
	sys := b.Sys()
	dev := sys.Devices[di]
	variant := opt.Version.PCIVariant()
	name := opt.Name
	if name == "" {
		name = fmt.Sprintf("libxl-pci-add(%s)", opt.BDF)
	}
	a := b.Actor(name, model.Toolstack, -1, true)
	read := a.Loc(LocReadNumDevs, "libxl__device_pci_add_xenstore: read be/num_devs")
	decide := a.Loc(LocDecide, "wait for the backend? (variant "+variant+")")
	create := a.Loc(LocCreateBackend, "variant A: libxl__create_pci_backend (XBT_NULL generic_add), return")
	wait := a.Loc(LocWaitBackend, "libxl__wait_for_backend(be, \"4\"): poll be/state, 10 s")
	lock := a.Loc(LocLock, "libxl__lock_domain_userdata")
	txn := a.Loc(LocPCITxn, "transaction: JSON; create the backend if num_devs was missing; writev(be, back)")
	commit := a.Loc(LocPCICommit, "commit (EAGAIN: retry)")
	done := a.Final(LocDone, "DONE: the operation's callback gets rc")
	rc := a.Var("rc", RCOk, RCNames...)
	nd := a.Var("num_devs", 0, "⊥", "1", "2")
	complete := []model.Mark{{Kind: model.MarkComplete, Var: rc, Device: di, Op: "pci-add"}}
	S := func(x model.XenbusState) model.Value { return x.Value() }
	T := func(t model.Transition) { a.T(t) }
	numDevs := b.BEKey(di, "num_devs")
	slots := opt.Slots
	if slots < 1 {
		slots = 1
	}

	// Read num_devs (XBT_NULL, outside any transaction).
	for n := 0; n <= 2 && n <= slots; n++ {
		g := []model.Cond{model.IsAbsent(numDevs)}
		nm := "num_devs missing"
		if n > 0 {
			g = []model.Cond{model.Eq(numDevs, b.Value(fmt.Sprint(n)))}
			nm = fmt.Sprintf("num_devs = %d", n)
		}
		T(model.Transition{Name: nm, Desc: "read be/num_devs", From: read, To: decide, Guard: g,
			Ops: []model.Op{model.Read(numDevs)}, Sets: []model.Set{{Var: nd, Val: uint8(n)}}})
	}

	if b.Allowed(model.RequestFailFault) {
		// libxl__xs_read returns NULL on any error, and
		// libxl__device_pci_add_xenstore takes a NULL num_devs as "no
		// backend yet" ("num_devs = libxl__xs_read(gc, XBT_NULL, ...);",
		// then "if (!num_devs)" creates the backend: libxl_pci.c,
		// RELEASE-4.2.0 to RELEASE-4.22.0).
		T(b.RequestFails(model.Transition{Name: "num_devs read fails", Desc: "the read of be/num_devs fails: libxl__xs_read returns NULL, taken as num_devs missing",
			From: read, To: decide, Guard: []model.Cond{model.Present(numDevs)},
			Ops: []model.Op{model.Read(numDevs)}, Sets: []model.Set{{Var: nd, Val: 0}}}))
	}

	waiting := !opt.Starting && opt.PV
	afterWait := txn
	if !opt.Starting {
		afterWait = lock
	}
	invoke := model.Transition{Name: "wait_for_backend", Desc: "libxl__wait_for_backend(be, \"4\")",
		From: decide, To: wait, Ops: []model.Op{model.Read(dev.BEState)},
		Marks: []model.Mark{{Kind: model.MarkWaitForBackend, Path: dev.BEState, Device: di}}}
	skip := model.Transition{Name: "no wait", Desc: "skip the wait", From: decide, To: afterWait}
	switch variant {
	case "A":
		T(model.Transition{Name: "create backend", Desc: "num_devs missing: libxl__create_pci_backend and return (JSON not updated)",
			From: decide, To: create, Guard: []model.Cond{model.VarEq(nd, 0)}})
		if waiting {
			invoke.Guard = []model.Cond{model.VarNe(nd, 0)}
			T(invoke)
		} else {
			skip.Guard = []model.Cond{model.VarNe(nd, 0)}
			T(skip)
		}
	case "B":
		if waiting {
			T(invoke) // 0fdb48ffe7a1: the wait stays before the creation
		} else {
			T(skip)
		}
	case "C":
		if waiting {
			invoke.Guard = []model.Cond{model.VarNe(nd, 0)} // 73ee2795aaef: wait only if the backend exists
			T(invoke)
			skip.Guard = []model.Cond{model.VarEq(nd, 0)}
		}
		T(skip)
	}
	T(model.Transition{Name: "backend missing", Desc: "\"Backend ... does not exist\": ERROR_FAIL",
		From: wait, To: done, Guard: []model.Cond{model.IsAbsent(dev.BEState)}, Ops: []model.Op{model.Read(dev.BEState)},
		Sets: []model.Set{{Var: rc, Val: RCFail}}, Marks: complete})
	T(model.Transition{Name: "backend Connected", Desc: "be/state == 4", From: wait, To: afterWait,
		Guard: []model.Cond{model.Eq(dev.BEState, S(model.StateConnected))}, Ops: []model.Op{model.Read(dev.BEState)}})
	T(model.Transition{Name: "timeout (10 s)", Desc: "100 polls without 4: ERROR_FAIL", From: wait, To: done, Timeout: WaitForBackend,
		Sets: []model.Set{{Var: rc, Val: RCFail}}, Marks: complete})

	T(model.Transition{Name: "lock userdata", Desc: "take the domain's userdata lock", From: lock, To: txn,
		Guard: []model.Cond{model.VarEq(opt.Lock, 0)}, Sets: []model.Set{{Var: opt.Lock, Val: 1}}})

	pciEntries := func(n int) []model.Op {
		st := b.BEKey(di, fmt.Sprintf("state-%d", n))
		return []model.Op{
			model.Write(b.BEKey(di, fmt.Sprintf("key-%d", n)), b.Value(opt.BDF)),
			model.Write(b.BEKey(di, fmt.Sprintf("dev-%d", n)), b.Value(opt.BDF)),
			model.Write(st, b.Value("1")),
			model.Write(numDevs, b.Value(fmt.Sprint(n+1))),
		}
	}
	createOps := func() []model.Op {
		return GenericAddOps(b, di, pciEntries(0)...)
	}
	// Variant A's own creation, in generic_add's own transaction loop.
	createA := model.Transition{Name: "libxl__create_pci_backend", Desc: "generic_add with XBT_NULL: BE{state=1, num_devs=1, dev-0, state-0=1}, FE{state=1}",
		From: create, To: done, Ops: append(append([]model.Op{model.TxnStart()}, createOps()...), model.TxnCommit()), Marks: complete}
	T(createA)
	if b.Allowed(model.RequestFailFault) && variant == "A" {
		pciCreateAFailures(a, b, di, createA, rc)
	}
	var bodies []model.Transition
	for n := 0; n <= 2 && n <= slots; n++ {
		var body []model.Op
		body = append(body, model.TxnStart())
		nm := fmt.Sprintf("writev dev-%d", n)
		if n == 0 && variant != "A" {
			body = append(body, createOps()...)
			nm = "create_pci_backend, writev dev-0"
		} else {
			body = append(body, pciEntries(n)...)
			if !opt.Starting {
				body = append(body, model.Write(dev.BEState, S(model.StateReconfiguring)))
				nm += ", state = 7"
			}
		}
		if n >= slots {
			continue
		}
		bt := model.Transition{Name: nm, Desc: "JSON; writev(be, back) with N from the num_devs read before",
			From: txn, To: commit, Kind: model.TxnBody, Guard: []model.Cond{model.VarEq(nd, uint8(n))}, Ops: body}
		T(bt)
		bodies = append(bodies, bt)
	}
	if b.Allowed(model.RequestFailFault) {
		for k, body := range bodies {
			pciBodyFailures(a, b, di, opt.Version, body, append(pciEntries(k), model.Write(dev.BEState, S(model.StateReconfiguring))))
		}
	}
	var unlock []model.Set
	if !opt.Starting {
		unlock = []model.Set{{Var: opt.Lock, Val: 0}}
	}
	if b.Allowed(model.RequestFailFault) {
		// "rc = libxl__xs_transaction_start(gc, &t); if (rc) goto out;"
		// and "rc = libxl__xs_transaction_commit(gc, &t); ... if (rc < 0)
		// goto out;": ERROR_FAIL, the lock released, nothing written
		// (RELEASE-4.17.0 libxl__device_pci_add_xenstore; the body's
		// unchecked requests: pciBodyFailures).
		fail := append([]model.Set{{Var: rc, Val: RCFail}}, unlock...)
		T(b.RequestFails(model.Transition{Name: "transaction start fails", Desc: "xs_transaction_start fails: goto out, ERROR_FAIL",
			From: txn, To: done, Sets: fail, Marks: complete}))
		T(b.RequestFails(model.Transition{Name: "commit fails", Desc: "TRANSACTION_END fails (not EAGAIN): goto out, ERROR_FAIL, nothing written",
			From: commit, To: done, Kind: model.EAGAIN, Sets: fail, Marks: complete}))
	}
	commitT(a, commit, txn, done, nil, complete, unlock...)
	return a.Index()
}
