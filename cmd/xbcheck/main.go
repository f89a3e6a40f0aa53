// Command xbcheck checks xenbus scenarios exhaustively.
//
// Usage:
//
//	xbcheck [flags] FILE|DIR...
//	xbcheck diagram flowchart|driver|sequence|states|all ...
//	xbcheck export promela|dot|json|go SCENARIO FILE
//
// Each FILE is a scenario (see scenarios/ and the README); a DIR stands for
// every *.toml file in it. For every scenario xbcheck explores every
// interleaving of its actors, checks the scenario's properties, and prints
// one line: the scenario's name, the verdict, the verdict it expects,
// whether they match, the number of distinct states and the time taken.
// For every violation it then prints the shortest counterexample, step by
// step, with each step's actor, transition and xenstore operations.
//
// Exit status: 0 when every verdict matches its scenario's expectation, 1
// when one does not, 2 for usage errors, unreadable or invalid scenarios,
// and checkpoints that cannot be written or resumed.
//
// Flags:
//
//	--json             print a machine-readable report on stdout instead
//	--html DIR         write DIR/index.html: a self-contained report with a step-through of every counterexample
//	--junit FILE       write JUnit XML: a test case per scenario, a mismatch failing with its trace
//	--trace-dir DIR    write each counterexample as DIR/<scenario>.<property>.trace (text) and .json
//	--max-states N     stop a scenario's exploration after N states (verdict unknown)
//	--memory SIZE      bound the whole process to SIZE: stop cleanly (verdict unknown) before it would hold more
//	--checkpoint DIR   write each exploration's state to DIR/<scenario>.xbckpt every --checkpoint-every
//	                   and when it stops early (Ctrl-C, a bound)
//	--resume DIR       continue each exploration from its checkpoint in DIR (and keep checkpointing there)
//	--quiet            print only the one-line summaries
//	--properties       list the properties a scenario may check, and exit
//
// `xbcheck --help` lists every flag. Progress goes to stderr for
// explorations longer than about two seconds: the states found, the rate,
// the memory in use against the budget, and the last checkpoint. The first
// Ctrl-C stops the exploration cleanly (verdict unknown, and a checkpoint
// with --checkpoint); a second one kills the process.
//
// xbcheck diagram draws the model with Graphviz (xbcheck diagram --help);
// xbcheck export writes the compiled model as Promela, a DOT state graph
// or JSON (xbcheck export --help; the JSON schema is in package export).
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
)

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

// runMain runs the command with the first SIGINT cancelling the run's
// context; the signal's default action (killing the process) is back for
// the next one.
func runMain(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
	}()
	return run(ctx, args, stdout, stderr)
}
