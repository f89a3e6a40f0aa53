package model_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xbcheck/xbcheck/bench"
	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/scenario"
)

// TestGeneratedAllScenarios: each kind of byte test the generated guards
// make holds for exactly the values of its set, and the guards and
// effects GenerateGo writes for every scenario, built into a program,
// give the successors the tables and the interpreter's effects give
// (which TestCompiledMatchesInterpreter checks against the interpreter),
// in the same order, on every reachable state of every scenario up to
// 20,000 per scenario and timer semantics; and WithGenerated refuses a
// scenario's code for the next scenario's system, unless the two
// generate the same code. The program is built by the
// go command in a module of its own that uses this one (the generated
// code cannot be built into this test).
func TestGeneratedAllScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program (-short)")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the go command is not on PATH, and this test builds a program with it")
		}
		t.Skip("no go command")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(root, "scenarios", "*.toml"))
	if len(files) < 50 {
		t.Fatalf("only %d scenarios", len(files))
	}
	dir := t.TempDir()
	var table strings.Builder
	for i, f := range files {
		c, err := scenario.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("g%d", i)
		src, err := c.System.GenerateGo("main", name)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".go"), src, 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&table, "\t{%q, %s},\n", f, name)
	}
	// And each kind of byte test genTest writes, on sets of every shape:
	// one value, all but one, a range from 0 and from elsewhere, the
	// complement of a range, values below 64, values anywhere, none, all.
	var sets [][4]uint64
	for _, vals := range [][]int{{0}, {7}, {255}, {0, 1, 2, 3}, {5, 6, 7}, {250, 251, 252, 253, 254, 255}, {1, 3, 60}, {0, 63}, {2, 64}, {9, 200}, {}} {
		var set [4]uint64
		for _, v := range vals {
			set[v/64] |= 1 << (v % 64)
		}
		sets = append(sets, set, [4]uint64{^set[0], ^set[1], ^set[2], ^set[3]})
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 40 {
		sets = append(sets, [4]uint64{rng.Uint64() & rng.Uint64(), rng.Uint64(), rng.Uint64() | rng.Uint64(), rng.Uint64() >> rng.IntN(64)})
	}
	var tests strings.Builder
	for _, set := range sets {
		fmt.Fprintf(&tests, "\t{[4]uint64{%#x, %#x, %#x, %#x}, func(st []byte) bool { return %s }},\n", set[0], set[1], set[2], set[3], model.GenTest(3, set))
	}
	main := strings.Replace(genCheckMain, "//SCENARIOS\n", table.String(), 1)
	main = strings.Replace(main, "//TESTS\n", tests.String(), 1)
	goMod := fmt.Sprintf("module gencheck\n\ngo 1.26\n\nrequire github.com/xbcheck/xbcheck v0.0.0\n\nreplace github.com/xbcheck/xbcheck => %s\n", root)
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"main.go": []byte(main), "go.mod": []byte(goMod), "go.sum": sum} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(goCmd, "run", ".")
	cmd.Dir = dir
	// The modules this one needs are in the cache already (this test
	// was built with them); nothing is downloaded.
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the generated guards' check failed: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	if !strings.Contains(string(out), fmt.Sprintf("%d scenarios", len(files))) {
		t.Errorf("the check did not report %d scenarios:\n%s", len(files), out)
	}
}

// TestGeneratedMatchesTables: on every reachable state of N = 1 and 2 and
// the first 200,000 of N = 3 (breadth-first), under both timer semantics
// (AnyTime lets timers fire at any time: more states),
// the generated guards yield exactly the successors of the compiled
// tables (which model's TestCompiledMatchesInterpreter checks against the
// interpreter): the same transitions and states, in the same order.
func TestGeneratedMatchesTables(t *testing.T) {
	for n := 1; n <= bench.MaxGenerated; n++ {
		tables, err := bench.AttachDetach(n)
		if err != nil {
			t.Fatal(err)
		}
		gen, err := bench.AttachDetachGenerated(n)
		if err != nil {
			t.Fatal(err)
		}
		if !gen.System.Generated() || tables.System.Generated() {
			t.Fatalf("N=%d: Generated() = %v for the generated system, %v for the tables'", n, gen.System.Generated(), tables.System.Generated())
		}
		for _, timers := range []model.TimerSemantics{model.LastResort, model.AnyTime} {
			want, got := tables.System.WithTimers(timers), gen.System.WithTimers(timers)
			init := want.Initial()
			seen := map[string]bool{string(init): true}
			queue := []model.State{init}
			compared := 0
			for len(queue) > 0 && (n < 3 || compared < 200000) {
				st := queue[0]
				queue = queue[1:]
				w, g := successors(want, st), successors(got, st)
				if !slices.Equal(w, g) {
					t.Fatalf("N=%d (timers %d): the generated successors of\n%s\ndiffer from the tables' (-tables +generated):\n%s", n, timers, want.Describe(st), cmp.Diff(w, g))
				}
				compared++
				for _, s := range w {
					if !seen[s.Next] {
						seen[s.Next] = true
						queue = append(queue, model.State(s.Next))
					}
				}
			}
			t.Logf("N=%d (timers %d): %d states compared", n, timers, compared)
		}
	}
}

// genCheckMain is the program TestGeneratedAllScenarios builds with the
// generated files.
const genCheckMain = `package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/scenario"
)

// (succ and successors as in compile_test.go: this program, in a module
// of its own, cannot import the tests.)
type succ struct {
	id   int
	next string
}

func successors(sys *model.System, st model.State) []succ {
	var out []succ
	sys.Successors(st, make(model.State, sys.Size()), func(t *model.Transition, next model.State) bool {
		out = append(out, succ{t.ID, string(next)})
		return true
	})
	return out
}

var scenarios = []struct {
	path string
	gen  model.Generated
}{
//SCENARIOS
}

var tests = []struct {
	set  [4]uint64
	test func(st []byte) bool
}{
//TESTS
}

func main() {
	st := make([]byte, 5)
	for _, tt := range tests {
		for v := range 256 {
			st[3] = byte(v)
			if in := tt.set[v/64]>>(v%64)&1 != 0; tt.test(st) != in {
				fail("byte test of set %#x: %v for %d, which the set %s", tt.set, !in, v, map[bool]string{true: "holds", false: "does not hold"}[in])
			}
		}
	}
	states := 0
	for i, sc := range scenarios {
		c, err := scenario.Load(sc.path)
		if err != nil {
			fail("%v", err)
		}
		name := filepath.Base(sc.path)
		gen, err := c.System.WithGenerated(sc.gen)
		if err != nil {
			fail("%s: %v", name, err)
		}
		// (Two scenarios that differ only in what the guards do not
		// read, such as the initial state or the properties, share
		// their code.)
		if other := scenarios[(i+1)%len(scenarios)]; other.gen.Digest != sc.gen.Digest {
			if _, err := c.System.WithGenerated(other.gen); err == nil {
				fail("%s: WithGenerated took the code of %s", name, filepath.Base(other.path))
			}
		}
		for _, timers := range []model.TimerSemantics{model.LastResort, model.AnyTime} {
			want, got := c.System.WithTimers(timers), gen.WithTimers(timers)
			init := want.Initial()
			seen := map[string]bool{string(init): true}
			queue := []model.State{init}
			for n := 0; len(queue) > 0 && n < 20000; n++ {
				st := queue[0]
				queue = queue[1:]
				w, g := successors(want, st), successors(got, st)
				if !slices.Equal(w, g) {
					fail("%s (timers %d): the generated guards' successors of\n%s\ndiffer from the tables': %v against %v", name, timers, want.Describe(st), g, w)
				}
				states++
				for _, s := range w {
					if !seen[s.next] {
						seen[s.next] = true
						queue = append(queue, model.State(s.next))
					}
				}
			}
		}
	}
	fmt.Printf("%d byte tests, %d scenarios, %d states compared\n", len(tests), len(scenarios), states)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}
`
