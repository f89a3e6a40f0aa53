package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// A SPINMode is a way of compiling and running SPIN's verifier.
type SPINMode struct {
	Name string
	// CFlags are the C compiler flags of pan.c, Args the verifier's.
	CFlags []string
	Args   []string
}

// SPINModes are the exhaustive modes compared, without partial-order
// reduction (-DNOREDUCE) and without state compression: depth-first
// search with full state storage. SPIN's multi-core breadth-first search
// (-DBFS_PAR) is left out: it stores the states inside atomic sequences
// (256,788 states for the N=2 model where the depth-first search and
// xbcheck store 16,488), so it does not explore the same state space, and
// the Promela cannot use d_step instead (SPIN refuses sequences that long).
var SPINModes = []SPINMode{
	{Name: "dfs", CFlags: []string{"-DNOREDUCE", "-DSAFETY"}, Args: []string{"-m100000"}},
}

// A SPINResult is one verifier run.
type SPINResult struct {
	States      int
	Transitions int
	// Elapsed is pan's own "elapsed time" (the search, without compiling).
	Elapsed time.Duration
	// MemoryMB is pan's "total actual memory usage".
	MemoryMB float64
	Out      string
}

// HaveSPIN reports whether spin and a C compiler are installed.
func HaveSPIN() bool {
	_, e1 := exec.LookPath("spin")
	_, e2 := exec.LookPath("gcc")
	return e1 == nil && e2 == nil
}

var (
	reStored  = regexp.MustCompile(`(\d+) states, stored`)
	reTrans   = regexp.MustCompile(`(\d+) transitions \(= stored\+matched\)`)
	reElapsed = regexp.MustCompile(`pan: elapsed time ([\d.e+]+) seconds`)
	reMemory  = regexp.MustCompile(`([\d.]+)\s+total actual memory usage`)
)

// RunSPIN generates the verifier for the Promela model pml in a temporary
// directory, compiles it for mode and runs it, with memLimitMB as pan's
// memory limit and a hash table of 2^hashBits slots (-w). optimize is the
// C compiler's optimization flag: "-O2" to time the verifier (gcc takes
// tens of seconds on the larger models), "-O0" only to count states.
func RunSPIN(ctx context.Context, pml string, mode SPINMode, memLimitMB, hashBits int, optimize string) (*SPINResult, error) {
	dir, err := os.MkdirTemp("", "xbcheck-spin")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "model.pml"), []byte(pml), 0o644); err != nil {
		return nil, err
	}
	run := func(name string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir = dir
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		if err != nil {
			return out.String(), fmt.Errorf("%s: %v: %s", name, err, lastLines(out.String(), 5))
		}
		return out.String(), nil
	}
	if _, err := run("spin", "-a", "model.pml"); err != nil {
		return nil, err
	}
	cflags := append([]string{optimize, "-w", "-o", "pan", "pan.c"}, mode.CFlags...)
	cflags = append(cflags, fmt.Sprintf("-DMEMLIM=%d", memLimitMB))
	if _, err := run("gcc", cflags...); err != nil {
		return nil, err
	}
	out, err := run("./pan", append([]string{fmt.Sprintf("-w%d", hashBits)}, mode.Args...)...)
	if err != nil && !reStored.MatchString(out) {
		return nil, err
	}
	r := &SPINResult{Out: out}
	if m := reStored.FindStringSubmatch(out); m != nil {
		r.States, _ = strconv.Atoi(m[1])
	}
	if m := reTrans.FindStringSubmatch(out); m != nil {
		r.Transitions, _ = strconv.Atoi(m[1])
	}
	if m := reElapsed.FindStringSubmatch(out); m != nil {
		f, _ := strconv.ParseFloat(m[1], 64)
		r.Elapsed = time.Duration(f * float64(time.Second))
	}
	if m := reMemory.FindStringSubmatch(out); m != nil {
		r.MemoryMB, _ = strconv.ParseFloat(m[1], 64)
	}
	return r, nil
}

func lastLines(s string, n int) string {
	lines := bytes.Split(bytes.TrimSpace([]byte(s)), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte(" | ")))
}
