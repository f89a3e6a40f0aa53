package checker

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
)

// The memory budget (Options.MemoryBudget) bounds the whole process, not
// only the seen set. At the start of a check the budget is split:
//
//   - what the process holds outside the Go runtime (its code and data
//     pages: resident memory the runtime does not manage), measured, and
//     a small share for what it may come to hold there;
//   - the runtime's soft limit (runtime/debug.SetMemoryLimit), the rest,
//     so that the garbage collector returns garbage (old tables, old
//     frontiers) to the system before the process reaches the budget;
//   - of that limit, what the process already holds (the model, the
//     scenario, the runtime's own structures), measured after a
//     collection, and a share left for the collector to work in
//     (garbage between collections, the runtime's bookkeeping);
//   - the rest is what the explorer's own structures may hold: the seen
//     set, the parent links, the graph, the frontier, the level's
//     candidates and the per-worker scratch, counted by capacity.
//
// The explorer checks the limit while a level expands (each chunk's
// growth), before the seen set grows (old and new table together), and
// before a level is committed (its new frontier, parent links, graph and,
// for the eventually-properties, the analysis that follows the search).
// When a level would pass the limit it is abandoned, the seen set is put
// back as it was before the level (fpset.undo, stateSet.undo),
// and the verdict is unknown: the exploration's state is the one at the
// start of that level, which a checkpoint can save.

// checkGCPercent is the garbage collector's target during a check (the
// heap may grow by this percentage of what is live before a collection),
// unless GOGC sets another: the explorer's structures are large and long-
// lived (the seen set, the parent links, two levels of frontier), and the
// default of 100 would let the process hold as much again in garbage. A
// collection costs little here: the large arrays hold no pointers.
const checkGCPercent = 25

// tuneGC sets the collector's target for a check, when the process runs
// with the default (GOGC unset), and returns the function that restores
// it.
func tuneGC() func() {
	prev := debug.SetGCPercent(checkGCPercent)
	if prev != 100 {
		debug.SetGCPercent(prev) // GOGC was set: keep it
		return func() {}
	}
	return func() { debug.SetGCPercent(prev) }
}

// outsideShare is the share of the budget kept for what the process may
// come to hold outside the runtime after the measurement (code pages run
// for the first time, the system's bookkeeping).
const outsideShare = 0.02

// gcShare is the share of the runtime's soft limit left to the garbage
// collector: the explorer's structures stay below the rest.
const gcShare = 0.10

// analysisBytesPerState is what the eventually-properties' analysis
// (liveness.go: BFS distances and parents, Tarjan's arrays and stacks,
// the components' member lists) needs per recorded state, at most.
const analysisBytesPerState = 72

// A budget is the split of Options.MemoryBudget for one check.
type budget struct {
	total int64 // the whole process
	soft  int64 // the runtime's soft limit
	base  int64 // what the process held when the check started
	limit int64 // what the explorer's structures may hold
	prev  int64 // the soft limit before the check, restored after it
}

// newBudget measures the process and sets the runtime's soft limit.
func newBudget(total int64) *budget {
	runtime.GC()
	mapped, inUse := goMemory()
	outside := int64(0)
	if rss := residentBytes(); rss > mapped {
		outside = rss - mapped
	}
	b := &budget{total: total, base: inUse + outside}
	b.soft = total - outside - int64(float64(total)*outsideShare)
	b.limit = int64(float64(b.soft)*(1-gcShare)) - inUse
	soft := b.soft
	if soft < inUse {
		soft = inUse // the check stops at once; do not make the collector thrash meanwhile
	}
	b.prev = debug.SetMemoryLimit(soft)
	return b
}

// restore puts back the soft limit the runtime had before the check.
func (b *budget) restore() { debug.SetMemoryLimit(b.prev) }

// goMemory returns the memory the Go runtime has mapped and not returned
// to the system, and of that the part in use (all but free heap pages).
func goMemory() (mapped, inUse int64) {
	s := []metrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
	}
	metrics.Read(s)
	v := func(i int) int64 {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return int64(s[i].Value.Uint64())
	}
	mapped = v(0) - v(1)
	return mapped, mapped - v(2)
}

// residentBytes returns the process's resident set size (Linux: from
// /proc/self/statm), or 0 where it cannot be read.
func residentBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}

// ProcessMemory returns the memory the process holds: its resident set
// where the system says (Linux), otherwise what the Go runtime has mapped
// and not returned. Progress reports it against the budget.
func ProcessMemory() int64 {
	if rss := residentBytes(); rss > 0 {
		return rss
	}
	mapped, _ := goMemory()
	return mapped
}

// growTo returns s with room for extra more elements, reallocated to 5/4
// of what it needs when it has not (append would double a large slice's
// capacity only to leave much of it unused).
func growTo[T any](s []T, extra int) []T {
	if cap(s)-len(s) >= extra {
		return s
	}
	n := len(s) + extra
	t := make([]T, len(s), n+n/4)
	copy(t, s)
	return t
}

// growBytes is the size of the new array growTo(s, extra) allocates (0
// when s has room), for elements of elem bytes.
func growBytes[T any](s []T, extra int, elem int64) int64 {
	if cap(s)-len(s) >= extra {
		return 0
	}
	n := len(s) + extra
	return int64(n+n/4) * elem
}

// MB formats a byte count in megabytes (10^6), for reports.
func MB(b int64) string {
	return fmt.Sprintf("%.0f MB", float64(b)/1e6)
}

// overReason says why the budget stops a search at the start of depth:
// need is what the explorer's structures would hold, or 0 when it is
// only known to be more than the limit (a level stopped while expanding).
func (b *budget) overReason(need int64, depth, states int) string {
	what := "more than"
	if need > 0 {
		what = "about " + MB(need) + ", more than"
	}
	return fmt.Sprintf("memory budget reached: depth %d needs %s the %s of the %s budget the search may hold; stopped at depth %d with %d states found",
		depth+1, what, MB(max(0, b.limit)), MB(b.total), depth, states)
}
