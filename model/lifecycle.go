package model

import "fmt"

// AddLifecycle adds the actor that stands for domain dom's life outside the
// toolstack operations of the scenario: the faults that pause, destroy or
// crash it. It is not fair: faults may never happen.
//
//   - "domain-pause:<name>": xc_domain_pause; its drivers stop.
//   - "domain-destroy:<name>": the domain is destroyed by its toolstack:
//     libxl's devices_destroy_cb removes /local/domain/<id>
//     (xenbus-protocol.md 10.4), then xenstored reacts to the death
//     (OpDomainGone: with 4.17+, XSA-419, it deletes the nodes the domain
//     owns elsewhere too).
//   - "domain-crash:<name>": the domain dies and nobody cleans up: only
//     xenstored's own reaction happens, so before XSA-419 its nodes stay
//     (the stale-state case of seed 1).
func (b *Builder) AddLifecycle(dom int) {
	name := b.sys.DomainNames[dom]
	v := b.sys.Domains[dom]
	a := b.Actor(fmt.Sprintf("domain(%s)", name), Lifecycle, -1, false)
	life := a.Final("alive", "the domain as the scenario started it")
	home := b.Path(fmt.Sprintf("/local/domain/%d", dom))
	a.T(Transition{Name: "pause", Desc: "xc_domain_pause", From: life, To: life, Fault: "domain-pause:" + name,
		Guard: []Cond{VarEq(v, DomainRunning)}, Ops: []Op{Signal("pause " + name)}, Sets: []Set{{Var: v, Val: DomainPaused}}})
	a.T(Transition{Name: "destroy", Desc: "domain destroyed: xs_rm(/local/domain/<id>), then xenstored releases the domain",
		From: life, To: life, Fault: "domain-destroy:" + name,
		Guard: []Cond{VarNe(v, DomainDead)}, Ops: []Op{Rm(home), DomainGone(dom)}})
	a.T(Transition{Name: "crash", Desc: "domain dies, no toolstack cleanup: only xenstored reacts",
		From: life, To: life, Fault: "domain-crash:" + name,
		Guard: []Cond{VarNe(v, DomainDead)}, Ops: []Op{DomainGone(dom)}})
}

// GuardTimeouts adds cond to the guard of every timer transition longer
// than ms milliseconds declared so far. The scenario uses it for the
// timing assumption "qemu exits within N s of SIGHUP".
func (b *Builder) GuardTimeouts(ms int, cond Cond) {
	for i := range b.trans {
		if b.trans[i].Timeout > ms {
			b.trans[i].Guard = append(b.trans[i].Guard, cond)
		}
	}
}

// DropTimeouts removes every timer transition declared so far: the
// scenario option timeouts = false, a toolstack that waits forever.
func (b *Builder) DropTimeouts() {
	kept := b.trans[:0]
	for _, t := range b.trans {
		if t.Timeout == 0 {
			kept = append(kept, t)
		}
	}
	b.trans = kept
}

// Chain makes actor b follow actor a: every transition of a into location
// done also moves b to location start. An operation that waits at an idle
// location thus starts when another completes.
func (b *Builder) Chain(a int, done LocID, next int, start LocID) {
	set := Set{Var: b.sys.Actors[next].Loc, Val: uint8(start)}
	for i := range b.trans {
		if b.trans[i].Actor == a && b.trans[i].To == done {
			b.trans[i].Sets = append(b.trans[i].Sets, set)
		}
	}
}
