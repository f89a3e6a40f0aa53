// Command perf measures the checker on the benchmark family and compares
// it with SPIN on the same state spaces, checking the same properties,
// then writes docs/performance.md. `make bench` runs it.
//
// Every measurement runs in a process of its own (perf runs itself with
// -child), so that its peak resident set is the whole process's, frontier
// and runtime included, and nothing an earlier run left counts.
//
// The report is a list of sections (sections, in this file): the
// unreduced runs timed core for core beside SPIN, the unreduced runs
// beyond them (N = 4: count, time, whole-process memory), the symmetry-
// reduced runs. Another file of the package adds a section of its own
// with addSection in an init function; -sections runs some only.
//
// Usage:
//
//	go run ./bench/perf [-max N] [-max-large N] [-max-sym N] [-spin=false] [-sections a,b] [-o docs/performance.md]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/xbcheck/xbcheck/bench"
	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/internal/atomicfile"
	"github.com/xbcheck/xbcheck/props"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// measure is one xbcheck run, as the child reports it.
type measure struct {
	Verdict checker.Verdict `json:"verdict"`
	Stats   checker.Stats   `json:"stats"`
	// PeakRSS is the child process's peak resident set in bytes.
	PeakRSS int64 `json:"-"`
}

type row struct {
	N             int
	States, Trans int
	X             map[int]measure // by workers
	G             map[int]measure // by workers, with the guards generated to Go (none past bench.MaxGenerated)
	// Pair, by generated guards or not, is two independent one-worker
	// runs made side by side (measurePair), at the largest N only.
	Pair    map[bool]pair
	SPIN    map[string]*bench.SPINResult
	SPINErr map[string]string
}

type symRow struct {
	N       int
	M       measure
	SPINHC4 string
}

// config is what the flags ask of the sections.
type config struct {
	maxN, maxSym, maxLarge, maxLargeOne, spinMem, runs int
	// largeRuns is the number of runs of each configuration beyond maxN
	// up to maxLargeOne (runLarge).
	largeRuns int
	useSPIN   bool
	// porMax, porMaxSym and porSPIN bound the partial-order reduction
	// section (por.go).
	porMax, porMaxSym, porSPIN int
	// porBFS bounds the comparison with the breadth-first proviso.
	porBFS int
}

// counted holds the state counts the sections found, for the later
// sections that compare with them: unreduced[n] and sym[n] of the family.
var counted = struct{ unreduced, sym map[int]int }{map[int]int{}, map[int]int{}}

// A section is one part of docs/performance.md: run measures (each
// measurement in a process of its own, see measureChild) and returns the
// section's markdown, "" to leave it out. The report is the sections in
// order; a file of this package adds one with addSection in an init
// function.
type section struct {
	name string
	run  func(ctx context.Context, cfg config, stderr io.Writer) (string, error)
}

var sections = []section{
	{"unreduced", runUnreduced},
	{"large", runLarge},
	{"symmetry", runSymmetry},
}

// addSection adds a section after the others, or before the one named
// before when there is one.
func addSection(s section, before string) {
	for i, t := range sections {
		if t.name == before {
			sections = append(sections[:i], append([]section{s}, sections[i:]...)...)
			return
		}
	}
	sections = append(sections, s)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("perf", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	fs.IntVar(&cfg.maxN, "max", 3, "largest N of the attach-detach family to run without reductions, timed and beside SPIN")
	fs.BoolVar(&cfg.useSPIN, "spin", true, "also run SPIN on the same state spaces (needs spin and gcc)")
	out := fs.String("o", "docs/performance.md", "write the report to `FILE` (empty: stdout only)")
	fs.IntVar(&cfg.spinMem, "spin-mem", 8192, "SPIN's memory limit in MB (-DMEMLIM)")
	fs.IntVar(&cfg.maxSym, "max-sym", 4, "largest N to run with symmetry reduction (and to give SPIN, unreduced, the same memory)")
	fs.IntVar(&cfg.maxLarge, "max-large", 4, "largest N to run once without reductions beyond -max (0: none; N = 4: 260 million states, about 4 minutes on two cores and 6.5 GB)")
	fs.IntVar(&cfg.maxLargeOne, "max-large-one", 4, "largest N beyond -max to run once on one worker too, for the speedup of two (N = 4: about 6 minutes)")
	fs.IntVar(&cfg.largeRuns, "large-runs", 2, "time the runs beyond -max up to -max-large-one this many times each, on two workers and one taking turns, and keep the fastest")
	fs.IntVar(&cfg.runs, "runs", 11, "time each configuration this many times and keep the fastest (complete) run")
	fs.IntVar(&cfg.porMax, "por-max", 5, "largest N to run with partial-order reduction alone (0: no POR section)")
	fs.IntVar(&cfg.porMaxSym, "por-max-sym", 7, "largest N to run with partial-order and symmetry reductions together (N = 6: seconds; N = 7: about a minute)")
	fs.IntVar(&cfg.porBFS, "por-bfs", 3, "largest N to run with partial-order reduction alone under the breadth-first cycle proviso too (N+1 with symmetry), for comparison")
	fs.IntVar(&cfg.porSPIN, "por-spin", 3, "largest N to give SPIN with its own partial-order reduction")
	only := fs.String("sections", "", "comma-separated `NAMES` of the sections to run (default: all)")
	child := fs.String("child", "", "internal: run one xbcheck measurement (\"xbcheck\") and print it as JSON")
	n := fs.Int("n", 0, "internal: N of the child's run")
	workers := fs.Int("workers", 0, "internal: workers of the child's run")
	symmetry := fs.Bool("symmetry", false, "internal: symmetry reduction in the child's run")
	generated := fs.Bool("generated", false, "internal: the child's run uses the guards generated to Go (bench.AttachDetachGenerated)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *child != "" {
		return runChild(*n, *workers, *symmetry, *generated, stdout, stderr)
	}
	if cfg.useSPIN && !bench.HaveSPIN() {
		fmt.Fprintln(stderr, "perf: spin or gcc missing (make bench-deps); running without SPIN")
		cfg.useSPIN = false
	}
	want := map[string]bool{}
	for _, name := range strings.Split(*only, ",") {
		if name != "" {
			want[name] = true
		}
	}
	var report strings.Builder
	report.WriteString(header(cfg.runs))
	for _, sec := range sections {
		if len(want) > 0 && !want[sec.name] {
			continue
		}
		md, err := sec.run(ctx, cfg, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "perf: %s: %v\n", sec.name, err)
			return 1
		}
		report.WriteString(md)
	}
	fmt.Fprint(stdout, report.String())
	if *out != "" {
		if err := atomicfile.Write(*out, []byte(report.String()), 0o644); err != nil {
			fmt.Fprintln(stderr, "perf:", err)
			return 1
		}
		fmt.Fprintf(stderr, "perf: wrote %s\n", *out)
	}
	return 0
}

// runUnreduced times xbcheck on 1 and 2 workers for N = 1 to cfg.maxN,
// beside SPIN.
func runUnreduced(ctx context.Context, cfg config, stderr io.Writer) (string, error) {
	var rows []row
	for n := 1; n <= cfg.maxN; n++ {
		r := row{N: n, X: map[int]measure{}, G: map[int]measure{}, Pair: map[bool]pair{}, SPIN: map[string]*bench.SPINResult{}, SPINErr: map[string]string{}}
		var spin []*spinRuns
		if cfg.useSPIN {
			spin = compileSPIN(ctx, &r, cfg.spinMem, stderr)
		}
		// Every configuration runs once a round, round after round, so
		// that all meet the same moments of the host: the two cores of
		// a virtual machine slow each other by what else the host runs,
		// from minute to minute, and a ratio of runs made minutes apart
		// (one worker against two, xbcheck against SPIN) measures that
		// too. At the largest N, two independent one-worker runs side by
		// side (pair) take a turn as well.
		best := map[bool]map[int]measure{false: {}, true: {}}
		for round := 0; round < max(cfg.runs, 1); round++ {
			for _, generated := range []bool{false, true} {
				if generated && n > bench.MaxGenerated {
					break
				}
				// One worker first in even rounds, two in odd ones: a
				// host slower for a while, or one that has just backed
				// the memory the run before wrote, favours neither.
				for k := range 2 {
					w := 1 + (k+round)%2
					m, err := measureChild(ctx, n, w, false, generated)
					if err != nil {
						return "", fmt.Errorf("N=%d: %v", n, err)
					}
					if m.Verdict != checker.Ok {
						return "", fmt.Errorf("N=%d: verdict %s", n, m.Verdict)
					}
					keepFastest(best[generated], w, m)
					if !generated {
						r.States, r.Trans = m.Stats.States, m.Stats.Transitions // (SPIN's hash table is sized by them)
					}
				}
				if n == cfg.maxN {
					p, err := measurePair(ctx, n, generated)
					if err != nil {
						return "", fmt.Errorf("N=%d, side by side: %v", n, err)
					}
					if b, ok := r.Pair[generated]; !ok || p.rate() > b.rate() {
						r.Pair[generated] = p
					}
				}
			}
			for _, sr := range spin {
				sr.attempt(ctx, r.States)
			}
		}
		for _, generated := range []bool{false, true} {
			if len(best[generated]) == 0 {
				continue
			}
			for _, w := range []int{1, 2} {
				m := best[generated][w]
				how := "tables"
				if generated {
					if m.Stats.States != r.States || m.Stats.Transitions != r.Trans {
						return "", fmt.Errorf("N=%d: %d states and %d transitions with the generated code, %d and %d with the tables", n, m.Stats.States, m.Stats.Transitions, r.States, r.Trans)
					}
					r.G[w] = m
					how = "generated code"
				} else {
					r.X[w] = m
				}
				counted.unreduced[n] = m.Stats.States
				fmt.Fprintf(stderr, "perf: N=%d xbcheck %d worker(s), %s: %d states in %v, peak RSS %.0f MB, seen set %.1f B/state\n",
					n, w, how, m.Stats.States, m.Stats.Elapsed.Round(time.Millisecond), mb(m.PeakRSS), m.Stats.BytesPerState)
			}
			if p, ok := r.Pair[generated]; ok {
				fmt.Fprintf(stderr, "perf: N=%d two one-worker runs side by side: %v and %v\n", n, p.A.Round(time.Millisecond), p.B.Round(time.Millisecond))
			}
		}
		for _, sr := range spin {
			sr.finish(ctx, &r, cfg.runs, stderr)
		}
		rows = append(rows, r)
	}
	return render(rows, cfg.useSPIN, cfg.runs), nil
}

type largeRow struct {
	N int
	M measure // on all cores (two workers here)
	// One is the run on one worker, when made (config.maxLargeOne).
	One *measure
	// Runs is the number of runs of each that M and One are the
	// fastest of.
	Runs int
}

// runLarge runs xbcheck unreduced, on all cores, for N = cfg.maxN+1 to
// cfg.maxLarge, once each; up to cfg.maxLargeOne, cfg.largeRuns times
// each, and as many times on one worker, the two taking turns (all cores
// first in odd rounds, one worker first in even ones: the host's memory
// and what else it runs drift over the minutes a run takes), keeping the
// fastest of each.
func runLarge(ctx context.Context, cfg config, stderr io.Writer) (string, error) {
	var rows []largeRow
	for n := cfg.maxN + 1; n <= cfg.maxLarge; n++ {
		rounds, workers := 1, []int{0}
		if n <= cfg.maxLargeOne {
			rounds, workers = max(cfg.largeRuns, 1), []int{0, 1}
		}
		best := map[int]measure{} // by workers (0: all cores)
		for round := range rounds {
			for k := range workers {
				w := workers[(k+round)%len(workers)]
				on := "all cores"
				if w == 1 {
					on = "one worker"
				}
				m, err := measureChild(ctx, n, w, false, false)
				if err != nil {
					return "", fmt.Errorf("N=%d, %s: %v", n, on, err)
				}
				fmt.Fprintf(stderr, "perf: N=%d unreduced, %s: %s, %d states in %v, peak RSS %.0f MB\n", n, on, m.Verdict, m.Stats.States, m.Stats.Elapsed.Round(time.Second), mb(m.PeakRSS))
				keepFastest(best, w, m)
			}
		}
		r := largeRow{N: n, M: best[0], Runs: rounds}
		if one, ok := best[1]; ok {
			if one.Verdict != r.M.Verdict || one.Stats.States != r.M.Stats.States {
				return "", fmt.Errorf("N=%d: %s with %d states on one worker, %s with %d on all cores", n, one.Verdict, one.Stats.States, r.M.Verdict, r.M.Stats.States)
			}
			r.One = &one
		}
		rows = append(rows, r)
		if r.M.Verdict == checker.Ok {
			counted.unreduced[n] = r.M.Stats.States
		}
	}
	if len(rows) == 0 {
		return "", nil
	}
	return renderLarge(rows), nil
}

// runSymmetry runs xbcheck with symmetry reduction for N = 1 to
// cfg.maxSym, and SPIN, unreduced, in the memory it needed, beyond
// cfg.maxN.
func runSymmetry(ctx context.Context, cfg config, stderr io.Writer) (string, error) {
	var syms []symRow
	for n := 1; n <= cfg.maxSym; n++ {
		runsHere := cfg.runs
		if n >= 4 {
			runsHere = 1 // a minute or more each
		}
		m, err := bestOf(runsHere, func() (measure, error) { return measureChild(ctx, n, 0, true, false) })
		if err != nil {
			return "", fmt.Errorf("N=%d symmetry: %v", n, err)
		}
		sr := symRow{N: n, M: m}
		counted.sym[n] = m.Stats.States
		fmt.Fprintf(stderr, "perf: N=%d symmetry: %d classes in %v, peak RSS %.0f MB\n", n, m.Stats.States, m.Stats.Elapsed.Round(time.Millisecond), mb(m.PeakRSS))
		if cfg.useSPIN && n > cfg.maxN {
			sr.SPINHC4 = spinSameMemory(ctx, n, m.PeakRSS, stderr)
		}
		syms = append(syms, sr)
	}
	return renderSym(syms), nil
}

// runChild is the child process: one check, printed as JSON.
func runChild(n, workers int, symmetry, generated bool, stdout, stderr io.Writer) int {
	build := bench.AttachDetach
	if generated {
		build = bench.AttachDetachGenerated
	}
	c, err := build(n)
	if err != nil {
		fmt.Fprintln(stderr, "perf:", err)
		return 1
	}
	res := checker.Check(c.System, c.Properties, checker.Options{Workers: workers, Symmetry: symmetry})
	if err := json.NewEncoder(stdout).Encode(measure{Verdict: res.Verdict, Stats: res.Stats}); err != nil {
		fmt.Fprintln(stderr, "perf:", err)
		return 1
	}
	return 0
}

// measureChild runs one measurement in a child process and adds its peak
// resident set.
func measureChild(ctx context.Context, n, workers int, symmetry, generated bool) (measure, error) {
	self, err := os.Executable()
	if err != nil {
		return measure{}, err
	}
	cmd := exec.CommandContext(ctx, self, "-child", "xbcheck", "-n", fmt.Sprint(n), "-workers", fmt.Sprint(workers), fmt.Sprintf("-symmetry=%v", symmetry), fmt.Sprintf("-generated=%v", generated))
	if workers > 0 {
		// As many cores as workers: the garbage collector and the
		// runtime share them (with the default, a 1-worker run's
		// collector would use a second core, which SPIN's one-core
		// modes do not have).
		cmd.Env = append(os.Environ(), fmt.Sprintf("GOMAXPROCS=%d", workers))
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return measure{}, fmt.Errorf("%v: %s", err, errb.String())
	}
	var m measure
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		return measure{}, err
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.PeakRSS = ru.Maxrss * 1024
	}
	return m, nil
}

// compileSPIN compiles the verifier of r's N in every mode (two
// compilers at a time: gcc takes minutes at -O2 on N=3); a mode that
// does not compile is in r.SPINErr.
func compileSPIN(ctx context.Context, r *row, memMB int, stderr io.Writer) []*spinRuns {
	c, err := bench.AttachDetach(r.N)
	if err != nil {
		fmt.Fprintln(stderr, "perf:", err)
		return nil
	}
	pans := make([]*bench.Pan, len(bench.SPINModes))
	errs := make([]error, len(bench.SPINModes))
	var wg sync.WaitGroup
	sem := make(chan bool, 2)
	for i, m := range bench.SPINModes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- true
			defer func() { <-sem }()
			pml, err := props.Promela(c.System, c.Spec.Check.Properties, m.MultiCore)
			if err != nil {
				errs[i] = err
				return
			}
			pans[i], errs[i] = bench.CompileSPIN(ctx, pml, m, memMB, "-O2")
		}()
	}
	wg.Wait()
	var runs []*spinRuns
	for i, m := range bench.SPINModes {
		if errs[i] != nil {
			r.SPINErr[m.Name] = errs[i].Error()
			fmt.Fprintf(stderr, "perf: N=%d SPIN %s: %v\n", r.N, m.Name, errs[i])
			continue
		}
		runs = append(runs, &spinRuns{mode: m, pan: pans[i]})
	}
	return runs
}

// spinRuns are the runs of one compiled verifier: the fastest complete
// one (or the first, when none completed), how many completed and did
// not, and the error that ended them.
type spinRuns struct {
	mode                 bench.SPINMode
	pan                  *bench.Pan
	best                 *bench.SPINResult
	complete, incomplete int
	err                  error
}

// attempt runs the verifier once, with a hash table of at least twice
// states slots.
func (sr *spinRuns) attempt(ctx context.Context, states int) {
	if sr.err != nil {
		return
	}
	bits := 10
	for 1<<bits < 2*states {
		bits++
	}
	x, err := sr.pan.Run(ctx, bits)
	switch {
	case err != nil:
		sr.err = err
	case !x.Complete:
		// SPIN's multi-core search sometimes stops early ("Search not
		// completed").
		sr.incomplete++
		if sr.best == nil {
			sr.best = x
		}
	default:
		sr.complete++
		if sr.best == nil || !sr.best.Complete || x.Elapsed < sr.best.Elapsed {
			sr.best = x
		}
	}
}

// finish makes up for the incomplete runs (up to twice runs attempts in
// all), puts the fastest complete run in r, and frees the verifier.
func (sr *spinRuns) finish(ctx context.Context, r *row, runs int, stderr io.Writer) {
	for sr.err == nil && sr.complete < runs && sr.complete+sr.incomplete < 2*runs {
		sr.attempt(ctx, r.States)
	}
	sr.pan.Close()
	name := sr.mode.Name
	if sr.err != nil {
		r.SPINErr[name] = sr.err.Error()
		fmt.Fprintf(stderr, "perf: N=%d SPIN %s: %v\n", r.N, name, sr.err)
		return
	}
	x := sr.best
	x.Incomplete = sr.incomplete
	r.SPIN[name] = x
	fmt.Fprintf(stderr, "perf: N=%d SPIN %s: %d states in %v, %d errors, pan memory %.0f MB, peak RSS %.0f MB (compiled in %v)\n",
		r.N, name, x.States, x.Elapsed.Round(time.Millisecond), x.Errors, x.MemoryMB, mb(x.PeakRSS), sr.pan.Compile.Round(time.Second))
}

// spinSameMemory gives SPIN, in hash-compaction mode (its most compact
// exhaustive mode) and without reductions, the whole-process peak the
// symmetry-reduced xbcheck run needed.
func spinSameMemory(ctx context.Context, n int, rss int64, stderr io.Writer) string {
	c, err := bench.AttachDetach(n)
	if err != nil {
		return "failed: " + err.Error()
	}
	pml, err := props.Promela(c.System, c.Spec.Check.Properties, false)
	if err != nil {
		return "failed: " + err.Error()
	}
	mem := int(rss >> 20)
	// Speed is not the point here, and gcc takes many minutes at -O1 on
	// N=4.
	// A hash table of pointers that takes at most a quarter of the memory.
	bits := 10
	for int64(8)<<(bits+1) <= int64(mem)<<20/4 {
		bits++
	}
	r, err := bench.RunSPIN(ctx, pml, bench.SPINHC4, mem, bits, "-O0")
	var s string
	switch {
	case err != nil:
		s = "failed: " + err.Error()
	case !r.Complete:
		s = fmt.Sprintf("ran out of memory at -DMEMLIM=%d MB after %d states (incomplete)", mem, r.States)
	default:
		s = fmt.Sprintf("finished: %d states", r.States)
	}
	fmt.Fprintf(stderr, "perf: N=%d SPIN hc4 with %d MB: %s\n", n, mem, s)
	return s
}

// A pair is the times of two one-worker runs of the same check made at
// the same time, each in a process of its own with GOMAXPROCS=1: on two
// cores, what each core does when the other works too and nothing is
// shared between them but the machine.
type pair struct{ A, B time.Duration }

// rate is the pair's checks per second together.
func (p pair) rate() float64 { return 1/p.A.Seconds() + 1/p.B.Seconds() }

// ceiling is the speedup two workers would have over alone, one worker's
// time, if each did its share of the work at the pace it keeps beside
// the other in p, with no cost of working together: the two cores' work
// per second together over one core's alone.
func (p pair) ceiling(alone time.Duration) float64 { return alone.Seconds() * p.rate() }

// measurePair makes two one-worker runs of N = n at the same time.
func measurePair(ctx context.Context, n int, generated bool) (pair, error) {
	var (
		wg   sync.WaitGroup
		ms   [2]measure
		errs [2]error
	)
	for i := range ms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ms[i], errs[i] = measureChild(ctx, n, 1, false, generated)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return pair{}, err
		}
		if ms[i].Verdict != checker.Ok {
			return pair{}, fmt.Errorf("verdict %s", ms[i].Verdict)
		}
	}
	return pair{ms[0].Stats.Elapsed, ms[1].Stats.Elapsed}, nil
}

// bestOf runs f n times and keeps the fastest measurement.
func bestOf(n int, f func() (measure, error)) (measure, error) {
	var best measure
	for i := 0; i < max(n, 1); i++ {
		m, err := f()
		if err != nil {
			return m, err
		}
		if i == 0 || m.Stats.Elapsed < best.Stats.Elapsed {
			best = m
		}
	}
	return best, nil
}

// keepFastest puts m in best[k] unless best holds a faster measure there.
func keepFastest(best map[int]measure, k int, m measure) {
	if b, ok := best[k]; !ok || m.Stats.Elapsed < b.Stats.Elapsed {
		best[k] = m
	}
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

func rate(states int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(states) / d.Seconds()
}

// timeCell is "states/s (time)", or "< 1 ms" when too short to rate.
func timeCell(states int, d time.Duration) string {
	if d < time.Millisecond {
		return "- (< 1 ms)"
	}
	return fmt.Sprintf("%.0f (%v)", rate(states, d), d.Round(time.Millisecond))
}

// perState is bytes per state, or "-" when the run is too small for the
// fixed costs (runtime, tables, stacks) to be spread.
func perState(bytes int64, states int) string {
	if states < 100_000 {
		return "-"
	}
	return fmt.Sprintf("%.0f", float64(bytes)/float64(states))
}

func machine() []string {
	var out []string
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				out = append(out, "CPU: "+strings.TrimSpace(strings.SplitN(l, ":", 2)[1]))
				break
			}
		}
	}
	out = append(out, fmt.Sprintf("cores: %d (GOMAXPROCS %d)", runtime.NumCPU(), runtime.GOMAXPROCS(0)))
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		out = append(out, "memory: "+strings.Join(strings.Fields(strings.SplitN(string(b), "\n", 2)[0])[1:], " "))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		out = append(out, "load average before the run: "+strings.Join(strings.Fields(string(b))[:3], " "))
	}
	out = append(out, "Go: "+runtime.Version())
	if v, err := exec.Command("spin", "-V").Output(); err == nil {
		out = append(out, "SPIN: "+strings.TrimSpace(string(v)))
	}
	if v, err := exec.Command("gcc", "-dumpfullversion").Output(); err == nil {
		out = append(out, "gcc: "+strings.TrimSpace(string(v)))
	}
	out = append(out, "date: "+time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	return out
}
