package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"go/token"
	"io"
	"strings"

	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/diagram"
	"github.com/xbcheck/xbcheck/export"
	"github.com/xbcheck/xbcheck/internal/atomicfile"
	"github.com/xbcheck/xbcheck/internal/cli"
	"github.com/xbcheck/xbcheck/props"
	"github.com/xbcheck/xbcheck/scenario"
)

const exportUsage = `usage: xbcheck export promela|dot|json|go SCENARIO FILE

Writes the compiled model of the scenario for other tools, atomically
(FILE "-" is standard output):

  promela   a Promela model for SPIN with the same reachable states (the
            translation make bench checks against SPIN; oxenstored's
            conflict rule only)
  dot       the reachable state graph, as xbcheck diagram states draws it
            (refused past --max-states states)
  json      actors, locations, transitions with their guards and
            operations, paths, values, variables, watches and properties:
            the schema xbcheck-model/1, documented in package export
  go        the scenario's guards and effects compiled to Go
            (model.System.GenerateGo), for a Go program that checks it:
            it builds the scenario and attaches them with
            model.System.WithGenerated, which refuses
            them if the scenario or the model changed since (the family
            of make bench runs this way beside SPIN's compiled pan.c)

Exit status: 0 written; 2 usage errors, unreadable scenarios, a model that
does not translate, or a graph too large.

Flags:
`

// runExport is "xbcheck export": args are what follows the word.
func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("xbcheck export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	maxStates := fs.Int("max-states", diagram.DefaultMaxStates, "dot: refuse graphs of more than `N` states")
	goPkg := fs.String("package", "main", "go: the `NAME` of the file's package")
	goName := fs.String("name", "guards", "go: the `NAME` of the model.Generated the file declares")
	fs.Usage = func() {
		fmt.Fprint(stderr, exportUsage)
		fs.PrintDefaults()
	}
	pos, err := cli.Parse(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if len(pos) != 3 {
		fmt.Fprintf(stderr, "xbcheck export: want a format, a scenario and a file (got %d arguments)\n", len(pos))
		fs.Usage()
		return 2
	}
	format, file, out := pos[0], pos[1], pos[2]
	if format != "promela" && format != "dot" && format != "json" && format != "go" {
		fmt.Fprintf(stderr, "xbcheck export: unknown format %q (promela, dot, json or go)\n", format)
		return 2
	}
	if format == "go" && (!token.IsIdentifier(*goPkg) || !token.IsIdentifier(*goName)) {
		fmt.Fprintf(stderr, "xbcheck export: --package %q and --name %q must be Go identifiers\n", *goPkg, *goName)
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "xbcheck export: %s\n", strings.TrimPrefix(err.Error(), "diagram: "))
		return 2
	}
	c, err := scenario.Load(file)
	if err != nil {
		return fail(err)
	}
	var data []byte
	switch format {
	case "promela":
		// The scenario's safety properties as assertions and, if it
		// checks deadlock, SPIN's end-state check (props.Promela). An
		// eventually-property would need a never claim: it is left out,
		// and the file says so.
		var safety, left []string
		for _, n := range c.Spec.Check.Properties {
			if props.Defs[n].Kind == checker.Eventually {
				left = append(left, n)
			} else {
				safety = append(safety, n)
			}
		}
		pml, err := props.Promela(c.System, safety, false)
		if err != nil {
			return fail(fmt.Errorf("%s: %v", file, err))
		}
		if len(left) > 0 {
			pml = fmt.Sprintf("/* xbcheck export: eventually-properties left out (SPIN would need a never claim): %s */\n", strings.Join(left, ", ")) + pml
		}
		data = []byte(pml)
	case "dot":
		ch, err := diagram.ScenarioStates(ctx, file, *maxStates)
		if err != nil {
			return fail(err)
		}
		if data, err = ch.DOT(); err != nil {
			return fail(err)
		}
	case "json":
		if data, err = export.FromSystem(c.System, c.Properties, file).JSON(); err != nil {
			return fail(err)
		}
	case "go":
		if data, err = c.System.GenerateGo(*goPkg, *goName); err != nil {
			return fail(fmt.Errorf("%s: %v", file, err))
		}
	}
	if out == "-" {
		stdout.Write(data)
		return 0
	}
	if err := atomicfile.Write(out, data, 0o644); err != nil {
		return fail(err)
	}
	return 0
}
