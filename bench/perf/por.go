package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/xbcheck/xbcheck/bench"
	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/props"
)

// The partial-order reduction section of docs/performance.md: state
// counts of the family with xbcheck's reduction (model.POR, stubborn sets
// computed per state) against the unreduced search and SPIN's own
// partial-order reduction on the same Promela, with and without symmetry.

func init() {
	addSection(section{name: "por", run: func(ctx context.Context, cfg config, stderr io.Writer) (string, error) {
		if cfg.porMax <= 0 && cfg.porMaxSym <= 0 {
			return "", nil
		}
		spinMax := cfg.porSPIN
		if !cfg.useSPIN {
			spinMax = 0
		}
		rows, err := measurePOR(ctx, cfg.porMax, cfg.porMaxSym, spinMax, cfg.porBFS, counted.unreduced, counted.sym, cfg.spinMem, stderr)
		if err != nil {
			return "", err
		}
		return renderPOR(rows), nil
	}}, "")
}

// spinPOR is SPIN's depth-first search with its partial-order reduction
// (no -DNOREDUCE), checking the same assertions and invalid end states.
var spinPOR = bench.SPINMode{Name: "por", What: "depth-first with SPIN's partial-order reduction", CFlags: []string{"-DSAFETY"}, Args: []string{"-m100000"}, Cores: 1}

// porRow is one N of the section.
type porRow struct {
	N int
	// Unreduced is the unreduced state count (0: not known); POR the
	// reduced one; Sym and SymPOR the classes with symmetry alone and
	// with both (0: not run).
	Unreduced, POR, Sym, SymPOR int
	PORTime, SymPORTime         time.Duration
	PORReduced, SymPORReduced   int
	// BFS and SymBFS are the counts under the breadth-first cycle proviso
	// (checker.Options.BFSProviso), 0 when not run.
	BFS, SymBFS         int
	BFSTime, SymBFSTime time.Duration
	// SPIN is SPIN's state count with its partial-order reduction, or why
	// there is none.
	SPIN     *bench.SPINResult
	SPINNote string
}

// measurePOR checks the family with partial-order reduction for N = 1 to
// maxN (without symmetry) and to maxSym (with), on all cores, runs
// SPIN's reduction up to maxSPIN, and the breadth-first proviso up to
// maxBFS (maxBFS+1 with symmetry). unreduced and sym are the counts known
// from the unreduced and symmetry-only runs.
func measurePOR(ctx context.Context, maxN, maxSym, maxSPIN, maxBFS int, unreduced, sym map[int]int, spinMemMB int, stderr io.Writer) ([]porRow, error) {
	var rows []porRow
	for n := 1; n <= max(maxN, maxSym); n++ {
		c, err := bench.AttachDetach(n)
		if err != nil {
			return nil, err
		}
		r := porRow{N: n, Unreduced: unreduced[n], Sym: sym[n]}
		for _, sym := range []bool{false, true} {
			if limit := maxBFS; n > limit && !(sym && n == limit+1) {
				continue
			}
			res := checker.Check(c.System, c.Properties, checker.Options{POR: c.POR, Symmetry: sym, BFSProviso: true, Context: ctx})
			if res.Verdict != checker.Ok {
				return nil, fmt.Errorf("N=%d with POR under the breadth-first proviso: verdict %s %s", n, res.Verdict, res.Reason)
			}
			if sym {
				r.SymBFS, r.SymBFSTime = res.Stats.States, res.Stats.Elapsed
			} else {
				r.BFS, r.BFSTime = res.Stats.States, res.Stats.Elapsed
			}
			fmt.Fprintf(stderr, "perf: N=%d POR (symmetry %v) under the breadth-first proviso: %d states in %v\n", n, sym, res.Stats.States, res.Stats.Elapsed.Round(time.Millisecond))
		}
		if n <= maxN {
			res := checker.Check(c.System, c.Properties, checker.Options{POR: c.POR, Context: ctx})
			if res.Verdict != checker.Ok || len(res.Notes) > 0 {
				return nil, fmt.Errorf("N=%d with POR: verdict %s %s %q", n, res.Verdict, res.Reason, res.Notes)
			}
			r.POR, r.PORTime, r.PORReduced = res.Stats.States, res.Stats.Elapsed, res.Stats.Reduced
			fmt.Fprintf(stderr, "perf: N=%d POR: %d states in %v\n", n, r.POR, r.PORTime.Round(time.Millisecond))
		}
		if n <= maxSym {
			res := checker.Check(c.System, c.Properties, checker.Options{POR: c.POR, Symmetry: true, Context: ctx})
			if res.Verdict != checker.Ok || len(res.Notes) > 0 {
				return nil, fmt.Errorf("N=%d with POR and symmetry: verdict %s %s %q", n, res.Verdict, res.Reason, res.Notes)
			}
			r.SymPOR, r.SymPORTime, r.SymPORReduced = res.Stats.States, res.Stats.Elapsed, res.Stats.Reduced
			fmt.Fprintf(stderr, "perf: N=%d POR and symmetry: %d classes in %v\n", n, r.SymPOR, r.SymPORTime.Round(time.Millisecond))
		}
		if n <= maxSPIN && bench.HaveSPIN() {
			pml, err := props.Promela(c.System, c.Spec.Check.Properties, false)
			if err != nil {
				r.SPINNote = "no Promela: " + err.Error()
			} else {
				bits := 10
				for 1<<bits < 2*max(r.Unreduced, r.POR) {
					bits++
				}
				sr, err := bench.RunSPIN(ctx, pml, spinPOR, spinMemMB, bits, "-O2")
				switch {
				case err != nil:
					r.SPINNote = "failed: " + err.Error()
				case !sr.Complete:
					r.SPINNote = fmt.Sprintf("incomplete after %d states", sr.States)
				default:
					r.SPIN = sr
					fmt.Fprintf(stderr, "perf: N=%d SPIN with its POR: %d states in %v, %d errors\n", n, sr.States, sr.Elapsed.Round(time.Millisecond), sr.Errors)
				}
			}
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// renderPOR is the section's Markdown.
func renderPOR(rows []porRow) string {
	var b strings.Builder
	b.WriteString("\n## With partial-order reduction\n\n")
	b.WriteString("Partial-order reduction (`--por`, on by default for safety properties; `model/por.go`) expands, in\n")
	b.WriteString("each state, a stubborn set: transitions closed under the dependencies computed in that state (what\n")
	b.WriteString("each enabled transition reads and writes there, which watches it fires, which transitions could\n")
	b.WriteString("enable a disabled one), none of whose enabled transitions writes what a property reads (for the\n")
	b.WriteString("step properties that declare per-step reads, what they read on a step that may occur before the set\n")
	b.WriteString("moves), with a move that holds the timers back. The cycle proviso (every cycle of the reduced graph\n")
	b.WriteString("holds a fully expanded state) is checked after the search, over the edges out of reduced states,\n")
	b.WriteString("which the search keeps (`checker/cycle.go`; on a cycle it searches again with the breadth-first\n")
	b.WriteString("proviso, and the family's graph has none). Counts are of states (classes with symmetry) stored;\n")
	b.WriteString("times are the check's on all cores, the cycle check included. SPIN runs the same Promela as above\n")
	b.WriteString("compiled without `-DNOREDUCE` (`-O2 -DSAFETY`), so with its own partial-order reduction; its count\n")
	b.WriteString("is pan's \"states, stored\".\n\n")
	b.WriteString("| N | unreduced | xbcheck POR | unreduced / POR | time | SPIN POR | symmetry alone | symmetry + POR | symmetry / both | time |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	cell := func(n int) string {
		if n == 0 {
			return "-"
		}
		return fmt.Sprint(n)
	}
	ratio := func(a, b int) string {
		if a == 0 || b == 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f×", float64(a)/float64(b))
	}
	dur := func(d time.Duration, n int) string {
		if n == 0 {
			return "-"
		}
		return d.Round(time.Millisecond).String()
	}
	for _, r := range rows {
		spin := "-"
		if r.SPIN != nil {
			spin = fmt.Sprint(r.SPIN.States)
		} else if r.SPINNote != "" {
			spin = r.SPINNote
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.N,
			cell(r.Unreduced), cell(r.POR), ratio(r.Unreduced, r.POR), dur(r.PORTime, r.POR), spin,
			cell(r.Sym), cell(r.SymPOR), ratio(r.Sym, r.SymPOR), dur(r.SymPORTime, r.SymPOR))
	}
	b.WriteString("\nA \"-\" is a run not made (unreduced beyond the N the machine reaches, symmetry beyond its maximum).\n")
	b.WriteString("\nThe same reduction under the breadth-first cycle proviso (`--bfs-proviso`: a state none of whose ample\n")
	b.WriteString("successors is new is expanded fully as the search goes), which the cycle check replaces. It expands\n")
	b.WriteString("fully many states whose graph has no cycle, because one state is reached along paths of different\n")
	b.WriteString("lengths (in the full graph at N = 1, the edges back to a level already searched are mostly watch\n")
	b.WriteString("handlers that run after another path reached their result, such as blkback seeing Closed, and\n")
	b.WriteString("transactions retried after a conflict):\n\n")
	b.WriteString("| N | POR, cycle check | POR, breadth-first proviso | ratio | time | symmetry + POR, cycle check | symmetry + POR, breadth-first proviso | ratio | time |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		if r.BFS == 0 && r.SymBFS == 0 {
			continue
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.N,
			cell(r.POR), cell(r.BFS), ratio(r.BFS, r.POR), dur(r.BFSTime, r.BFS),
			cell(r.SymPOR), cell(r.SymBFS), ratio(r.SymBFS, r.SymPOR), dur(r.SymBFSTime, r.SymBFS))
	}
	return b.String()
}
