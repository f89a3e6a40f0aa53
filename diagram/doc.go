// Package diagram draws the model: the libxl device-removal flowchart of
// each modelled version, the state machines of the Linux drivers, the
// counterexamples of the checker as sequence diagrams, and the reachable
// state graph of a small scenario with its analysis. Every picture is
// computed from the same actors and traces the checker uses, never drawn
// by hand, so a diagram is true of what was checked.
//
// A diagram is first a Chart (nodes and edges with plain-text labels, which
// the tests inspect), then DOT written through gographviz with the header
// "Code generated ... DO NOT EDIT.", then SVG rendered by Graphviz's dot.
// The same model gives the same DOT bytes.
//
// docs/diagrams holds the Gallery; its DOT files are golden files, and a
// test fails when one is stale. Regenerate them with
//
//	make diagrams                    # DOT and SVG; installs graphviz if needed
//	go test ./diagram -update        # the same from the test
//
// Labels use the model's own renderings (System.FormatGuard,
// System.FormatOp, Location.Desc), with a device's directories shortened
// to FE, BE and LIBXL.
package diagram

//go:generate go test -run TestGolden -update .
