package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A SPINMode is a way of compiling and running SPIN's verifier.
type SPINMode struct {
	Name string
	// What says what the mode does, for reports.
	What string
	// CFlags are the C compiler flags of pan.c, Args the verifier's.
	CFlags []string
	Args   []string
	// Cores is the number of cores the verifier uses.
	Cores int
	// MultiCore asks for the Promela SPIN's multi-core mode accepts (see
	// model.System.Promela).
	MultiCore bool
}

// The exhaustive modes compared, all without partial-order reduction
// (-DNOREDUCE) and checking assertions and invalid end states (-DSAFETY):
//
//   - dfs: depth-first search storing full states, one core;
//   - hc4: the same with hash compaction (-DHC4): 64-bit hashes of states
//     stored instead of states, the mode comparable to xbcheck's
//     fingerprints;
//   - dfs-2: the multi-core depth-first search (-DNCORE=2), two cores.
//
// SPIN's multi-core breadth-first search (-DBFS_PAR) is left out: it
// stores the states inside atomic sequences (256,788 states for the N=2
// model where the depth-first search and xbcheck store 16,488), so it
// does not explore the same state space, and the Promela cannot use
// d_step instead (SPIN refuses sequences that long).
var (
	SPINDFS  = SPINMode{Name: "dfs", What: "depth-first, full states", CFlags: []string{"-DNOREDUCE", "-DSAFETY"}, Args: []string{"-m100000"}, Cores: 1}
	SPINHC4  = SPINMode{Name: "hc4", What: "depth-first, hash compaction (-DHC4)", CFlags: []string{"-DNOREDUCE", "-DSAFETY", "-DHC4"}, Args: []string{"-m100000"}, Cores: 1}
	SPINDFS2 = SPINMode{Name: "dfs-2", What: "multi-core depth-first (-DNCORE=2), full states", CFlags: []string{"-DNOREDUCE", "-DSAFETY", "-DNCORE=2"}, Args: []string{"-m100000"}, Cores: 2, MultiCore: true}
)

// SPINModes are the modes the performance report runs.
var SPINModes = []SPINMode{SPINDFS, SPINHC4, SPINDFS2}

// A SPINResult is one verifier run.
type SPINResult struct {
	States      int
	Transitions int
	// Elapsed is pan's own "elapsed time" (the search, without compiling).
	Elapsed time.Duration
	// MemoryMB is pan's "total actual memory usage"; PeakRSS the
	// verifier process's peak resident set, in bytes.
	MemoryMB float64
	PeakRSS  int64
	// Errors is pan's error count; Violations the distinct errors, by
	// property name ("deadlock" for invalid end states).
	Errors     int
	Violations []string
	// Complete is false when pan stopped early (memory limit, search
	// incomplete).
	Complete bool
	// Incomplete counts earlier attempts that stopped early (set by
	// callers that retry).
	Incomplete int
	Out        string
}

// HaveSPIN reports whether spin and a C compiler are installed.
func HaveSPIN() bool {
	_, e1 := exec.LookPath("spin")
	_, e2 := exec.LookPath("gcc")
	return e1 == nil && e2 == nil
}

var (
	reStored   = regexp.MustCompile(`(\d+) states, stored`)
	reTrans    = regexp.MustCompile(`(\d+) transitions \(= (?:visited\+)?stored\+matched\)`)
	reElapsed  = regexp.MustCompile(`(?m)^(?:pan|cpu0): elapsed time ([\d.e+]+) seconds`)
	reMemory   = regexp.MustCompile(`([\d.]+)\s+total actual memory usage`)
	reErrors   = regexp.MustCompile(`errors: (\d+)`)
	reError    = regexp.MustCompile(`(?m)^(?:cpu\d+: )?pan:\d+: (.*) \(at depth`)
	reAssertOf = regexp.MustCompile(`assertion violated\s+!\(v_(\w+)\)`)
)

// RunSPIN generates the verifier for the Promela model pml in a temporary
// directory, compiles it for mode and runs it, with memLimitMB as pan's
// memory limit and a hash table of 2^hashBits slots (-w); extra are more
// verifier arguments (-c0: go on after errors). optimize is gcc's
// optimization flag: "-O2" to time the verifier (gcc takes minutes on the
// larger models), "-O0" only to count states; or CountOnly.
func RunSPIN(ctx context.Context, pml string, mode SPINMode, memLimitMB, hashBits int, optimize string, extra ...string) (*SPINResult, error) {
	p, err := CompileSPIN(ctx, pml, mode, memLimitMB, optimize)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	return p.Run(ctx, hashBits, extra...)
}

// CountOnly, as RunSPIN's optimize, compiles a verifier whose counts and
// violations are wanted, not its speed, as fast as the machine can: with
// the Tiny C Compiler when it is installed (`make bench-deps` installs
// it), which compiles a scenario's pan.c in under a tenth of a second
// where gcc -O0 takes about three (1.4 MB of generated C; the tests
// compile one per scenario), otherwise with gcc -O0. Only single-core
// modes: the multi-core one is always compiled by gcc.
const CountOnly = "count-only"

// A Pan is a compiled SPIN verifier, in its own temporary directory.
type Pan struct {
	dir  string
	mode SPINMode
	// Compile is how long spin and the C compiler took.
	Compile time.Duration
}

// CompileSPIN generates and compiles the verifier for pml (see RunSPIN).
func CompileSPIN(ctx context.Context, pml string, mode SPINMode, memLimitMB int, optimize string) (*Pan, error) {
	dir, err := os.MkdirTemp("", "xbcheck-spin")
	if err != nil {
		return nil, err
	}
	p := &Pan{dir: dir, mode: mode}
	if err := os.WriteFile(filepath.Join(dir, "model.pml"), []byte(pml), 0o644); err != nil {
		p.Close()
		return nil, err
	}
	start := time.Now()
	if _, _, err := p.exec(ctx, "spin", "-a", "model.pml"); err != nil {
		p.Close()
		return nil, err
	}
	cc, cflags := "gcc", []string{optimize}
	if optimize == CountOnly {
		cflags = []string{"-O0"}
		if _, err := exec.LookPath("tcc"); err == nil && mode.Cores == 1 {
			cc, cflags = "tcc", nil
		}
	}
	cflags = append(cflags, "-w", "-o", "pan", "pan.c")
	cflags = append(cflags, mode.CFlags...)
	cflags = append(cflags, fmt.Sprintf("-DMEMLIM=%d", memLimitMB))
	if _, _, err := p.exec(ctx, cc, cflags...); err != nil {
		p.Close()
		return nil, err
	}
	p.Compile = time.Since(start)
	return p, nil
}

// Run runs the verifier with a hash table of 2^hashBits slots and the
// extra arguments.
func (p *Pan) Run(ctx context.Context, hashBits int, extra ...string) (*SPINResult, error) {
	args := append([]string{fmt.Sprintf("-w%d", hashBits)}, p.mode.Args...)
	out, rss, err := p.exec(ctx, "./pan", append(args, extra...)...)
	if err != nil && !reStored.MatchString(out) {
		return nil, err
	}
	return parsePan(out, rss), nil
}

// Close removes the verifier's directory.
func (p *Pan) Close() { os.RemoveAll(p.dir) }

// exec runs a command in the verifier's directory and returns its output
// and peak resident set.
func (p *Pan) exec(ctx context.Context, name string, args ...string) (string, int64, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = p.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var rss int64
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = ru.Maxrss * 1024
		}
	}
	if err != nil {
		return out.String(), rss, fmt.Errorf("%s: %v: %s", name, err, lastLines(out.String(), 5))
	}
	return out.String(), rss, nil
}

func parsePan(out string, rss int64) *SPINResult {
	r := &SPINResult{Out: out, PeakRSS: rss, Complete: true}
	num := func(re *regexp.Regexp) string {
		if m := re.FindStringSubmatch(out); m != nil {
			return m[1]
		}
		return ""
	}
	r.States, _ = strconv.Atoi(num(reStored))
	r.Transitions, _ = strconv.Atoi(num(reTrans))
	r.Errors, _ = strconv.Atoi(num(reErrors))
	if f, err := strconv.ParseFloat(num(reElapsed), 64); err == nil {
		r.Elapsed = time.Duration(f * float64(time.Second))
	}
	r.MemoryMB, _ = strconv.ParseFloat(num(reMemory), 64)
	// pan prints an error whenever it differs from the previous one, so
	// every kind of error appears at least once.
	kinds := map[string]bool{}
	for _, m := range reError.FindAllStringSubmatch(out, -1) {
		switch msg := m[1]; {
		case strings.HasPrefix(msg, "invalid end state"):
			kinds["deadlock"] = true
		case reAssertOf.MatchString(msg):
			kinds[strings.ReplaceAll(reAssertOf.FindStringSubmatch(msg)[1], "_", "-")] = true
		default:
			kinds[msg] = true
		}
	}
	for k := range kinds {
		r.Violations = append(r.Violations, k)
	}
	sort.Strings(r.Violations)
	if strings.Contains(out, "Search not completed") || strings.Contains(out, "MEMLIM") || strings.Contains(out, "out of memory") {
		r.Complete = false
	}
	return r
}

func lastLines(s string, n int) string {
	lines := bytes.Split(bytes.TrimSpace([]byte(s)), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte(" | ")))
}
