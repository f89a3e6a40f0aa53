package model

import "fmt"

// The state's byte layout, as far as code outside the model needs it: the
// properties declare which offsets they read (for partial-order
// reduction's visibility), and the Promela translation of the properties
// names the bytes it tests. The layout itself is the System's own
// (build.go): one byte per node of the store (its value, or Absent), in
// PathID order; one per variable (actors' locations among them), in
// VarID order; one per watch (unregistered, registered, or with an event
// pending); and, for each actor with transactions, its open-transaction
// record (the body's id, the conflict flag, the values read). Nothing
// outside the model may assume where a byte is.

// PathOffset is the state offset of node p: its value's byte.
func (s *System) PathOffset(p PathID) int { return int(p) }

// VarOffset is the state offset of variable v.
func (s *System) VarOffset(v VarID) int { return s.varBase + int(v) }

// TxnOffsets returns the state offsets of actor a's open-transaction
// record (the body's id, the conflict flag, the values read), or nil.
func (s *System) TxnOffsets(a int) []int {
	act := &s.Actors[a]
	if act.txnSlot < 0 {
		return nil
	}
	var out []int
	for i := 0; i < 3+act.txnReads; i++ {
		out = append(out, act.txnSlot+i)
	}
	return out
}

// OffsetName names state offset o for people: a path, a variable, a
// watch, or a transaction record.
func (s *System) OffsetName(o int) string {
	switch {
	case o < len(s.Paths):
		return s.Paths[o].Name
	case o >= s.varBase && o < s.varBase+len(s.Vars):
		return "var " + s.Vars[o-s.varBase].Name
	case o >= s.watchOff && o < s.watchOff+len(s.Watches):
		w := &s.Watches[o-s.watchOff]
		return "watch " + s.Actors[w.Actor].Name + " " + s.Paths[w.Path].Name
	}
	for ai := range s.Actors {
		if a := &s.Actors[ai]; a.txnSlot >= 0 && o >= a.txnSlot && o < a.txnSlot+3+a.txnReads {
			return "transaction of " + a.Name
		}
	}
	return fmt.Sprintf("offset %d", o)
}
