package model_test

import (
	"bytes"
	"testing"

	"github.com/xbcheck/xbcheck/model"
)

// TestAppendApply: on the reachable steps of every scenario (up to 2,000
// each), AppendApply over a buffer that holds an unrelated state (the one
// before, bytes of another length) gives the state the walk reached, and
// reuses the buffer when it is large enough.
func TestAppendApply(t *testing.T) {
	systems := loadSystems(t, "../scenarios/*.toml")
	if len(systems) == 0 {
		t.Fatal("no scenarios")
	}
	steps := 0
	for name, sys := range systems {
		buf := make(model.State, 3, 1<<10)
		for i := range buf {
			buf[i] = 0xEE
		}
		n := 0
		sys.Walk(nil, func(st model.State, tr *model.Transition, next model.State) bool {
			steps++
			n++
			got := sys.AppendApply(buf, st, tr)
			if !bytes.Equal(got, next) {
				t.Fatalf("%s: AppendApply of %q over a used buffer: %x, want %x", name, tr.Name, got, next)
			}
			if len(st) <= cap(buf) && &got[0] != &buf[:1][0] {
				t.Fatalf("%s: AppendApply allocated with room in the buffer", name)
			}
			buf = got
			return n < 2000
		})
	}
	if steps < 1000 {
		t.Fatalf("only %d steps walked", steps)
	}
	t.Logf("%d steps", steps)
}
