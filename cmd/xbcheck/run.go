package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/coverage"
	"github.com/xbcheck/xbcheck/internal/atomicfile"
	"github.com/xbcheck/xbcheck/internal/cli"
	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/props"
	"github.com/xbcheck/xbcheck/scenario"
	"github.com/xbcheck/xbcheck/trace"
)

const usage = `usage: xbcheck [flags] FILE|DIR...
       xbcheck diagram flowchart|driver|sequence|states|all ...   (xbcheck diagram --help)
       xbcheck export promela|dot|json SCENARIO FILE             (xbcheck export --help)

Checks each scenario file (a DIR means every *.toml in it) by exploring
every interleaving, and prints one line per scenario and the shortest
counterexample of each violation.

Exit status: 0 every verdict matches its expectation; 1 one does not;
2 usage, scenario or checkpoint errors.

Long runs: --memory bounds the whole process, and the exploration stops
cleanly (verdict unknown, saying how far it got) before the process would
pass it. --checkpoint DIR saves each exploration every --checkpoint-every
and when it stops early (Ctrl-C, --memory, --max-states); --resume DIR
continues it and ends as an uninterrupted run would. A second Ctrl-C kills
at once; the last checkpoint stays usable. Progress goes to stderr every
2 s: the rate, the memory against the budget, the last checkpoint.

--html DIR writes DIR/index.html: the scenarios with their verdicts and a
step-through of every counterexample (the actors' locations, the xenstore
tree and the step's changes, watches, transactions, the sequence diagram
and each actor's flowchart with the current box marked). It needs no
network; its diagrams need Graphviz's dot. --junit FILE writes JUnit XML
for CI: a test case per scenario, a mismatch failing with its trace.

--coverage also explores each scenario in full (no property stops it, no
partial-order reduction) and ends with which transitions of the model
fired in some explored state, per actor role and version, the ones that
never did by name, and the line "coverage: X of Y transitions fired"
(with --json, the "coverage" object). docs/model.md says why each
transition scenarios/ cannot fire does not.

Flags:
`

// Report is the --json output. Fields are only ever added.
type Report struct {
	Match     bool             `json:"match"`
	Scenarios []ScenarioReport `json:"scenarios"`
	// Coverage, with --coverage, is which transitions fired.
	Coverage *coverage.Report `json:"coverage,omitempty"`
}

// ScenarioReport is one scenario's result.
type ScenarioReport struct {
	File           string          `json:"file"`
	Name           string          `json:"name"`
	Verdict        checker.Verdict `json:"verdict"`
	Violated       []string        `json:"violated"`
	Expect         string          `json:"expect"`
	ExpectViolates string          `json:"expect_violates,omitempty"`
	Match          bool            `json:"match"`
	Reason         string          `json:"reason,omitempty"`
	Stats          checker.Stats   `json:"stats"`
	// Notes say which reductions were not used, and why.
	Notes []string `json:"notes,omitempty"`
	// FingerprintCollisionBound, for an ok verdict reached through 64-bit
	// fingerprints, bounds the probability that a state was missed
	// (checker.Result.CollisionBound); absent for exact runs.
	FingerprintCollisionBound *float64 `json:"fingerprint_collision_bound,omitempty"`
	// HashSeed is the fingerprint seed (--hash-seed).
	HashSeed uint64 `json:"hash_seed"`
	// Checkpoint is the last checkpoint written (--checkpoint), and
	// ResumedFrom the one the exploration continued from (--resume).
	Checkpoint      *checker.CheckpointInfo `json:"checkpoint,omitempty"`
	ResumedFrom     *checker.CheckpointInfo `json:"resumed_from,omitempty"`
	Counterexamples []Counterexample        `json:"counterexamples,omitempty"`
	Error           string                  `json:"error,omitempty"`

	// For --html: the compiled model and the scenario's description.
	sys         *model.System
	description string
	version     string // the toolstack's kind and version: "libxl 4.17"
}

// Counterexample is one violated property with its trace.
type Counterexample struct {
	Property string       `json:"property"`
	Kind     checker.Kind `json:"kind"`
	Trace    *trace.Trace `json:"trace"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "diagram" {
		return runDiagram(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "export" {
		return runExport(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("xbcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	jsonOut := fs.Bool("json", false, "print a machine-readable JSON report on stdout")
	traceDir := fs.String("trace-dir", "", "write each counterexample to `DIR` as text (.trace) and JSON (.json)")
	seqDir := fs.String("seq-dir", "", "write each counterexample to `DIR` as a sequence diagram (DOT, and SVG when dot is installed)")
	maxStates := fs.Int("max-states", 0, "stop each exploration after `N` distinct states (verdict unknown)")
	workers := fs.Int("workers", 0, "explore with `N` goroutines (0: one per core); the result does not depend on it")
	memory := fs.String("memory", "", "bound the whole process to `SIZE` (e.g. 2GiB, 500MB): an exploration stops cleanly, verdict unknown, before the process would hold more")
	ckDir := fs.String("checkpoint", "", "write each exploration's state to `DIR`/<scenario>.xbckpt (atomically) every --checkpoint-every, and when it stops early (Ctrl-C, --memory, --max-states)")
	ckEvery := fs.Duration("checkpoint-every", checker.DefaultCheckpointEvery, "with --checkpoint, write one every `DURATION` (e.g. 30s, 10m), at the end of the level running then")
	resumeDir := fs.String("resume", "", "continue each exploration from its checkpoint in `DIR` (same scenario, options and xbcheck), with the result of an uninterrupted run (a scenario without one there is checked from the start); checkpoints go on being written there unless --checkpoint names another DIR")
	symmetry := fs.Bool("symmetry", true, "reduce by symmetry over interchangeable devices (safety properties); -symmetry=false to explore every state")
	por := fs.Bool("por", true, "partial-order reduction (safety properties only, with symmetry too; sound, see docs/model.md); -por=false to explore every interleaving")
	bfsProviso := fs.Bool("bfs-proviso", false, "with --por, expand fully, as the search goes, every state none of whose reduced successors is new (the breadth-first cycle proviso) instead of checking the reduced graph for cycles after the search; sound either way; more states where one state is reached along paths of different lengths (3.5× on the benchmark family at N=3): for comparison")
	exact := fs.Bool("exact", false, "store and compare full states instead of 64-bit fingerprints (no state can be missed; more memory)")
	hashSeed := fs.Uint64("hash-seed", 0, "seed of the fingerprint function: another `SEED` is an independent trial of a fingerprinted run")
	htmlDir := fs.String("html", "", "write a self-contained HTML report of the run, with a step-through of every counterexample, to `DIR`/index.html")
	junitFile := fs.String("junit", "", "write the verdicts as JUnit XML to `FILE` (a test case per scenario; a mismatch fails with its trace)")
	quiet := fs.Bool("quiet", false, "print only the one-line summaries")
	listProps := fs.Bool("properties", false, "list the properties scenarios may check, and exit")
	cover := fs.Bool("coverage", false, "also explore each scenario in full and report which transitions fired, per actor and version, and which never did")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	paths, err := cli.Parse(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *listProps {
		for _, n := range props.Names() {
			d := props.Defs[n]
			fmt.Fprintf(stdout, "%-34s %-10s %s\n", n, d.Kind, d.Doc)
		}
		return 0
	}
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "xbcheck: no scenario given (try: xbcheck scenarios/)")
		fs.Usage()
		return 2
	}
	if *htmlDir != "" {
		if err := checkOutDir(*htmlDir); err != nil {
			fmt.Fprintf(stderr, "xbcheck: --html: %v\n", err)
			return 2
		}
	}
	if *junitFile != "" {
		if err := checkOutFile(*junitFile); err != nil {
			fmt.Fprintf(stderr, "xbcheck: --junit: %v\n", err)
			return 2
		}
	}
	budget, err := parseSize(*memory)
	if err != nil {
		fmt.Fprintf(stderr, "xbcheck: --memory: %v\n", err)
		return 2
	}
	files, err := expand(paths)
	if err != nil {
		fmt.Fprintf(stderr, "xbcheck: %v\n", err)
		return 2
	}
	// On by default, the reduction is left out silently where the checker
	// would not use it (eventually-properties); asked for, it says why.
	porAsked := false
	fs.Visit(func(f *flag.Flag) { porAsked = porAsked || f.Name == "por" })
	ck := ckFlags{dir: *ckDir, every: *ckEvery, resume: *resumeDir}
	if err := ck.validate(); err != nil {
		fmt.Fprintf(stderr, "xbcheck: %v\n", err)
		return 2
	}
	rep := Report{Match: true}
	code := 0
	var cov *coverage.Collector
	if *cover {
		cov = coverage.NewCollector()
	}
	for _, f := range files {
		opt := checker.Options{MaxStates: *maxStates, Workers: *workers, MemoryBudget: budget, Symmetry: *symmetry, Exact: *exact, HashSeed: *hashSeed, BFSProviso: *bfsProviso}
		sr := checkFile(ctx, f, opt, porMode{*por, porAsked}, ck, stderr)
		if sr.Error != "" {
			fmt.Fprintln(stderr, sr.Error)
			code = 2
			rep.Match = false
			rep.Scenarios = append(rep.Scenarios, sr)
			continue
		}
		if !sr.Match {
			rep.Match = false
			if code == 0 {
				code = 1
			}
		}
		if *traceDir != "" {
			if err := writeTraces(*traceDir, sr); err != nil {
				fmt.Fprintf(stderr, "xbcheck: %v\n", err)
				code = 2
			}
		}
		if *seqDir != "" {
			if err := writeSequences(*seqDir, sr, stderr); err != nil {
				fmt.Fprintf(stderr, "xbcheck: %v\n", err)
				code = 2
			}
		}
		if !*jsonOut {
			printScenario(stdout, sr, *quiet)
		}
		if cov != nil {
			fired, res := coverage.Explore(ctx, sr.sys, opt)
			cov.Add(sr.Name, sr.sys, fired, res.Verdict == checker.Ok && res.Err == nil, func(a *model.Actor) string {
				if a.Kind == model.Toolstack {
					return sr.version
				}
				return ""
			})
		}
		rep.Scenarios = append(rep.Scenarios, sr)
		if ctx.Err() != nil {
			break
		}
	}
	if *htmlDir != "" {
		if err := writeHTML(*htmlDir, args, rep, stderr); err != nil {
			fmt.Fprintf(stderr, "xbcheck: --html: %v\n", err)
			code = 2
		}
	}
	if *junitFile != "" {
		if err := writeJUnit(*junitFile, rep); err != nil {
			fmt.Fprintf(stderr, "xbcheck: --junit: %v\n", err)
			code = 2
		}
	}
	if cov != nil {
		cr := cov.Report()
		rep.Coverage = &cr
	}
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "xbcheck: %v\n", err)
			return 2
		}
	} else if len(files) > 1 {
		n := 0
		for _, s := range rep.Scenarios {
			if s.Match {
				n++
			}
		}
		fmt.Fprintf(stdout, "%d of %d scenarios as expected\n", n, len(files))
	}
	if rep.Coverage != nil && !*jsonOut {
		printCoverage(stdout, *rep.Coverage)
	}
	return code
}

func hasEventually(ps []checker.Property) bool {
	for _, p := range ps {
		if p.Kind == checker.Eventually {
			return true
		}
	}
	return false
}

// expand turns the arguments into scenario files: a directory stands for
// its *.toml files, in name order.
func expand(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			out = append(out, p)
			continue
		}
		m, err := filepath.Glob(filepath.Join(p, "*.toml"))
		if err != nil {
			return nil, err
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("%s: no *.toml scenario files", p)
		}
		sort.Strings(m)
		out = append(out, m...)
	}
	return out, nil
}

// porMode says whether partial-order reduction is on and whether it was
// asked for on the command line.
type porMode struct{ on, asked bool }

func checkFile(ctx context.Context, file string, flags checker.Options, por porMode, ck ckFlags, stderr io.Writer) ScenarioReport {
	sr := ScenarioReport{File: file}
	c, err := scenario.Load(file)
	if err != nil {
		sr.Error = "xbcheck: " + err.Error()
		return sr
	}
	sp := c.Spec
	sr.Name, sr.Expect, sr.ExpectViolates = sp.Name, sp.Check.Expect, sp.Check.Violates
	sr.sys, sr.description = c.System, sp.Description
	sr.version = sp.Toolstack.Kind + " " + sp.Toolstack.Version
	opt := flags
	opt.Context = ctx
	if por.on && c.POR != nil && (por.asked || !hasEventually(c.Properties)) {
		opt.POR = c.POR
	}
	if opt.MaxStates == 0 {
		opt.MaxStates = sp.Check.MaxStates
	}
	ckNote, err := ck.options(&opt, file, sp.Name)
	if err != nil {
		sr.Error = fmt.Sprintf("xbcheck: %s: %v", file, err)
		return sr
	}
	opt.Progress = func(p checker.Progress) {
		fmt.Fprintf(stderr, "xbcheck: %s: %s\n", sp.Name, progressLine(p, opt.Checkpoint != ""))
	}
	res := checker.Check(c.System, c.Properties, opt)
	sr.Verdict, sr.Stats, sr.Reason, sr.Notes, sr.HashSeed = res.Verdict, res.Stats, res.Reason, res.Notes, opt.HashSeed
	if ckNote != "" {
		sr.Notes = append(sr.Notes, ckNote)
	}
	sr.Checkpoint, sr.ResumedFrom = res.Checkpoint, res.Resumed
	if strings.HasPrefix(sr.Reason, "cancelled") && ctx.Err() != nil {
		sr.Reason = "interrupted"
	}
	var ckErr *checker.CheckpointError
	if errors.As(res.Err, &ckErr) {
		sr.Error = fmt.Sprintf("xbcheck: %s: %v", file, ckErr)
		return sr
	}
	if res.Err != nil {
		sr.Error = fmt.Sprintf("xbcheck: %s: internal error: %v", file, res.Err)
		return sr
	}
	if res.Verdict == checker.Ok && !res.Stats.Exact {
		b := res.CollisionBound
		sr.FingerprintCollisionBound = &b
	}
	for _, v := range res.Violations {
		sr.Violated = append(sr.Violated, v.Property)
		tr, err := trace.FromPath(c.System, sp.Name, v.Property, v.Path, v.Loop)
		if err != nil {
			sr.Error = fmt.Sprintf("xbcheck: %s: internal error: counterexample of %s does not replay: %v", file, v.Property, err)
			return sr
		}
		tr.File = file // lets `xbsim replay` find the scenario
		sr.Counterexamples = append(sr.Counterexamples, Counterexample{Property: v.Property, Kind: v.Kind, Trace: tr})
	}
	switch sp.Check.Expect {
	case "ok":
		sr.Match = res.Verdict == checker.Ok
	case "violation":
		sr.Match = res.Verdict == checker.Violation && len(sr.Violated) == 1 && sr.Violated[0] == sp.Check.Violates
	}
	return sr
}

func verdictString(v checker.Verdict, props []string) string {
	if v == checker.Violation {
		return "violation(" + strings.Join(props, ",") + ")"
	}
	return string(v)
}

func printScenario(w io.Writer, sr ScenarioReport, quiet bool) {
	exp := sr.Expect
	if exp == "violation" {
		exp = "violation(" + sr.ExpectViolates + ")"
	}
	mark := "ok"
	if !sr.Match {
		mark = "MISMATCH"
	}
	fp := ""
	if b := sr.FingerprintCollisionBound; b != nil {
		// The ok rests on fingerprints: say how far.
		fp = fmt.Sprintf(" P(missed state)≤%.1e", *b)
	}
	fmt.Fprintf(w, "%-40s %-44s expected %-44s %-8s states=%d time=%s%s\n", sr.Name, verdictString(sr.Verdict, sr.Violated), exp, mark,
		sr.Stats.States, sr.Stats.Elapsed.Round(time.Microsecond), fp)
	if sr.Reason != "" && sr.Verdict == checker.Unknown {
		fmt.Fprintf(w, "  unknown: %s\n", sr.Reason)
	}
	if r := sr.ResumedFrom; r != nil {
		fmt.Fprintf(w, "  resumed from %s (depth %d, %d states)\n", r.Path, r.Depth, r.States)
	}
	if c := sr.Checkpoint; c != nil && sr.Verdict == checker.Unknown {
		fmt.Fprintf(w, "  checkpoint: %s (depth %d, %d states); continue with --resume %s\n", c.Path, c.Depth, c.States, filepath.Dir(c.Path))
	}
	for _, n := range sr.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	if quiet {
		return
	}
	for _, c := range sr.Counterexamples {
		fmt.Fprintf(w, "  %s counterexample of %s (%d steps):\n", c.Kind, c.Property, len(c.Trace.Steps))
		for _, line := range strings.Split(strings.TrimRight(c.Trace.Text(), "\n"), "\n") {
			fmt.Fprintf(w, "    %s\n", line)
		}
	}
}

func writeTraces(dir string, sr ScenarioReport) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, c := range sr.Counterexamples {
		base := filepath.Join(dir, sr.Name+"."+c.Property)
		if err := atomicfile.Write(base+".trace", []byte(c.Trace.Text()), 0o644); err != nil {
			return err
		}
		js, err := c.Trace.JSON()
		if err != nil {
			return err
		}
		if err := atomicfile.Write(base+".json", append(js, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// parseSize reads a size such as "2GiB", "500MB", "1048576" ("" is 0).
func parseSize(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}}
	mult := int64(1)
	num := s
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	var n float64
	if _, err := fmt.Sscan(strings.TrimSpace(num), &n); err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a size (want e.g. 2GiB, 500MB)", s)
	}
	return int64(n * float64(mult)), nil
}

// printCoverage prints a coverage report: a line per actor role with
// the versions the scenarios have, the transitions that never fired
// (with the versions whose code has them), and the total.
func printCoverage(w io.Writer, r coverage.Report) {
	fmt.Fprintln(w, "coverage: transitions fired in some explored state, per actor, with the versions the scenarios have")
	for _, a := range r.Actors {
		fmt.Fprintf(w, "  %-26s %3d of %3d  %d scenario(s)%s\n", a.Actor, a.Fired, a.Total, a.Scenarios, versionList(a.Versions))
		for _, t := range a.Transitions {
			if !t.Fired {
				fmt.Fprintf(w, "      never: %s%s\n", t.Name, versionList(t.Versions))
			}
		}
	}
	for _, n := range r.Incomplete {
		fmt.Fprintf(w, "  (%s: explored only in part; a transition may fire further on)\n", n)
	}
	fmt.Fprintf(w, "coverage: %d of %d transitions fired\n", r.Fired, r.Total)
}

func versionList(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return " [" + strings.Join(vs, ", ") + "]"
}
