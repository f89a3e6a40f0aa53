// Package model is the shared transition model of the xenbus protocol: the
// xenstore tree with its watches and transactions, and the actors that act
// on it (the toolstack, the frontend and backend drivers, qemu, hotplug
// scripts, the domains' lifecycle). It is pure: no I/O, no goroutines, no
// clock, no randomness. The checker, the simulator and the live executor
// all drive the same System.
//
// # States and transitions
//
// A System is a compiled scenario. Its paths and values are interned to
// small integers, and a State packs the whole global state into a fixed
// number of bytes: one byte per path (the interned value, Absent when the
// node is missing), one per variable (actors' control locations, drivers'
// cached states, return codes, domains' run states), one per watch, and a
// record per open transaction. Fingerprint hashes it without allocating.
//
// Each actor is an extended finite-state machine: named control locations
// and labelled transitions, each with a guard (a conjunction of Conds over
// the store and the variables) and an effect given as data: the xenstore
// operations it performs (Ops, transaction boundaries included) and the
// variables it sets. Successors enumerates the enabled transitions of a
// state; Apply takes one.
//
// Build also compiles the guards into tables (compile.go): each atom over
// one byte becomes a byte-set test, and an actor's candidates at a
// location are dispatched on a decision tree of the bytes their guards
// read, the byte most of them read first.
// Successors and Next use the tables; a guard with an atom the compiler
// does not know (a transaction's conflict test, or a kind added later)
// and every effect go through the interpreter, and a test checks that
// both paths give the same successors in the same order on every
// scenario.
//
// GenerateGo goes one step further, as SPIN does with pan.c: it writes
// a System's guards as Go source, straight-line tests against constants,
// and its effects as the stores they end in (gen_apply.go), which a
// program built with it attaches with WithGenerated (gen.go;
// package bench holds the benchmark family's). The code carries a digest
// of itself, and WithGenerated refuses code generated from another System.
//
// # The caller's obligations
//
//  1. Build a System with a Builder and treat it as immutable afterwards.
//  2. Take states from Initial, Apply or Successors only, and never keep
//     the buffer Successors passes to its callback.
//  3. Replay a transition only where Enabled says it is enabled: a
//     transition's effect assumes its guard.
//  4. Read results through the accessors (Get, Exists, VarValue, LocOf,
//     Store); the byte layout is the System's own.
//
// # Xenstore semantics
//
// WRITE creates missing parents with empty values; MKDIR is idempotent;
// RM removes a subtree and does nothing on a missing node; a read of a
// missing node is Absent. A watch fires on its path, on its descendants,
// and on the removal of an ancestor; it fires once when registered; an
// event carries only the path, and the model keeps one pending bit per
// watch, so several events coalesce and the handler sees only current
// values. Transactions: a TxnBody transition starts the transaction and
// runs the body against the store as it is (its reads are recorded, its
// writes deferred); a Commit applies the writes; the conflict rule decides
// when the commit fails with EAGAIN instead, after which the actor runs
// the whole body again. The rules of xenstore-wire.md 1.7 are both here:
// Oxenstored (replay the reads; a transaction that writes nothing always
// commits; a concurrent same-value write does not conflict) and CXenstored
// (any change to a node the transaction touched conflicts, also of the
// same value: the nodes it reads and writes, a missing node's parents up
// to the first that exists, a removed node's parent and subtree; a node
// changes also when a child comes or goes). Permissions: see perms.go.
// A domain's run state is one of running, paused, crashed, shutdown,
// dying and gone (DomainRunning and friends); xenstored releases a dying or gone domain (OpDomainGone) and,
// with xenstored 4.17+ (XSA-419), deletes the nodes it owns, firing
// watches under C xenstored and none under oxenstored
// (System.DeathFiresWatches).
//
// # Simplifications, each standing for a named real behaviour
//
//   - Permissions (perms.go) are the lists the toolstack sets, inherited
//     by nodes created below; a directory with a list of its own has a
//     state flag saying whether SET_PERMS made it (a resurrected one has
//     its parent's). Every request of an unprivileged actor that changes
//     the store is checked, and a refused one does nothing (what the
//     unchecked calls of the real code get), except where the code reacts
//     (xenbus_switch_state, libxl__xs_path_cleanup). Reads in guards are
//     not checked: no modelled reader lacks READ in any reachable state
//     of scenarios/ before a failed request (a test; after libxl 4.17's
//     ignored SET_PERMS or MKDIR failure a driver may, docs/model.md
//     "Failing requests"). The owner of a node an unprivileged domain
//     creates is not tracked (C xenstored makes it the creator; the
//     model, as oxenstored, keeps the parent's list): with the
//     toolstack's lists such a domain creates nodes only where it is
//     the owner already. Domain death uses the static Path.Owner.
//   - xenstored fails one request per run (fault request-fail, fail.go):
//     any of a driver's xenbus_switch_state, of libxl's add, remove and
//     destroy transactions, the qemu bodge, the hotplug code's reads
//     of BE/script and BE/type and the PCI add's num_devs read,
//     transaction, body and variant A's generic_add, devices_destroy_cb
//     and xl devd's destroy (model/libxl fail.go, scriptCases, pci.go,
//     destroy.go, devd.go), of blkfront's ring and blkback's connect
//     transactions, netback's probe and connect and netfront's
//     talk_to_netback (model/linux fail.go); other requests (xl devd's
//     watch reads, the watch reads of libxl's event loop, pciback's,
//     pcifront's, kbdfront's and fbfront's own transactions) do not
//     fail.
//   - A hostile guest (hostile.go) writes and removes, never sets
//     permissions, watches or opens transactions; its values are those
//     some actor writes or tests at a node, plus one that stands for all
//     others.
//   - A transaction body is one step: under snapshot isolation (oxenstored)
//     no other actor can observe or affect the body between its start and
//     its commit, so only the commit point matters; C xenstored's
//     non-snapshot reads are approximated by reading at the start.
//   - Oxenstored's commit is modelled by its replay rule; its "coalesce"
//     fast path, which can accept more, is not.
//   - Timers are transitions without a clock. By default (LastResort) a
//     timer fires only when no protocol step is enabled but slow ones
//     (qemu's exit after SIGHUP) and faults, like SPIN's timeout; AnyTime
//     lets it fire whenever its actor waits.
//   - Each actor's steps are atomic with respect to xenstore; between two
//     steps any other actor may act.
package model
