// Command perf measures the checker on the benchmark family and compares
// it with SPIN on the same state spaces, checking the same properties,
// then writes docs/performance.md. `make bench` runs it.
//
// Every measurement runs in a process of its own (perf runs itself with
// -child), so that its peak resident set is the whole process's, frontier
// and runtime included, and nothing an earlier run left counts.
//
// Usage:
//
//	go run ./bench/perf [-max N] [-max-sym N] [-spin=false] [-o docs/performance.md]
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
	SPIN          map[string]*bench.SPINResult
	SPINErr       map[string]string
}

type symRow struct {
	N       int
	M       measure
	SPINHC4 string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("perf", flag.ContinueOnError)
	fs.SetOutput(stderr)
	maxN := fs.Int("max", 3, "largest N of the attach-detach family to run without reductions")
	useSPIN := fs.Bool("spin", true, "also run SPIN on the same state spaces (needs spin and gcc)")
	out := fs.String("o", "docs/performance.md", "write the report to `FILE` (empty: stdout only)")
	spinMem := fs.Int("spin-mem", 8192, "SPIN's memory limit in MB (-DMEMLIM)")
	maxSym := fs.Int("max-sym", 4, "largest N to run with symmetry reduction (and to give SPIN, unreduced, the same memory)")
	runs := fs.Int("runs", 3, "time each configuration this many times and keep the fastest (complete) run")
	child := fs.String("child", "", "internal: run one xbcheck measurement (\"xbcheck\") and print it as JSON")
	n := fs.Int("n", 0, "internal: N of the child's run")
	workers := fs.Int("workers", 0, "internal: workers of the child's run")
	symmetry := fs.Bool("symmetry", false, "internal: symmetry reduction in the child's run")
	porMax := fs.Int("por-max", 4, "largest N to run with partial-order reduction alone (0: no POR section)")
	porMaxSym := fs.Int("por-max-sym", 5, "largest N to run with partial-order and symmetry reductions together (N = 5: about 4 min of CPU; N = 6 is far beyond a minute)")
	porSPIN := fs.Int("por-spin", 3, "largest N to give SPIN with its own partial-order reduction")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *child != "" {
		return runChild(*n, *workers, *symmetry, stdout, stderr)
	}
	if *useSPIN && !bench.HaveSPIN() {
		fmt.Fprintln(stderr, "perf: spin or gcc missing (make bench-deps); running without SPIN")
		*useSPIN = false
	}
	var rows []row
	for n := 1; n <= *maxN; n++ {
		r := row{N: n, X: map[int]measure{}, SPIN: map[string]*bench.SPINResult{}, SPINErr: map[string]string{}}
		for _, w := range []int{1, 2} {
			m, err := bestOf(*runs, func() (measure, error) { return measureChild(ctx, n, w, false) })
			if err != nil {
				fmt.Fprintf(stderr, "perf: N=%d: %v\n", n, err)
				return 1
			}
			if m.Verdict != checker.Ok {
				fmt.Fprintf(stderr, "perf: N=%d: verdict %s\n", n, m.Verdict)
				return 1
			}
			r.X[w], r.States, r.Trans = m, m.Stats.States, m.Stats.Transitions
			fmt.Fprintf(stderr, "perf: N=%d xbcheck %d worker(s): %d states in %v, peak RSS %.0f MB, seen set %.1f B/state\n",
				n, w, m.Stats.States, m.Stats.Elapsed.Round(time.Millisecond), mb(m.PeakRSS), m.Stats.BytesPerState)
		}
		if *useSPIN {
			runSPIN(ctx, &r, *spinMem, *runs, stderr)
		}
		rows = append(rows, r)
	}
	var syms []symRow
	for n := 1; n <= *maxSym; n++ {
		runsHere := *runs
		if n >= 4 {
			runsHere = 1 // a minute or more each
		}
		m, err := bestOf(runsHere, func() (measure, error) { return measureChild(ctx, n, 0, true) })
		if err != nil {
			fmt.Fprintf(stderr, "perf: N=%d symmetry: %v\n", n, err)
			return 1
		}
		sr := symRow{N: n, M: m}
		fmt.Fprintf(stderr, "perf: N=%d symmetry: %d classes in %v, peak RSS %.0f MB\n", n, m.Stats.States, m.Stats.Elapsed.Round(time.Millisecond), mb(m.PeakRSS))
		if *useSPIN && n > *maxN {
			sr.SPINHC4 = spinSameMemory(ctx, n, m.PeakRSS, stderr)
		}
		syms = append(syms, sr)
	}
	report := render(rows, *useSPIN) + renderSym(syms)
	if *porMax > 0 {
		unreduced, symOnly := map[int]int{}, map[int]int{}
		for _, r := range rows {
			unreduced[r.N] = r.States
		}
		for _, r := range syms {
			symOnly[r.N] = r.M.Stats.States
		}
		spinMax := *porSPIN
		if !*useSPIN {
			spinMax = 0
		}
		pr, err := measurePOR(ctx, *porMax, *porMaxSym, spinMax, unreduced, symOnly, *spinMem, stderr)
		if err != nil {
			fmt.Fprintln(stderr, "perf:", err)
			return 1
		}
		report += renderPOR(pr)
	}
	fmt.Fprint(stdout, report)
	if *out != "" {
		if err := atomicfile.Write(*out, []byte(report), 0o644); err != nil {
			fmt.Fprintln(stderr, "perf:", err)
			return 1
		}
		fmt.Fprintf(stderr, "perf: wrote %s\n", *out)
	}
	return 0
}

// runChild is the child process: one check, printed as JSON.
func runChild(n, workers int, symmetry bool, stdout, stderr io.Writer) int {
	c, err := bench.AttachDetach(n)
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
func measureChild(ctx context.Context, n, workers int, symmetry bool) (measure, error) {
	self, err := os.Executable()
	if err != nil {
		return measure{}, err
	}
	cmd := exec.CommandContext(ctx, self, "-child", "xbcheck", "-n", fmt.Sprint(n), "-workers", fmt.Sprint(workers), fmt.Sprintf("-symmetry=%v", symmetry))
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

// runSPIN compiles the verifier in every mode (two compilers at a time:
// gcc takes minutes at -O2 on N=3), then runs them one after the other.
func runSPIN(ctx context.Context, r *row, memMB, runs int, stderr io.Writer) {
	c, err := bench.AttachDetach(r.N)
	if err != nil {
		fmt.Fprintln(stderr, "perf:", err)
		return
	}
	bits := 10
	for 1<<bits < 2*r.States {
		bits++
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
	for i, m := range bench.SPINModes {
		if errs[i] != nil {
			r.SPINErr[m.Name] = errs[i].Error()
			fmt.Fprintf(stderr, "perf: N=%d SPIN %s: %v\n", r.N, m.Name, errs[i])
			continue
		}
		// The fastest of runs complete runs; SPIN's multi-core search
		// sometimes stops early ("Search not completed"), so up to
		// twice as many attempts.
		var sr *bench.SPINResult
		var err error
		complete, incomplete := 0, 0
		for attempt := 0; attempt < 2*runs && complete < runs; attempt++ {
			x, e := pans[i].Run(ctx, bits)
			if e != nil {
				err = e
				break
			}
			if !x.Complete {
				incomplete++
				if sr == nil {
					sr = x
				}
				continue
			}
			complete++
			if sr == nil || !sr.Complete || x.Elapsed < sr.Elapsed {
				sr = x
			}
		}
		pans[i].Close()
		if sr != nil {
			sr.Incomplete = incomplete
		}
		if err != nil {
			r.SPINErr[m.Name] = err.Error()
			fmt.Fprintf(stderr, "perf: N=%d SPIN %s: %v\n", r.N, m.Name, err)
			continue
		}
		r.SPIN[m.Name] = sr
		fmt.Fprintf(stderr, "perf: N=%d SPIN %s: %d states in %v, %d errors, pan memory %.0f MB, peak RSS %.0f MB (compiled in %v)\n",
			r.N, m.Name, sr.States, sr.Elapsed.Round(time.Millisecond), sr.Errors, sr.MemoryMB, mb(sr.PeakRSS), pans[i].Compile.Round(time.Second))
	}
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

func render(rows []row, withSPIN bool) string {
	var b bytes.Buffer
	b.WriteString("# Performance\n\n")
	b.WriteString("Generated by `make bench` (`go run ./bench/perf`); the numbers are from one run on the machine below.\n")
	b.WriteString("The benchmark family (package `bench`): N disks of one guest attached and then detached concurrently\n")
	b.WriteString("by libxl 4.17, with blkback and blkfront; properties result-reflects-state, no-resurrection and\n")
	b.WriteString("deadlock, all of which hold, so every state is explored. SPIN runs the Promela translation of the same\n")
	b.WriteString("compiled model (`props.Promela`, `model.System.Promela`), which has exactly the same reachable states\n")
	b.WriteString("and checks the same properties: result-reflects-state and no-resurrection as assertions on every\n")
	b.WriteString("step, deadlock as SPIN's own check of invalid end states, with end labels only at the actors' final\n")
	b.WriteString("locations (a test checks both the counts and that SPIN finds the checker's violations on every\n")
	b.WriteString("scenario that translates). SPIN is compiled with `-O2 -DNOREDUCE -DSAFETY`; its time is pan's own\n")
	b.WriteString("search time, without compiling; xbcheck's is the check's, without building the model.\n\n")
	b.WriteString("## Machine\n\n")
	for _, l := range machine() {
		b.WriteString("- " + l + "\n")
	}
	b.WriteString("\n## Time, core for core\n\n")
	b.WriteString("states/s (time), the fastest of three runs of each. Ratios compare equal numbers of cores: xbcheck on\n")
	b.WriteString("1 core against SPIN's one-core modes, xbcheck on 2 cores against SPIN's multi-core depth-first search\n")
	b.WriteString("on 2 (its runs that stopped early, which SPIN's multi-core mode sometimes does with \"Search not\n")
	b.WriteString("completed\", are counted and left out).\n\n")
	b.WriteString("| N | states | transitions | xbcheck 1 core | xbcheck 2 cores | speedup 1→2 |")
	if withSPIN {
		b.WriteString(" SPIN dfs | SPIN hc4 | SPIN dfs, 2 cores | xbcheck/SPIN dfs (1 core) | xbcheck/SPIN hc4 (1 core) | xbcheck/SPIN (2 cores) |")
	}
	b.WriteString("\n|---|---|---|---|---|---|")
	if withSPIN {
		b.WriteString("---|---|---|---|---|---|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		t1, t2 := r.X[1].Stats.Elapsed, r.X[2].Stats.Elapsed
		speed := "-"
		if t1 >= time.Millisecond && t2 >= time.Millisecond {
			speed = fmt.Sprintf("%.2f", t1.Seconds()/t2.Seconds())
		}
		fmt.Fprintf(&b, "| %d | %d | %d | %s | %s | %s |", r.N, r.States, r.Trans, timeCell(r.States, t1), timeCell(r.States, t2), speed)
		if withSPIN {
			cell := func(name string) string {
				sr := r.SPIN[name]
				switch {
				case sr == nil:
					return "failed"
				case sr.Errors != 0:
					return fmt.Sprintf("%d errors", sr.Errors)
				case name == "hc4" && sr.States < r.States && sr.Complete:
					// Hash compaction: states whose hashes collide are lost.
					return fmt.Sprintf("%s, %d states missed", timeCell(sr.States, sr.Elapsed), r.States-sr.States)
				case sr.States != r.States:
					return fmt.Sprintf("%d states (≠)", sr.States)
				case sr.Incomplete > 0:
					return fmt.Sprintf("%s; %d run(s) stopped early", timeCell(sr.States, sr.Elapsed), sr.Incomplete)
				}
				return timeCell(sr.States, sr.Elapsed)
			}
			ratio := func(x time.Duration, name string) string {
				sr := r.SPIN[name]
				if sr == nil || sr.Errors != 0 || !sr.Complete || x < time.Millisecond || sr.Elapsed < time.Millisecond {
					return "-"
				}
				if sr.States != r.States && name != "hc4" {
					return "-"
				}
				return fmt.Sprintf("%.1f×", sr.Elapsed.Seconds()/x.Seconds())
			}
			fmt.Fprintf(&b, " %s | %s | %s | %s | %s | %s |", cell("dfs"), cell("hc4"), cell("dfs-2"), ratio(t1, "dfs"), ratio(t1, "hc4"), ratio(t2, "dfs-2"))
		}
		b.WriteString("\n")
	}
	b.WriteString("\nA ratio above 1 means xbcheck is faster. SPIN's hash compaction stores a hash of each state, and\n")
	b.WriteString("with a hash table of at most 2^32 slots (-w32) pan hashes with the 32-bit SuperFastHash (d_sfh), so\n")
	b.WriteString("about n²/2^33 states collide and are lost: the states it missed are given; xbcheck's 64-bit\n")
	if len(rows) > 0 {
		last := rows[len(rows)-1]
		fmt.Fprintf(&b, "fingerprints give a bound on the summary line instead (%.1e for N = %d).\n", checker.CollisionBound(last.States), last.N)
	}
	b.WriteString("\nSPIN's multi-core breadth-first search (-DBFS_PAR) is not\n")
	b.WriteString("compared: it stores the states inside atomic sequences (256,788 for N = 2 against 16,488), so it\n")
	b.WriteString("explores a different, larger space, and with a table sized for the real one it stops with \"hash table\n")
	b.WriteString("is full\"; the Promela cannot use d_step instead, which SPIN refuses for sequences this long. Its\n")
	b.WriteString("multi-core depth-first search (-DNCORE=2) is compared instead; it cannot use hidden variables, so its\n")
	b.WriteString("Promela keeps the assertions' scratch bytes in the state vector, zeroed after every step (the same\n")
	b.WriteString("states, a slightly longer vector).\n")

	b.WriteString("\n## Memory per state\n\n")
	b.WriteString("Whole-process peak resident set (getrusage's ru_maxrss of a process that ran only that search:\n")
	b.WriteString("frontier, buffers, the Go runtime and its garbage included for xbcheck; hash table, DFS stack and\n")
	b.WriteString("state store for SPIN) divided by the states, beside xbcheck's seen-set figure (8-byte fingerprints\n")
	b.WriteString("at load 0.6 to 0.9, the transition that found each state in 2 bytes, parent links in 2 bits; no\n")
	b.WriteString("frontier) and pan's own \"total actual memory usage\". Per-state figures are left out below 100,000\n")
	b.WriteString("states, where fixed costs dominate.\n\n")
	b.WriteString("| N | states | xbcheck seen set (B/state) | xbcheck 1 core peak RSS | xbcheck 2 cores peak RSS |")
	if withSPIN {
		b.WriteString(" SPIN dfs peak RSS | SPIN hc4 peak RSS | SPIN dfs, 2 cores peak RSS | SPIN dfs pan memory |")
	}
	b.WriteString("\n|---|---|---|---|---|")
	if withSPIN {
		b.WriteString("---|---|---|---|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		seen := "-"
		if r.States >= 100_000 {
			seen = fmt.Sprintf("%.1f", r.X[1].Stats.BytesPerState)
		}
		rss := func(bytes int64) string {
			if p := perState(bytes, r.States); p != "-" {
				return fmt.Sprintf("%.0f MB (%s B/state)", mb(bytes), p)
			}
			return fmt.Sprintf("%.0f MB", mb(bytes))
		}
		fmt.Fprintf(&b, "| %d | %d | %s | %s | %s |", r.N, r.States, seen, rss(r.X[1].PeakRSS), rss(r.X[2].PeakRSS))
		if withSPIN {
			cell := func(name string) string {
				if sr := r.SPIN[name]; sr != nil {
					return rss(sr.PeakRSS)
				}
				return "-"
			}
			pan := "-"
			if sr := r.SPIN["dfs"]; sr != nil {
				pan = fmt.Sprintf("%.0f MB", sr.MemoryMB)
				if p := perState(int64(sr.MemoryMB*(1<<20)), r.States); p != "-" {
					pan += " (" + p + " B/state)"
				}
			}
			fmt.Fprintf(&b, " %s | %s | %s | %s |", cell("dfs"), cell("hc4"), cell("dfs-2"), pan)
		}
		b.WriteString("\n")
	}
	b.WriteString("\nxbcheck's peak is mostly the breadth-first frontier (full states of the level being expanded and of\n")
	b.WriteString("the next, with their candidate buffers) and the Go heap's headroom (GOGC=100), not the seen set.\n")
	return b.String()
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

func renderSym(rows []symRow) string {
	var b bytes.Buffer
	b.WriteString("\n## With symmetry reduction\n\n")
	b.WriteString("The N disks are interchangeable (a checked symmetry), so the checker explores one state per class of\n")
	b.WriteString("states equal up to permuting them (`--symmetry`, on by default for safety properties), on both cores.\n")
	b.WriteString("For the N it cannot reach otherwise, SPIN, unreduced, in its most compact exhaustive mode (hash\n")
	b.WriteString("compaction), gets the whole-process peak the reduced xbcheck run needed as its memory limit.\n\n")
	b.WriteString("| N | verdict | state classes | transitions | time | states/s | peak RSS | SPIN hc4, same memory |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		spin := r.SPINHC4
		if spin == "" {
			spin = "-"
		}
		s := r.M.Stats
		fmt.Fprintf(&b, "| %d | %s | %d | %d | %v | %s | %.0f MB | %s |\n", r.N, r.M.Verdict, s.States, s.Transitions,
			s.Elapsed.Round(time.Millisecond), strings.Fields(timeCell(s.States, s.Elapsed))[0], mb(r.M.PeakRSS), spin)
	}
	return b.String()
}
