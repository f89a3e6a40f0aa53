package model_test

import (
	"path/filepath"
	"testing"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/scenario"
)

// TestPermanentPathsExist: the nodes partial-order reduction takes as
// permanent (writes below them never create them) exist in every
// reachable state of every scenario, and some are found (else the test
// shows nothing).
func TestPermanentPathsExist(t *testing.T) {
	files, _ := filepath.Glob("../scenarios/*.toml")
	found := 0
	for _, f := range files {
		c, err := scenario.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		sys := c.System
		perm := sys.PermanentPaths()
		init := sys.Initial()
		seen := map[string]bool{string(init): true}
		queue := []model.State{init}
		buf := make(model.State, sys.Size())
		for len(queue) > 0 {
			st := queue[0]
			queue = queue[1:]
			for p, ok := range perm {
				if ok && !sys.Exists(st, model.PathID(p)) {
					t.Errorf("%s: %s is taken as permanent but is missing in a reachable state", filepath.Base(f), sys.Paths[p].Name)
					return
				}
			}
			sys.Successors(st, buf, func(_ *model.Transition, next model.State) bool {
				if !seen[string(next)] {
					seen[string(next)] = true
					queue = append(queue, append(model.State(nil), next...))
				}
				return true
			})
		}
		for _, ok := range perm {
			if ok {
				found++
			}
		}
	}
	if found == 0 {
		t.Error("no permanent node in any scenario")
	}
}
