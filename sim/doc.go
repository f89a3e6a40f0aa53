// Package sim runs a scenario forward, one schedule at a time, on the same
// model.System the checker explores: it has no copy of the model's
// semantics. It is the synchronous driver over the pure model, in the
// manner of raft's RawNode over raft: a Sim holds buffers and is not safe
// for concurrent use, and every choice it makes comes from a Scheduler.
//
// # Schedulers
//
//   - Random: uniform over the enabled non-fault steps, seeded.
//   - PCT (probabilistic concurrency testing, Burckhardt et al. 2010):
//     random actor priorities with d-1 priority-change points among the
//     first k steps; it finds a bug of depth d with probability at least
//     1/(n·k^(d-1)) per run, n being the number of actors.
//   - Clock: a discrete-event simulation on a virtual clock. Every timer
//     carries its real constant (Transition.Timeout: 2 s qemu bodge, 10 s
//     device waits, 10 or 40 s hotplug, 100 s xend) and fires when its
//     deadline comes, counted from the moment its actor entered the
//     location the timer belongs to; every other step takes a delay drawn
//     from a distribution of its class (Delays), counted from the moment
//     it became enabled. "qemu takes longer than 2 s to exit" becomes the
//     probability that qemu-exit's draw exceeds the bodge timer.
//   - Schedule: replays a recorded list of transition ids.
//
// Every scheduler but Schedule takes a seed; the same seed gives the same
// run, and Trace records it (xbsim run --seed N replays it).
//
// Faults (transitions with a Fault name, present only in scenarios that
// allow them) are chosen apart from the protocol steps: at chosen points
// (FaultPoint: the first step at or after N where the fault is enabled)
// or at random with probability FaultProb per step, and when nothing but
// faults is enabled. Faults need not happen, so such a state is first
// judged as the end of the run (deadlock, eventually-properties), as the
// checker judges it; the run goes on with a fault only when that finds
// no violation.
//
// # Properties
//
// During a run, invariants are checked in every state and step invariants
// on every step; the run stops at the first violation. When a run ends
// because no transition but faults is enabled, a deadlock is reported as by the
// checker (the state is not quiescent), and an eventually-property fails
// if it never held on the run. A run cut by the step bound says nothing
// about eventually-properties; cycles are not looked for.
//
// # Reduction
//
// Reduce shortens a failing run to a 1-minimal schedule (dropping any one
// step loses the violation), replaying the rest of the schedule and
// skipping steps that are no longer enabled, as pebble's metamorphic
// reducer does for its op lists. Package simtest applies it after rapid's
// own shrinking.
//
// # Time
//
// Without the clock, timers follow the scenario's semantics (LastResort or
// AnyTime), as in the checker. With the clock, the simulator lets every
// timer be a candidate while its actor waits (AnyTime) and the clock
// decides; a trace made so says timers=clock and records each step's
// time, and Replay checks that no timer fired before its deadline. The
// scenario's qemu-exit-within guard stays in force: timers longer than
// the bound wait for a signalled qemu to exit, whatever its delay.
package sim
