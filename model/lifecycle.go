package model

import "fmt"

// Domain run states, the values of System.Domains variables, as the
// hypervisor reports them (xc_domain_getinfo) and as xenstored and libxl
// react to them (Xen RELEASE-4.17.0):
//
//   - running, paused: listed; a paused domain's drivers do not run.
//   - crashed, shutdown: listed with the shutdown flag (a crash is a
//     shutdown with reason crash); the domain runs no more, but xenstored
//     keeps its nodes: C xenstored's check_domains only sets
//     domain->shutdown and fires @releaseDomain ("if (!dominfo.dying)
//     continue;"), oxenstored's Domains.cleanup only notifies ("if
//     info.Xenctrl.dying then dead_dom := id :: !dead_dom else notify :=
//     true").
//   - dying: xc_domain_destroy was called; still listed, with the dying
//     flag, until the last reference to it goes. Both daemons release it
//     and, from 4.17 (XSA-419), delete the nodes it owns (OpDomainGone).
//     libxl_domain_info still finds it.
//   - gone: no longer listed. xenstored releases it as a dying one
//     (C: get_domain_info fails; oxenstored: Xenctrl.Error), and
//     libxl_domain_info returns ERROR_DOMAIN_NOTFOUND (ERROR_INVAL before
//     4.6, b0e0f7270c).
const (
	DomainRunning uint8 = iota
	DomainPaused
	DomainCrashed
	DomainShutdown
	DomainDying
	DomainUnlisted // "gone"
)

// DomainStateNames names the domain run states.
var DomainStateNames = []string{"running", "paused", "crashed", "shutdown", "dying", "gone"}

// AddLifecycle adds the actor that stands for domain dom's life outside the
// toolstack operations of the scenario: the faults that pause, crash or
// destroy it. The faults are not fair: they may never happen. The run states are those of
// DomainRunning and friends.
//
//   - "domain-pause:<name>": xc_domain_pause; its drivers stop.
//   - "domain-crash:<name>": the domain crashes (domain_crash: a shutdown
//     with reason crash). It is still listed, and neither daemon deletes
//     anything: C xenstored's check_domains marks it shut down, fires
//     @releaseDomain and skips it ("if (!dominfo.dying) continue;"),
//     oxenstored's Domains.cleanup only notifies (its dead_dom list takes
//     a domain only "if info.Xenctrl.dying"). Xen RELEASE-4.17.0. What
//     follows (xl's on_crash = destroy) is the fault domain-destroy.
//   - "domain-destroy:<name>": the toolstack destroys the domain without
//     the device removals of libxl__destroy_domid: devices_destroy_cb's
//     xs_rm(/local/domain/<id>), then xc_domain_destroy makes it dying,
//     and xenstored releases it (OpDomainGone: with 4.17+, XSA-419, the
//     nodes it owns are deleted, with watch events under C xenstored and
//     without under oxenstored).
//
// AddRelease adds the hypervisor's release of a dying domain.
func (b *Builder) AddLifecycle(dom int) {
	name := b.sys.DomainNames[dom]
	v := b.sys.Domains[dom]
	a := b.Actor(fmt.Sprintf("domain(%s)", name), Lifecycle, -1, false)
	life := a.Final("alive", "the domain as the scenario started it")
	home := b.Path(fmt.Sprintf("/local/domain/%d", dom))
	a.T(Transition{Name: "pause", Desc: "xc_domain_pause", From: life, To: life, Fault: "domain-pause:" + name,
		Guard: []Cond{VarEq(v, DomainRunning)}, Ops: []Op{Signal("pause " + name)}, Sets: []Set{{Var: v, Val: DomainPaused}}})
	a.T(Transition{Name: "crash", Desc: "domain_crash: shut down with reason crash, still listed; xenstored keeps its nodes",
		From: life, To: life, Fault: "domain-crash:" + name,
		Guard: []Cond{VarEq(v, DomainRunning)}, Ops: []Op{Signal("crash " + name)}, Sets: []Set{{Var: v, Val: DomainCrashed}}})
	a.T(Transition{Name: "destroy", Desc: "xs_rm(/local/domain/<id>), xc_domain_destroy: dying; xenstored releases the domain",
		From: life, To: life, Fault: "domain-destroy:" + name,
		Guard: []Cond{VarIn(v, DomainRunning, DomainPaused, DomainCrashed, DomainShutdown)},
		Ops:   []Op{Rm(home), Signal("xc_domain_destroy"), DomainGone(dom)}, Sets: []Set{{Var: v, Val: DomainDying}}})
}

// AddRelease adds the hypervisor's release of domain dom once it is dying:
// when the last reference to it goes, it is no longer listed, and libxl's
// libxl_domain_info fails (ERROR_DOMAIN_NOTFOUND). The actor is not fair,
// so the release may never happen (a zombie domain, held by a page
// another domain still maps); it is no fault either, so a state whose
// only move is the release is not stuck. A scenario adds it only where a
// guard can tell dying from gone (libxl's existence check of a device's
// domain): elsewhere it would only add states.
func (b *Builder) AddRelease(dom int) {
	name := b.sys.DomainNames[dom]
	v := b.sys.Domains[dom]
	a := b.Actor(fmt.Sprintf("hypervisor(%s)", name), Lifecycle, -1, false)
	at := a.Final("listed", "the hypervisor lists the domain until it is released")
	a.T(Transition{Name: "released", Desc: "the last reference to the dying domain goes: no longer listed",
		From: at, To: at, Guard: []Cond{VarEq(v, DomainDying)}, Sets: []Set{{Var: v, Val: DomainUnlisted}}})
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
