// Package exec is the live executor: it performs a model's transitions
// against a real xenstore and checks, after every step, that the daemon
// agrees with the model.
//
// An [Executor] maps the model's paths below a per-run root (model path
// /local/domain/1/x becomes ROOT/local/domain/1/x), writes the model's
// initial store there, and then performs each step's requests for real:
// plain requests one by one; a transaction body in a real transaction
// kept open until the actor's commit or EAGAIN step (so that other steps
// in between race with it exactly as in the model); a TRANSACTION_START
// ... END run inside one step through the client's retry helper;
// SWITCH_STATE (Linux xenbus_switch_state) as a transaction that writes
// the state only if the node exists; PATH_CLEANUP (libxl) as RM then the
// removal of each empty parent; REPLACE as a read-compare-write in a
// transaction; WATCH and UNWATCH as real watches with tokens.
//
// After every step it calls Sync, takes the watch events delivered, and
// reads the whole subtree below the root back. It compares the subtree
// with the model's store after the step (System.Store), every value read
// with the model's, and for every watch whether an event came that no
// handler has taken yet with the watch's pending bit in the model. The
// first difference is a [Divergence], with its step and a go-cmp diff.
// The differences the model keeps on purpose are [Known] and counted.
//
// The package's files follow these jobs: exec.go is the run's lifecycle
// (the [Executor], its [Session], setup, steps and cleanup) and paths.go
// maps the model's paths below the run's root; requests.go translates
// the model's operations to xenstore requests; compare.go reads the
// daemon back and compares it with the model's prediction, and
// divergence.go is what it reports; known.go names the known
// differences, by daemon, and tolerate.go holds the rules by which the
// comparison accepts them; plan.go is the dry run and the safety of a
// live host's own paths; backend.go is the [Backend] a run drives and
// modelstore.go the in-memory one.
//
// Without a daemon, [ModelStore] is an in-memory xenstore with the
// model's semantics, so that a replay runs anywhere.
//
// # Safety
//
// A run writes only below its root, which must not exist before the run
// (its parent must), and removes the root when it ends, also when its
// context is cancelled (SIGINT); it never removes anything else. A run on
// a real host's own paths ([LiveTarget]) must name the domain and the
// device, may only modify that device's directories, and must quote the
// digest of a dry run of the same plan ([MakePlan]); it removes only the
// nodes it wrote that were not there before.
//
// When the daemon goes away mid-run, Run returns an error that matches
// realxs.ErrConnLost, with the report and trace of the steps done.
package exec
