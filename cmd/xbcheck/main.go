// Command xbcheck checks xenbus scenarios exhaustively.
//
// Usage:
//
//	xbcheck [flags] FILE|DIR...
//	xbcheck diagram flowchart|driver|sequence|states|all ...
//	xbcheck export promela|dot|json SCENARIO FILE
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
// when one does not, 2 for usage errors and unreadable or invalid
// scenarios.
//
// Flags:
//
//	--json             print a machine-readable report on stdout instead
//	--html DIR         write DIR/index.html: a self-contained report with a step-through of every counterexample
//	--junit FILE       write JUnit XML: a test case per scenario, a mismatch failing with its trace
//	--trace-dir DIR    write each counterexample as DIR/<scenario>.<property>.trace (text) and .json
//	--max-states N     stop a scenario's exploration after N states (verdict unknown)
//	--quiet            print only the one-line summaries
//	--properties       list the properties a scenario may check, and exit
//
// Progress goes to stderr for explorations longer than about two seconds.
//
// xbcheck diagram draws the model with Graphviz (xbcheck diagram --help);
// xbcheck export writes the compiled model as Promela, a DOT state graph
// or JSON (xbcheck export --help; the JSON schema is in package export).
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
