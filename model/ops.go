package model

import (
	"fmt"
	"strings"
)

// An OpKind is a xenstore request, or one of the few compound operations the
// drivers and libxl build from them.
type OpKind uint8

// The operation kinds. Reference: docs/misc/xenstore.txt; xenstore-wire.md 1.2.
const (
	OpRead      OpKind = iota // READ: no effect; a missing node reads as ⊥
	OpDirectory               // DIRECTORY: no effect
	OpWrite                   // WRITE: creates missing parents with empty values
	OpMkdir                   // MKDIR: idempotent; no event when the node exists
	OpRm                      // RM: removes the subtree; no-op when absent
	// OpCleanup is libxl__xs_path_cleanup: RM the path, then remove each
	// parent whose value is empty and which has no children left.
	OpCleanup
	// OpSetPerms is SET_PERMS of the list the toolstack sets on Path
	// (Path.ACL, perms.go); fires watches.
	OpSetPerms
	// OpSwitchState is Linux xenbus_switch_state(dev, Val): nothing when Val
	// equals the driver's cached state (Var); otherwise, in a transaction,
	// read the node and write Val only if it exists ("we don't want to
	// resurrect that directory"). The cache takes Val either way: the abort
	// path of __xenbus_switch_state ends the transaction without error and
	// so sets dev->state too.
	OpSwitchState
	// OpReplace writes Val only if the node currently holds From: an
	// in-kernel read-modify-write done under one transaction (pciback's
	// per-device state-N updates).
	OpReplace
	OpWatch      // WATCH: registers the watch; it fires once at once
	OpUnwatch    // UNWATCH
	OpTxnStart   // TRANSACTION_START
	OpTxnCommit  // TRANSACTION_END T: applies the body's writes
	OpTxnAbort   // TRANSACTION_END F
	OpDomainGone // xenstored's release of a dying or vanished domain (Dom)
	OpSignal     // not a xenstore request: a signal, spawn or pause (Note)
)

var opNames = [...]string{
	"READ", "DIRECTORY", "WRITE", "MKDIR", "RM", "PATH_CLEANUP", "SET_PERMS",
	"SWITCH_STATE", "REPLACE", "WATCH", "UNWATCH", "TXN_START", "TXN_COMMIT",
	"TXN_ABORT", "DOMAIN_GONE", "SIGNAL",
}

func (k OpKind) String() string { return opNames[k] }

// ParseOpKind is the inverse of OpKind.String.
func ParseOpKind(s string) (OpKind, bool) {
	for i, n := range opNames {
		if n == s {
			return OpKind(i), true
		}
	}
	return 0, false
}

// IsWrite reports whether an operation of kind k may modify the store.
func (k OpKind) IsWrite() bool {
	switch k {
	case OpWrite, OpMkdir, OpRm, OpCleanup, OpSetPerms, OpSwitchState, OpReplace, OpDomainGone:
		return true
	}
	return false
}

// An Op is one xenstore operation performed by a transition: the effect of
// a transition as data.
type Op struct {
	Kind  OpKind
	Path  PathID
	Val   Value
	From  Value   // OpReplace
	Var   VarID   // OpSwitchState: the driver's cached-state variable
	Watch WatchID // OpWatch, OpUnwatch
	Dom   int     // OpDomainGone
	Note  string  // OpSignal
}

// Read returns a READ of p.
func Read(p PathID) Op { return Op{Kind: OpRead, Path: p} }

// Directory returns a DIRECTORY of p.
func Directory(p PathID) Op { return Op{Kind: OpDirectory, Path: p} }

// Write returns a WRITE of v to p.
func Write(p PathID, v Value) Op { return Op{Kind: OpWrite, Path: p, Val: v} }

// Mkdir returns a MKDIR of p.
func Mkdir(p PathID) Op { return Op{Kind: OpMkdir, Path: p} }

// Rm returns an RM of p.
func Rm(p PathID) Op { return Op{Kind: OpRm, Path: p} }

// Cleanup returns libxl__xs_path_cleanup of p.
func Cleanup(p PathID) Op { return Op{Kind: OpCleanup, Path: p} }

// SetPerms returns a SET_PERMS of p.
func SetPerms(p PathID) Op { return Op{Kind: OpSetPerms, Path: p} }

// SwitchState returns xenbus_switch_state of the state node p to v, with the
// driver's cached state in cache.
func SwitchState(p PathID, v XenbusState, cache VarID) Op {
	return Op{Kind: OpSwitchState, Path: p, Val: v.Value(), Var: cache}
}

// Replace returns a write of v to p done only if p holds from.
func Replace(p PathID, from, v Value) Op { return Op{Kind: OpReplace, Path: p, From: from, Val: v} }

// WatchOp returns a WATCH registration of w.
func WatchOp(w WatchID) Op { return Op{Kind: OpWatch, Watch: w} }

// UnwatchOp returns an UNWATCH of w.
func UnwatchOp(w WatchID) Op { return Op{Kind: OpUnwatch, Watch: w} }

// TxnStart, TxnCommit and TxnAbort bound a transaction.
func TxnStart() Op  { return Op{Kind: OpTxnStart} }
func TxnCommit() Op { return Op{Kind: OpTxnCommit} }
func TxnAbort() Op  { return Op{Kind: OpTxnAbort} }

// DomainGone returns xenstored's release of domain d, which it has found
// dying or no longer listed (C xenstored check_domains, oxenstored
// Domains.cleanup): with System.RemoveOwnedOnDeath the nodes d owns are
// deleted, with or without watch events (System.DeathFiresWatches). It
// does not change d's run state: the transition that makes d dying says
// so in its Sets.
func DomainGone(d int) Op { return Op{Kind: OpDomainGone, Dom: d} }

// Signal returns a non-xenstore action, such as "SIGHUP qemu".
func Signal(note string) Op { return Op{Kind: OpSignal, Note: note} }

// FormatOp renders op for traces. When st is not nil, reads show the value
// read in st.
func (s *System) FormatOp(op Op, st State) string {
	p := func() string { return s.Paths[op.Path].Name }
	switch op.Kind {
	case OpRead, OpDirectory:
		if st != nil {
			if op.Kind == OpDirectory {
				return fmt.Sprintf("%s %s = [%s]", op.Kind, p(), strings.Join(s.Children(st, op.Path), " "))
			}
			return fmt.Sprintf("%s %s = %s", op.Kind, p(), s.FormatValue(Value(st[op.Path])))
		}
		return fmt.Sprintf("%s %s", op.Kind, p())
	case OpWrite, OpSwitchState:
		return fmt.Sprintf("%s %s %s", op.Kind, p(), s.FormatValue(op.Val))
	case OpReplace:
		return fmt.Sprintf("%s %s %s %s", op.Kind, p(), s.FormatValue(op.From), s.FormatValue(op.Val))
	case OpMkdir, OpRm, OpCleanup, OpSetPerms:
		return fmt.Sprintf("%s %s", op.Kind, p())
	case OpWatch, OpUnwatch:
		return fmt.Sprintf("%s %s", op.Kind, s.Paths[s.Watches[op.Watch].Path].Name)
	case OpDomainGone:
		return fmt.Sprintf("%s %d", op.Kind, op.Dom)
	case OpSignal:
		return fmt.Sprintf("%s %s", op.Kind, op.Note)
	}
	return op.Kind.String()
}

// Children returns the last path elements of the existing children of p in st.
func (s *System) Children(st State, p PathID) []string {
	var out []string
	for _, c := range s.Paths[p].Children {
		if st[c] != byte(Absent) {
			n := s.Paths[c].Name
			out = append(out, n[strings.LastIndexByte(n, '/')+1:])
		}
	}
	return out
}

// A CondKind is the kind of one atom of a guard.
type CondKind uint8

// The condition kinds.
const (
	CondPresent    CondKind = iota // node Path exists
	CondAbsent                     // node Path does not exist
	CondEq                         // node Path holds Val
	CondNe                         // node Path exists and does not hold Val
	CondIn                         // the value of Path is in Mask (bit 0: absent)
	CondVarEq                      // variable Var equals X
	CondVarNe                      // variable Var differs from X
	CondVarIn                      // variable Var is in Mask
	CondConflict                   // the actor's open transaction would get EAGAIN
	CondNoConflict                 // the actor's open transaction would commit
	CondWritable                   // the actor's domain may write node Path (perms.go)
)

// A Cond is one atom of a guard; a guard is the conjunction of its atoms.
type Cond struct {
	Kind CondKind
	Path PathID
	Val  Value
	Var  VarID
	X    uint8
	Mask uint64
}

// Present is true when p exists.
func Present(p PathID) Cond { return Cond{Kind: CondPresent, Path: p} }

// IsAbsent is true when p does not exist.
func IsAbsent(p PathID) Cond { return Cond{Kind: CondAbsent, Path: p} }

// Eq is true when p holds v.
func Eq(p PathID, v Value) Cond { return Cond{Kind: CondEq, Path: p, Val: v} }

// Ne is true when p exists and does not hold v.
func Ne(p PathID, v Value) Cond { return Cond{Kind: CondNe, Path: p, Val: v} }

// In is true when the value of p is one of vs (Absent for a missing node).
// Every value must be below 64.
func In(p PathID, vs ...Value) Cond {
	var m uint64
	for _, v := range vs {
		if v >= 64 {
			panic("model.In: value id too large for a mask")
		}
		m |= 1 << v
	}
	return Cond{Kind: CondIn, Path: p, Mask: m}
}

// StateIn is true when the state node p holds one of the XenbusStates xs;
// Unknown matches a missing node too, as xenbus_read_driver_state reads it.
func StateIn(p PathID, xs ...XenbusState) Cond {
	vs := make([]Value, 0, len(xs)+1)
	for _, x := range xs {
		vs = append(vs, x.Value())
		if x == StateUnknown {
			vs = append(vs, Absent)
		}
	}
	return In(p, vs...)
}

// StateNotIn is the complement of StateIn.
func StateNotIn(p PathID, xs ...XenbusState) Cond {
	c := StateIn(p, xs...)
	c.Mask = ^c.Mask
	return c
}

// VarEq is true when variable v equals x.
func VarEq(v VarID, x uint8) Cond { return Cond{Kind: CondVarEq, Var: v, X: x} }

// VarNe is true when variable v differs from x.
func VarNe(v VarID, x uint8) Cond { return Cond{Kind: CondVarNe, Var: v, X: x} }

// VarIn is true when variable v is one of xs (each below 64).
func VarIn(v VarID, xs ...uint8) Cond {
	var m uint64
	for _, x := range xs {
		m |= 1 << x
	}
	return Cond{Kind: CondVarIn, Var: v, Mask: m}
}

// Conflict is true when the actor's open transaction would fail with EAGAIN.
func Conflict() Cond { return Cond{Kind: CondConflict} }

// NoConflict is true when the actor's open transaction would commit.
func NoConflict() Cond { return Cond{Kind: CondNoConflict} }

// FormatCond renders c in the protocol's words, for diagrams and traces.
func (s *System) FormatCond(c Cond) string {
	switch c.Kind {
	case CondPresent:
		return "exists(" + s.Paths[c.Path].Name + ")"
	case CondAbsent:
		return "!exists(" + s.Paths[c.Path].Name + ")"
	case CondEq:
		return s.Paths[c.Path].Name + " == " + s.FormatValue(c.Val)
	case CondNe:
		return s.Paths[c.Path].Name + " != " + s.FormatValue(c.Val)
	case CondIn:
		var vs []string
		for v := 0; v < 64 && v < len(s.Values); v++ {
			if c.Mask&(1<<v) != 0 {
				vs = append(vs, s.FormatValue(Value(v)))
			}
		}
		return s.Paths[c.Path].Name + " in {" + strings.Join(vs, ",") + "}"
	case CondVarEq:
		return s.Vars[c.Var].Name + " == " + s.FormatVar(c.Var, c.X)
	case CondVarNe:
		return s.Vars[c.Var].Name + " != " + s.FormatVar(c.Var, c.X)
	case CondVarIn:
		var vs []string
		for x := 0; x < 64; x++ {
			if c.Mask&(1<<x) != 0 && (len(s.Vars[c.Var].Names) == 0 || x < len(s.Vars[c.Var].Names)) {
				vs = append(vs, s.FormatVar(c.Var, uint8(x)))
			}
		}
		return s.Vars[c.Var].Name + " in {" + strings.Join(vs, ",") + "}"
	case CondConflict:
		return "xenstore conflict"
	case CondNoConflict:
		return "no conflict"
	case CondWritable:
		return "writable(" + s.Paths[c.Path].Name + ")"
	}
	return "?"
}

// FormatGuard renders a guard as a conjunction.
func (s *System) FormatGuard(g []Cond) string {
	if len(g) == 0 {
		return "true"
	}
	parts := make([]string, len(g))
	for i, c := range g {
		parts[i] = s.FormatCond(c)
	}
	return strings.Join(parts, " && ")
}

// Writes reports whether t modifies the store: one of its operations is
// a write.
func (t *Transition) Writes() bool {
	for _, op := range t.Ops {
		if op.Kind.IsWrite() {
			return true
		}
	}
	return false
}
