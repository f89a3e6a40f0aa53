package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/xbcheck/xbcheck/diagram"
	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/scenario"
)

const diagramUsage = `usage: xbcheck diagram KIND [flags] [FILE...]

Draws the model as Graphviz DOT (and SVG), computed from the same actors
and traces the checker uses.

Kinds:
  flowchart [--version V] [--versus V2]   libxl's device-removal flowchart of version V
                                          (default 4.2), or V against V2 in one picture
  flowchart FILE [--actor NAME]           the control flow of each toolstack actor of a scenario
  driver [--driver NAME]                  a Linux driver's XenbusState machine (default blkback;
                                          blkback, blkfront, netback, netfront, pciback, pcifront,
                                          kbdfront, fbfront)
  driver FILE [--actor NAME]              the state machine of each driver of a scenario
  sequence FILE...                        each counterexample of each scenario as a sequence diagram
  states FILE [--max-states N]            the reachable state graph, its counterexample in red
  all [--scenarios DIR]                   every diagram of docs/diagrams (needs -o)

Without -o the DOT goes to stdout. With -o DIR each diagram is written to
DIR/NAME.dot and, when Graphviz's dot is installed, DIR/NAME.svg, each
atomically.

Exit status: 0 drawn; 2 usage errors, unreadable scenarios, graphs too
large to draw, or a failing dot.

Flags:
`

// runDiagram is "xbcheck diagram": args are what follows the word.
func runDiagram(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("xbcheck diagram", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "write the diagrams to `DIR` (DOT, and SVG when dot is installed) instead of DOT on stdout")
	version := fs.String("version", "4.2", "flowchart: the libxl `VERSION`")
	versus := fs.String("versus", "", "flowchart: draw --version against `VERSION` in one picture")
	actor := fs.String("actor", "", "flowchart, driver with FILE: draw only the actor called `NAME`")
	driver := fs.String("driver", "blkback", "driver without FILE: the driver `NAME`")
	maxStates := fs.Int("max-states", diagram.DefaultMaxStates, "states: refuse graphs of more than `N` states")
	scenarios := fs.String("scenarios", "scenarios", "all: the scenario `DIR`")
	fs.Usage = func() {
		fmt.Fprint(stderr, diagramUsage)
		fs.PrintDefaults()
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fs.Usage()
			return 0
		}
		fmt.Fprintln(stderr, "xbcheck diagram: no kind given (flowchart, driver, sequence, states or all)")
		fs.Usage()
		return 2
	}
	kind := args[0]
	var files []string
	rest := args[1:]
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "xbcheck diagram: %s\n", strings.TrimPrefix(err.Error(), "diagram: "))
		return 2
	}
	var charts []*diagram.Chart
	switch kind {
	case "flowchart":
		if len(files) > 0 {
			cs, err := scenarioCharts(files, *actor, model.Toolstack, func(sys *model.System, a int) (*diagram.Chart, error) {
				return diagram.ActorChart(sys, []int{a})
			})
			if err != nil {
				return fail(err)
			}
			charts = cs
			break
		}
		c, err := diagram.RemoveFlowchart(*version)
		if err != nil {
			return fail(err)
		}
		if *versus != "" {
			d, err := diagram.RemoveFlowchart(*versus)
			if err != nil {
				return fail(err)
			}
			c = diagram.Compare(c, d, *version, *versus, fmt.Sprintf("libxl device removal, %s against %s\nred dashed: %s only; green bold: %s only; black: both", *version, *versus, *version, *versus))
		}
		charts = append(charts, c)
	case "driver":
		if len(files) > 0 {
			cs, err := scenarioCharts(files, *actor, 0xFF, diagram.DriverChart)
			if err != nil {
				return fail(err)
			}
			charts = cs
			break
		}
		c, err := diagram.DriverMachine(*driver)
		if err != nil {
			return fail(err)
		}
		charts = append(charts, c)
	case "sequence":
		if len(files) == 0 {
			return fail(errors.New("sequence: no scenario given"))
		}
		for _, f := range files {
			comp, err := scenario.Load(f)
			if err != nil {
				return fail(err)
			}
			trs, res, err := diagram.Counterexamples(ctx, comp, 0)
			if err != nil {
				return fail(err)
			}
			if len(trs) == 0 {
				fmt.Fprintf(stderr, "xbcheck diagram: %s: no counterexample (verdict %s)\n", comp.Spec.Name, res.Verdict)
			}
			for _, tr := range trs {
				charts = append(charts, diagram.Sequence(tr))
			}
		}
	case "states":
		if len(files) != 1 {
			return fail(errors.New("states: give one scenario file"))
		}
		c, err := diagram.ScenarioStates(ctx, files[0], *maxStates)
		if err != nil {
			return fail(err)
		}
		charts = append(charts, c)
	case "all":
		if *out == "" {
			return fail(errors.New("all: give the output directory with -o DIR"))
		}
		cs, err := diagram.Gallery(*scenarios)
		if err != nil {
			return fail(err)
		}
		if err := diagram.Write(*out, cs, diagram.WriteOptions{SVG: diagram.DotAvailable(), Prune: true}); err != nil {
			return fail(err)
		}
		if !diagram.DotAvailable() {
			fmt.Fprintln(stderr, "xbcheck diagram: dot is not installed: wrote DOT only (make diagrams installs graphviz)")
		}
		fmt.Fprintf(stderr, "xbcheck diagram: wrote %d diagrams to %s\n", len(cs), *out)
		return 0
	default:
		fmt.Fprintf(stderr, "xbcheck diagram: unknown kind %q (flowchart, driver, sequence, states or all)\n", kind)
		fs.Usage()
		return 2
	}
	if *out == "" {
		for _, c := range charts {
			src, err := c.DOT()
			if err != nil {
				return fail(err)
			}
			stdout.Write(src)
		}
		return 0
	}
	if err := diagram.Write(*out, charts, diagram.WriteOptions{SVG: diagram.DotAvailable()}); err != nil {
		return fail(err)
	}
	if !diagram.DotAvailable() {
		fmt.Fprintln(stderr, "xbcheck diagram: dot is not installed: wrote DOT only (apt-get install graphviz)")
	}
	return 0
}

// scenarioCharts draws each actor of the scenarios' systems that draw
// accepts: of the given kind (0xFF: frontends and backends), or the one
// called name.
func scenarioCharts(files []string, name string, kind model.ActorKind, draw func(*model.System, int) (*diagram.Chart, error)) ([]*diagram.Chart, error) {
	var out []*diagram.Chart
	for _, f := range files {
		comp, err := scenario.Load(f)
		if err != nil {
			return nil, err
		}
		sys := comp.System
		found := false
		for ai := range sys.Actors {
			a := &sys.Actors[ai]
			if name != "" && a.Name != name {
				continue
			}
			if name == "" && !(a.Kind == kind || kind == 0xFF && (a.Kind == model.Frontend || a.Kind == model.Backend)) {
				continue
			}
			c, err := draw(sys, ai)
			if err != nil {
				if name != "" {
					return nil, err
				}
				continue
			}
			c.Name = comp.Spec.Name + "." + a.Name
			out = append(out, c)
			found = true
		}
		if !found {
			var names []string
			for ai := range sys.Actors {
				names = append(names, sys.Actors[ai].Name)
			}
			return nil, fmt.Errorf("%s: no actor to draw (actors: %s)", f, strings.Join(names, ", "))
		}
	}
	return out, nil
}

// writeSequences writes a sequence diagram of each counterexample of sr to
// dir (xbcheck --seq-dir).
func writeSequences(dir string, sr ScenarioReport, stderr io.Writer) error {
	var charts []*diagram.Chart
	for _, c := range sr.Counterexamples {
		charts = append(charts, diagram.Sequence(c.Trace))
	}
	if len(charts) == 0 {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	svg := diagram.DotAvailable()
	if !svg {
		fmt.Fprintln(stderr, "xbcheck: dot is not installed: sequence diagrams written as DOT only")
	}
	return diagram.Write(dir, charts, diagram.WriteOptions{SVG: svg})
}
