// Command xbsim runs xenbus scenarios forward under a chosen or random
// schedule, and replays traces against the model.
//
// Usage:
//
//	xbsim run SCENARIO [flags]
//	xbsim replay [--scenario FILE] [--json] [--html DIR] TRACE
//
// # run
//
// xbsim run simulates the scenario from its initial state, choosing each
// step with a scheduler, and checks the scenario's properties on the way:
// invariants in every state and step invariants on every step (the run
// stops at the first violation); at a run's end (no transition enabled),
// deadlock and the eventually-properties that never held.
//
// With one run (the default) it prints the run's trace on stdout, in the
// checker's format (--json for JSON), and a line on stderr with the seed,
// how the run ended and the property that failed, if any. With --runs N it
// runs seeds SEED, SEED+1, ..., SEED+N-1 and prints a summary instead: how
// many runs each property failed in, the seed of the first failure, and
// the throughput. Every run is a function of its seed: xbsim run SCENARIO
// --seed S (with the same flags) prints the same run again.
//
// Schedulers (--scheduler):
//
//	random   uniform among the enabled steps (the default)
//	pct      probabilistic concurrency testing: random actor priorities
//	         with d-1 priority changes among the first k steps
//	         (--pct-depth d, --pct-steps k)
//	clock    a virtual clock: timers fire at their real deadlines (2 s qemu
//	         bodge, 10 s device waits, 10 or 40 s hotplug, 100 s xend)
//	         and every other step after a delay drawn from its class's
//	         distribution (--delay CLASS=DIST, e.g. qemu-exit=exp(1s),
//	         step=uniform(100us,2ms); classes: step, qemu-exit,
//	         toolstack, frontend, backend, qemu, daemon, lifecycle;
//	         distributions: fixed(D), uniform(D,D), exp(MEAN),
//	         lognormal(MEDIAN,SIGMA))
//
// Faults the scenario allows are injected with probability --fault-prob
// per step, at chosen points (--fault NAME@STEP: the first step at or
// after STEP where the fault is enabled), and whenever nothing else is
// enabled.
//
// # replay
//
// xbsim replay re-executes a trace, as written by xbsim run, by xbcheck
// --trace-dir (text or JSON), or edited by hand, against the model of its
// scenario: every step must be enabled and lead to the state the trace
// records. It reports the first divergence with its step number and a
// diff, and otherwise whether the run ends in the violation the trace
// records. The scenario is the trace's file= when it exists, else
// NAME.toml beside the trace or in a scenarios/ directory beside it or
// any of its parents; --scenario gives it explicitly.
//
// # Reports
//
// --html DIR (run and replay) writes a self-contained HTML report with a
// step-through of the run: DIR/SCENARIO.seedN.html for one run,
// DIR/SCENARIO.seedsA-B.html holding each property's first failing run
// for --runs, DIR/TRACE.html for a replay. A replay against a xenstore
// (--xenstore, --root) shows the requests the run performed beside the
// model's steps.
//
// Exit status: 0 when no property failed (run) or the trace replays as
// recorded (replay); 1 when a property failed in some run, or the replay
// diverges or ends otherwise than recorded; 2 for usage errors and
// unreadable scenarios or traces.
package main

import (
	"context"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
