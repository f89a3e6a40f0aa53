package checker

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestArenaCollapsesItsSmallStart fills an arena's first smallArena
// bytes, which stay in 4 KB pages, then hands out one more block: the
// first 4 MB must then be huge pages (collapseSmall), and hold what was
// written to them.
func TestArenaCollapsesItsSmallStart(t *testing.T) {
	a := newArena(64 << 20)
	defer a.close()
	if len(a.mem) == 0 {
		t.Skip("the system refused the mapping")
	}
	const block = 64 << 10
	var blocks [][]byte
	for i := 0; i < smallArena/block; i++ {
		b := a.alloc(block)
		for j := range b {
			b[j] = byte(i + j)
		}
		blocks = append(blocks, b)
	}
	if a.top != smallArena || a.collapseErr != nil {
		t.Fatalf("top %d, collapse %v before the arena passed %d bytes", a.top, a.collapseErr, smallArena)
	}
	a.alloc(arenaAlign) // the first byte past the small start
	if errors.Is(a.collapseErr, syscall.EINVAL) {
		t.Skipf("this kernel does not collapse into huge pages (MADV_COLLAPSE: %v): Linux 6.1 and transparent huge pages needed", a.collapseErr)
	}
	if a.collapseErr != nil {
		t.Fatalf("collapse: %v", a.collapseErr)
	}
	huge, err := anonHugeKB(addrOf(a.mem), smallArena)
	if err != nil {
		t.Fatal(err)
	}
	if huge < smallArena>>10 {
		t.Errorf("the arena's first %d KB hold %d KB of huge pages, want all", smallArena>>10, huge)
	}
	for i, b := range blocks {
		for j, v := range b {
			if v != byte(i+j) {
				t.Fatalf("block %d byte %d is %d after the collapse, want %d", i, j, v, byte(i+j))
			}
		}
	}
}

// anonHugeKB sums the AnonHugePages of the mappings of this process
// (/proc/self/smaps) that overlap [start, start+n).
func anonHugeKB(start uintptr, n int) (int, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in, sum := false, 0
	for sc.Scan() {
		l := sc.Text()
		var lo, hi uintptr
		if _, err := fmt.Sscanf(l, "%x-%x ", &lo, &hi); err == nil && strings.Contains(strings.Fields(l)[0], "-") {
			in = lo < start+uintptr(n) && hi > start
			continue
		}
		var kb int
		if in && strings.HasPrefix(l, "AnonHugePages:") {
			if _, err := fmt.Sscanf(strings.TrimPrefix(l, "AnonHugePages:"), "%d", &kb); err != nil {
				return 0, fmt.Errorf("smaps line %q: %v", l, err)
			}
			sum += kb
		}
	}
	return sum, sc.Err()
}
