package model

import "github.com/xbcheck/xbcheck/internal/fingerprint"

// The System in the checker's terms (package checker's Model and
// TransitionCounter), and the few entry points the live executor uses.

// Fingerprint hashes a state to 64 bits without allocating. The checker
// keeps fingerprints, not states, in its seen set.
func Fingerprint(st State) uint64 { return fingerprint.Of(st) }

// Next is Successors in the checker's terms (see package checker's Model):
// for every enabled transition it yields the transition's ID, its actor,
// whether it is a fault, and the next state.
func (s *System) Next(st, next []byte, yield func(id, actor int32, fault bool, next []byte) bool) {
	s.Successors(st, next, func(t *Transition, n State) bool {
		return yield(int32(t.ID), int32(t.Actor), t.Fault != "", n)
	})
}

// InitialState returns the initial state as bytes (checker's Model).
func (s *System) InitialState() []byte { return s.Initial() }

// Quiescent reports whether every actor is at a final location (checker's
// Model): a state without successors that is not quiescent is a deadlock.
func (s *System) Quiescent(st []byte) bool { return s.AllFinal(st) }

// NumActors returns the number of actors (checker's Model).
func (s *System) NumActors() int { return len(s.Actors) }

// ActorFair reports whether actor a is fair (checker's Model).
func (s *System) ActorFair(a int) bool { return s.Actors[a].Fair }

// EffectiveOps returns the operations a transition applies to the store
// when taken in st: a commit applies its body's deferred operations, then
// its own; a transaction body applies nothing yet.
func (s *System) EffectiveOps(st State, t *Transition) (body, own []Op) {
	switch t.Kind {
	case TxnBody:
		return nil, nil
	case Commit:
		if b := s.OpenBody(st, t.Actor); b != nil {
			return b.Ops, t.Ops
		}
	}
	return nil, t.Ops
}

// ApplyOp performs one operation on st in place, with xenstored's
// semantics, outside any actor: for tests, and for tools that drive the
// store directly. OpTxn* operations do nothing here.
func (s *System) ApplyOp(st State, op Op) { s.applyOp(st, &op, 0) }

// ApplyOpAs performs op as a request of domain dom, with xenstored's
// permission checks (perms.go).
func (s *System) ApplyOpAs(st State, op Op, dom int) { s.applyOp(st, &op, dom) }

// NumTransitions is the number of transition ids (checker.TransitionCounter
// interface: ids that fit 16 bits are stored in 2 bytes per state).
func (s *System) NumTransitions() int { return len(s.Trans) }

// WithTimers returns a copy of s that uses timer semantics t (the
// simulator's virtual clock runs the model with AnyTime timers).
func (s *System) WithTimers(t TimerSemantics) *System {
	c := *s
	c.Timers = t
	return &c
}

// Walk visits every state reachable from the initial one, breadth-first,
// each once (states compared whole: for tests and small systems). It
// calls state, when not nil, for each state, then step, when not nil, for
// each transition enabled in it with its successor; the states are valid
// only during the call. Walk stops when either returns false.
func (s *System) Walk(state func(st State) bool, step func(st State, t *Transition, next State) bool) {
	init := s.Initial()
	seen := map[string]bool{string(init): true}
	queue := []State{init}
	buf := make(State, s.size)
	for len(queue) > 0 {
		st := queue[0]
		queue = queue[1:]
		if state != nil && !state(st) {
			return
		}
		stop := false
		s.Successors(st, buf, func(t *Transition, next State) bool {
			if step != nil && !step(st, t, next) {
				stop = true
				return false
			}
			if !seen[string(next)] {
				seen[string(next)] = true
				queue = append(queue, append(State(nil), next...))
			}
			return true
		})
		if stop {
			return
		}
	}
}

// WriteWords returns, per transition id, the mask of the 8-byte words of
// the state (bit j: bytes 8j to 8j+7) that the transition may change, in
// any state: the writes of its static footprint (por_static.go), which
// TestFootprintsCoverEffects checks against what steps change. nil for
// states of more than 64 words. (checker's WriteMasker: the fingerprint
// of a successor is updated from those words only.)
func (s *System) WriteWords() []uint64 {
	if (s.size+7)/8 > 64 {
		return nil
	}
	// The static footprints alone: NewPORFor builds them and the rest of
	// the reduction's analysis, 0.74 ms against 0.25 on the N = 3
	// family, run again and again; as the first thing a check does, with
	// its first page faults, 4 to 5 ms of it.
	p := &POR{s: s, permanent: s.permanentPaths()}
	out := make([]uint64, len(s.Trans))
	for ti := range s.Trans {
		f := p.footStatic(&s.Trans[ti])
		var m uint64
		add := func(g *foot) {
			for _, o := range g.offs {
				if g.kind[o]&accWrites != 0 {
					m |= 1 << (o / 8)
				}
			}
		}
		add(f)
		for _, c := range f.conds {
			add(c.acc)
		}
		out[ti] = m
	}
	return out
}
