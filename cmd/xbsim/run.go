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
	"strings"
	"time"

	"github.com/xbcheck/xbcheck/internal/atomicfile"
	"github.com/xbcheck/xbcheck/internal/cli"
	"github.com/xbcheck/xbcheck/realxs/exec"
	"github.com/xbcheck/xbcheck/report"
	"github.com/xbcheck/xbcheck/scenario"
	"github.com/xbcheck/xbcheck/sim"
	"github.com/xbcheck/xbcheck/trace"
)

const usage = `usage: xbsim run SCENARIO [flags]
       xbsim replay [--scenario FILE] [--json] [--html DIR] [--xenstore SOCKET|/dev/xen/xenbus] [--root PATH] TRACE
       xbsim replay --xenstore /dev/xen/xenbus --live --domain N --device NAME [--dry-run | --confirm DIGEST [--play]] TRACE

run simulates a scenario under a scheduler and prints the trace (one run)
or a summary of property failures (--runs N). replay re-executes a trace
against the model and reports the first step that diverges; with
--xenstore it performs the trace on a live daemon too (below a --root,
or with --live on a real host's own paths, one device only, after a
--dry-run whose digest --confirm quotes); --play performs only the
toolstack's steps while the real drivers answer. Both take --html DIR: a
self-contained HTML report with a step-through of the run.

Exit status: 0 no property failed / the trace replays as recorded;
1 a property failed / the replay diverges; 2 usage or input errors.
`

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "run":
		return runCmd(ctx, args[1:], stdout, stderr)
	case "replay":
		return replayCmd(args[1:], stdout, stderr)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "xbsim: unknown command %q\n%s", args[0], usage)
	return 2
}

// parse parses flags that may come before or after the arguments.
// oneArg parses a subcommand's flags and its single positional argument
// (what it is: "scenario file", "trace file"). code is the exit status to
// return when ok is false.
func oneArg(fs *flag.FlagSet, args []string, what string, stderr io.Writer) (arg string, code int, ok bool) {
	pos, err := cli.Parse(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return "", 0, false
		}
		return "", 2, false
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "%s: want one %s\n", fs.Name(), what)
		return "", 2, false
	}
	return pos[0], 0, true
}

func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("xbsim run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	seed := fs.Uint64("seed", 0, "seed of the (first) run; default: from the clock, and printed")
	steps := fs.Int("steps", 1000, "stop a run after `N` steps")
	runs := fs.Int("runs", 1, "run `N` times, with seeds SEED, SEED+1, ..., and print a summary")
	schedName := fs.String("scheduler", "random", "scheduler: random, pct or clock")
	pctDepth := fs.Int("pct-depth", 3, "PCT: bug depth `d` (d-1 priority changes)")
	pctSteps := fs.Int("pct-steps", 40, "PCT: spread the priority changes over the first `k` steps")
	faultProb := fs.Float64("fault-prob", 0.05, "probability `P` per step of injecting an enabled fault")
	var faults, delays listFlag
	fs.Var(&faults, "fault", "inject fault `NAME@STEP` at the first step at or after STEP where it is enabled (repeatable)")
	fs.Var(&delays, "delay", "clock: delay distribution `CLASS=DIST`, e.g. qemu-exit=exp(1s) (repeatable)")
	jsonOut := fs.Bool("json", false, "print the trace or the summary as JSON")
	reduce := fs.Bool("reduce", false, "one run: print a failing run reduced to a 1-minimal schedule")
	traceDir := fs.String("trace-dir", "", "write the run's trace (one run) or each property's first failing run to `DIR`")
	htmlDir := fs.String("html", "", "write an HTML report with a step-through of the run (one run) or of each property's first failing run to `DIR`/SCENARIO.seedN.html")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage+"\nrun flags:\n")
		fs.PrintDefaults()
	}
	arg, code, ok := oneArg(fs, args, "scenario file", stderr)
	if !ok {
		return code
	}
	seedGiven := false
	fs.Visit(func(f *flag.Flag) { seedGiven = seedGiven || f.Name == "seed" })
	if !seedGiven {
		*seed = uint64(time.Now().UnixNano())
	}
	cfg := sim.Config{Scheduler: *schedName, PCTDepth: *pctDepth, PCTSteps: *pctSteps, FaultProb: *faultProb}
	for _, f := range faults {
		p, err := sim.ParseFaultPoint(f)
		if err != nil {
			fmt.Fprintf(stderr, "xbsim run: %v\n", err)
			return 2
		}
		cfg.Faults = append(cfg.Faults, p)
	}
	if len(delays) > 0 {
		if *schedName != "clock" {
			fmt.Fprintln(stderr, "xbsim run: --delay needs --scheduler clock")
			return 2
		}
		cfg.Delays = sim.Delays{}
		for _, d := range delays {
			if err := cfg.Delays.ParseDelay(d); err != nil {
				fmt.Fprintf(stderr, "xbsim run: %v\n", err)
				return 2
			}
		}
	}
	if *steps < 1 || *runs < 1 {
		fmt.Fprintln(stderr, "xbsim run: --steps and --runs must be at least 1")
		return 2
	}
	sched, err := cfg.New()
	if err != nil {
		fmt.Fprintf(stderr, "xbsim run: %v\n", err)
		return 2
	}
	c, err := scenario.Load(arg)
	if err != nil {
		fmt.Fprintf(stderr, "xbsim: %v\n", err)
		return 2
	}
	for _, f := range cfg.Faults {
		if !allowed(c, f.Fault) {
			fmt.Fprintf(stderr, "xbsim run: fault %q is not allowed by %s (allowed: %s)\n", f.Fault, arg, strings.Join(c.System.Faults, ", "))
			return 2
		}
	}
	s := sim.New(c)
	var h *htmlOut
	if *htmlDir != "" {
		h = &htmlOut{dir: *htmlDir, c: c, file: arg, command: "xbsim run " + strings.Join(args, " ")}
	}
	if *runs == 1 {
		return runOnce(s, sched, *seed, *steps, *jsonOut, *reduce, *traceDir, h, stdout, stderr)
	}
	return runMany(ctx, s, sched, *seed, *runs, *steps, *jsonOut, *traceDir, h, arg, stdout, stderr)
}

// htmlOut is where xbsim run --html writes, and what it needs.
type htmlOut struct {
	dir, file, command string
	c                  *scenario.Compiled
}

func (h *htmlOut) write(name string, trs []*trace.Trace, stderr io.Writer) error {
	return writeSimHTML(h.dir, name, "xbsim: "+name, h.command, report.Simulation(h.c, h.file, trs...), stderr)
}

func allowed(c *scenario.Compiled, fault string) bool {
	for _, f := range c.System.Faults {
		if f == fault {
			return true
		}
	}
	return false
}

func runOnce(s *sim.Sim, sched sim.Scheduler, seed uint64, steps int, jsonOut, reduce bool, traceDir string, h *htmlOut, stdout, stderr io.Writer) int {
	r := s.Run(sched, seed, steps)
	if reduce {
		r = s.Reduce(r)
	}
	tr, err := s.Trace(r)
	if err != nil {
		fmt.Fprintf(stderr, "xbsim: %v\n", err)
		return 2
	}
	if code := emitTrace(tr, jsonOut, stdout, stderr); code != 0 {
		return code
	}
	fmt.Fprintf(stderr, "xbsim: %s: seed %d, scheduler %s: %d steps, %s", s.Scenario, seed, sched.Name(), len(r.Path), endText(r))
	if len(r.At) > 0 {
		fmt.Fprintf(stderr, ", virtual time %s", r.At[len(r.At)-1])
	}
	fmt.Fprintln(stderr)
	if traceDir != "" {
		name := fmt.Sprintf("%s.seed%d", s.Scenario, seed)
		if tr.Property != "" {
			name += "." + tr.Property
		}
		if err := writeTrace(traceDir, name, tr); err != nil {
			fmt.Fprintf(stderr, "xbsim: %v\n", err)
			return 2
		}
	}
	if h != nil {
		if err := h.write(fmt.Sprintf("%s.seed%d", s.Scenario, seed), []*trace.Trace{tr}, stderr); err != nil {
			fmt.Fprintf(stderr, "xbsim: --html: %v\n", err)
			return 2
		}
	}
	if r.Failed() {
		return 1
	}
	return 0
}

func endText(r *sim.Result) string {
	switch r.End {
	case sim.Violated:
		var parts []string
		for _, v := range r.Violations {
			parts = append(parts, fmt.Sprintf("%s (%s) fails at step %d", v.Property, v.Kind, v.Step))
		}
		return strings.Join(parts, "; ")
	case sim.Stopped:
		return "ends (no transition enabled), no property failed"
	case sim.Bound:
		return "stopped at the step bound, no property failed"
	}
	return "aborted"
}

func emitTrace(tr *trace.Trace, jsonOut bool, stdout, stderr io.Writer) int {
	if !jsonOut {
		fmt.Fprint(stdout, tr.Text())
		return 0
	}
	js, err := tr.JSON()
	if err != nil {
		fmt.Fprintf(stderr, "xbsim: %v\n", err)
		return 2
	}
	stdout.Write(append(js, '\n'))
	return 0
}

func writeTrace(dir, name string, tr *trace.Trace) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	base := filepath.Join(dir, name)
	if err := atomicfile.Write(base+".trace", []byte(tr.Text()), 0o644); err != nil {
		return err
	}
	js, err := tr.JSON()
	if err != nil {
		return err
	}
	return atomicfile.Write(base+".json", append(js, '\n'), 0o644)
}

func runMany(ctx context.Context, s *sim.Sim, sched sim.Scheduler, seed uint64, runs, steps int, jsonOut bool, traceDir string, h *htmlOut, file string, stdout, stderr io.Writer) int {
	written := map[string]bool{}
	var firsts []*trace.Trace
	var werr error
	onFail := func(r *sim.Result) {
		if (traceDir == "" && h == nil) || written[r.Violations[0].Property] || werr != nil {
			return
		}
		written[r.Violations[0].Property] = true
		tr, err := s.Trace(r)
		if err == nil && traceDir != "" {
			err = writeTrace(traceDir, fmt.Sprintf("%s.seed%d.%s", s.Scenario, r.Seed, tr.Property), tr)
		}
		if err == nil {
			firsts = append(firsts, tr)
		}
		werr = err
	}
	sum := s.RunMany(ctx, sched, seed, runs, steps, onFail)
	if werr != nil {
		fmt.Fprintf(stderr, "xbsim: %v\n", werr)
		return 2
	}
	if h != nil {
		if err := h.write(fmt.Sprintf("%s.seeds%d-%d", s.Scenario, seed, seed+uint64(runs)-1), firsts, stderr); err != nil {
			fmt.Fprintf(stderr, "xbsim: --html: %v\n", err)
			return 2
		}
	}
	if jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sum); err != nil {
			fmt.Fprintf(stderr, "xbsim: %v\n", err)
			return 2
		}
	} else {
		printSummary(stdout, sum, file)
	}
	if sum.Failures() > 0 {
		return 1
	}
	return 0
}

func printSummary(w io.Writer, sum *sim.Summary, file string) {
	last := sum.FirstSeed
	if sum.Runs > 0 {
		last += uint64(sum.Runs - 1)
	}
	fmt.Fprintf(w, "%s: %d runs (seeds %d to %d), scheduler %s\n", sum.Scenario, sum.Runs, sum.FirstSeed, last, sum.Scheduler)
	fmt.Fprintf(w, "  %d steps in %s: %.0f steps/s", sum.Steps, sum.Elapsed.Round(time.Microsecond), sum.StepsPerSecond)
	if sum.VirtualMean > 0 {
		fmt.Fprintf(w, "; mean virtual run time %s", sum.VirtualMean.Round(time.Microsecond))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  ends: %d stopped (no transition enabled), %d violated, %d at the step bound\n",
		sum.Ends[sim.Stopped.String()], sum.Ends[sim.Violated.String()], sum.Ends[sim.Bound.String()])
	fmt.Fprintf(w, "  %-34s %-10s %9s %8s  %s\n", "property", "kind", "failures", "rate", "first failing seed")
	for _, p := range sum.Properties {
		first := "-"
		if p.Failures > 0 {
			first = fmt.Sprint(p.FirstSeed)
		}
		fmt.Fprintf(w, "  %-34s %-10s %9d %7.2f%%  %s\n", p.Name, p.Kind, p.Failures, 100*p.Rate, first)
	}
	for _, p := range sum.Properties {
		if p.Failures > 0 {
			fmt.Fprintf(w, "  first failure of %s: xbsim run %s --seed %d (with the same flags, without --runs)\n", p.Name, file, p.FirstSeed)
		}
	}
}

// ReplayReport is the --json output of replay. Fields are only ever added.
type ReplayReport struct {
	Trace    string          `json:"trace"`
	Scenario string          `json:"scenario_file"`
	Steps    int             `json:"steps_replayed"`
	Recorded int             `json:"steps_recorded"`
	Diverged *sim.Divergence `json:"divergence,omitempty"`
	// Violations are the properties that failed on the replay.
	Violations []sim.Violation `json:"violations"`
	// Agrees: every step replays and the run ends as recorded.
	Agrees bool   `json:"agrees"`
	Reason string `json:"reason,omitempty"`
	// Xenstore: the run against a xenstore (--xenstore, --root).
	Xenstore *exec.Report `json:"xenstore,omitempty"`
}

func replayCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("xbsim replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scen := fs.String("scenario", "", "the scenario `FILE` (default: found from the trace)")
	jsonOut := fs.Bool("json", false, "print the report as JSON")
	htmlDir := fs.String("html", "", "write an HTML report with a step-through of the replayed steps (and the xenstore run's requests beside them) to `DIR`/TRACE.html")
	xsf := addXenstoreFlags(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage+"\nreplay flags:\n")
		fs.PrintDefaults()
	}
	arg, code, ok := oneArg(fs, args, "trace file", stderr)
	if !ok {
		return code
	}
	data, err := os.ReadFile(arg)
	if err != nil {
		fmt.Fprintf(stderr, "xbsim: %v\n", err)
		return 2
	}
	tr, err := trace.Parse(data)
	if err != nil {
		fmt.Fprintf(stderr, "xbsim: %s: %v\n", arg, err)
		return 2
	}
	file := *scen
	if file == "" {
		if file, err = sim.FindScenario(tr, arg); err != nil {
			fmt.Fprintf(stderr, "xbsim: %v\n", err)
			return 2
		}
	}
	c, err := scenario.Load(file)
	if err != nil {
		fmt.Fprintf(stderr, "xbsim: %v\n", err)
		return 2
	}
	if c.Spec.Name != tr.Scenario {
		fmt.Fprintf(stderr, "xbsim: warning: the trace is of scenario %s, %s is %s\n", tr.Scenario, file, c.Spec.Name)
	}
	rep := ReplayReport{Trace: arg, Scenario: file, Recorded: len(tr.Steps), Violations: []sim.Violation{}}
	res, err := sim.New(c).Replay(tr)
	var div *sim.Divergence
	switch {
	case errors.As(err, &div):
		rep.Diverged = div
		rep.Reason = div.Error()
	case err != nil:
		fmt.Fprintf(stderr, "xbsim: %s: %v\n", arg, err)
		return 2
	}
	if res != nil {
		rep.Steps = res.Steps
		rep.Violations = append(rep.Violations, res.Violations...)
		if div == nil {
			if err := res.Agrees(tr); err != nil {
				rep.Reason = err.Error()
			} else {
				rep.Agrees = true
			}
		}
	}
	if res != nil {
		// A text trace records no transition ids: take the replay's.
		for i, id := range res.Path {
			tr.Steps[i].ID = id
		}
	}
	var xtext string
	var xcode int
	rep.Xenstore, xtext, xcode = xsf.run(c, tr, stderr)
	if *htmlDir != "" && res != nil {
		where := xsf.xenstore
		if where == "" {
			where = "the model's own store"
		}
		sc := report.Simulation(c, file, replayedTrace(tr, res))
		sc.Traces[0].Real = realTrace(rep.Xenstore, where)
		if !rep.Agrees {
			sc.Reason = rep.Reason
		}
		name := strings.TrimSuffix(filepath.Base(arg), filepath.Ext(arg))
		if err := writeSimHTML(*htmlDir, name, "xbsim replay: "+filepath.Base(arg), "xbsim replay "+strings.Join(args, " "), sc, stderr); err != nil {
			fmt.Fprintf(stderr, "xbsim: --html: %v\n", err)
			return 2
		}
	}
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "xbsim: %v\n", err)
			return 2
		}
	} else {
		printReplay(stdout, &rep, tr, res)
		fmt.Fprint(stdout, xtext)
	}
	if xcode != 0 {
		return xcode
	}
	if !rep.Agrees {
		return 1
	}
	return 0
}

func printReplay(w io.Writer, rep *ReplayReport, tr *trace.Trace, res *sim.Replay) {
	fmt.Fprintf(w, "%s: scenario %s (%s), %d steps\n", rep.Trace, tr.Scenario, rep.Scenario, rep.Recorded)
	if rep.Diverged != nil {
		fmt.Fprintf(w, "diverges at %s\n", rep.Diverged.Error())
		return
	}
	fmt.Fprintf(w, "every step is enabled and leads to the recorded state\n")
	for _, v := range rep.Violations {
		fmt.Fprintf(w, "%s (%s) fails at step %d\n", v.Property, v.Kind, v.Step)
	}
	switch {
	case !rep.Agrees:
		fmt.Fprintf(w, "but the run does not end as recorded: %s\n", rep.Reason)
	case tr.Property != "":
		fmt.Fprintf(w, "ends in the recorded violation of %s\n", tr.Property)
	case res.Ends:
		fmt.Fprintf(w, "ends with no transition enabled, no property failed\n")
	default:
		fmt.Fprintf(w, "no property failed\n")
	}
}
