package exec

// A Known names a way in which the real daemon and the model differ on
// purpose: the model simplifies, and the executor tolerates and counts the
// difference instead of reporting a divergence. Each has its own test
// (realxs/exec and realxs/difftest), which fails if the daemon ever
// stops behaving that way.
type Known string

// The differences of both daemons, oxenstored and C xenstored (package
// realxs/difftest checks each live on both).
const (
	// EventMultiplicity: the daemon sends one event per change (and, at
	// a commit, per write of the transaction on oxenstored, per node
	// written on C xenstored), the model keeps one pending bit per watch,
	// so several events coalesce into one (xenstore-wire.md 1.6: "at least
	// one, possibly coalesced"). The executor checks that an event came
	// when the model marks the watch pending, and none when it does not.
	EventMultiplicity Known = "event-multiplicity"
	// RmMissingParent: RM of a node whose parent is missing is ENOENT in
	// both daemons (xenstore-wire.md 1.2); the model makes it a no-op
	// (docs/model.md: nobody in the model relies on the error).
	RmMissingParent Known = "rm-missing-parent"
	// RmPhantomEvent: when a node is removed, the model fires every
	// watch below it; oxenstored 4.17 delivers an event only when its
	// node exists before or after the change, or the node's parent
	// before it (it looks them up to check that the watcher may read the
	// node); C xenstored 4.17 only when the watched node itself existed
	// (xenstored_core.c, delnode_sub: one exact event per node removed;
	// the removed node's own event reaches watches on it and above). The
	// model predicts an event the daemon does not send.
	RmPhantomEvent Known = "rm-phantom-event"
	// TxnEventsFromBody: at a commit, oxenstored fires one event per
	// modifying request the transaction made, for the watches it fired
	// in the snapshot (even where replaying it on the current store
	// changes nothing: a MKDIR of a node created meanwhile), delivered
	// when the node exists in the transaction's snapshot or after the
	// commit, or its parent in the snapshot (a node written then removed
	// in the transaction fires nothing, nor does a removal for a watched
	// node created meanwhile). C xenstored fires once per node the
	// transaction wrote or removed (queue_watches, finalize_transaction),
	// delivered when the node existed when the transaction first touched
	// it or exists after the commit: a node created and removed in the
	// transaction fires nothing. The model fires for what the commit
	// changes.
	TxnEventsFromBody Known = "txn-events-from-body"
	// PermsNotModelled: SET_PERMS is performed with the path's owner as
	// the model fixes it; permissions are not checked (every client of
	// the test daemon is dom0). C xenstored also refuses, with ENOENT, a
	// SET_PERMS whose owner is a domain that does not exist
	// (xenstored_core.c, do_set_perms).
	PermsNotModelled Known = "perms-not-modelled"
)

// The differences of oxenstored alone ([OxenstoredOnly]): C xenstored
// behaves as the model there (package realxs/difftest checks each live
// on oxenstored).
const (
	// TxnNoopWrites: a transaction whose modifying requests changed
	// nothing in its snapshot (MKDIR of an existing node, RM of a missing
	// one) writes nothing for oxenstored and always commits, even when
	// what it read changed; and such an RM is replayed at commit with
	// its response (it fails the commit if its parent went away). The
	// model's rule decides on the body's request kinds and compares only
	// what it read.
	TxnNoopWrites Known = "txn-noop-writes"
	// TxnFailedRequestReplayed: oxenstored records a failed request of a
	// transaction (an RM whose parent is missing: ENOENT) and replays it
	// at commit; if it would now succeed, the commit fails with EAGAIN.
	// The model has no failed requests (see RmMissingParent).
	TxnFailedRequestReplayed Known = "txn-failed-request-replayed"
	// Coalesce: oxenstored commits a transaction without replaying it
	// when the subtrees its reads and writes lie in are unchanged (its
	// "coalesce" fast path), which accepts commits the replay rule
	// fails with EAGAIN (package model: "its coalesce fast path, which
	// can accept more, is not" modelled). The model is stricter: more
	// retries, never fewer.
	Coalesce Known = "oxenstored-coalesce"
)

// The executor's own emulations ([Emulated]): where the test daemon
// cannot do what the model does, the executor does it another way and
// counts it (package realxs/exec tests each).
const (
	// InjectedEAGAIN: the model's "eagain" fault fails a commit that the
	// daemon would accept; the executor aborts the transaction instead.
	InjectedEAGAIN Known = "injected-eagain"
	// EAGAINRetried: the daemon failed a commit the model accepts (with
	// test-eagain); the executor reran the body through the retry helper,
	// as every client does.
	EAGAINRetried Known = "eagain-retried"
	// DomainGoneEmulated: no domain dies on the test daemon; the executor
	// performs the removals xenstored 4.17 (XSA-419) makes on a domain's
	// death itself, and nothing before 4.17.
	DomainGoneEmulated Known = "domain-gone-emulated"
)

// Knowns lists every known difference, for documentation and tests.
var Knowns = []Known{EventMultiplicity, RmMissingParent, InjectedEAGAIN, EAGAINRetried, DomainGoneEmulated, PermsNotModelled,
	RmPhantomEvent, TxnEventsFromBody, TxnNoopWrites, TxnFailedRequestReplayed, Coalesce}

// OxenstoredOnly lists the known differences that oxenstored shows and
// C xenstored does not; every other one but the [Emulated] ones both
// daemons show.
var OxenstoredOnly = []Known{TxnNoopWrites, TxnFailedRequestReplayed, Coalesce}

// Emulated lists the executor's own emulations, which no daemon shows.
var Emulated = []Known{InjectedEAGAIN, EAGAINRetried, DomainGoneEmulated}
