package conform

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/xbcheck/xbcheck/model"
)

// searchSys is a writer that writes /x 1 then /x 2, and an idler whose
// one step writes nothing.
func searchSys(t *testing.T) (sys *model.System, x model.PathID, two model.Value, ids map[string]int) {
	b := model.NewBuilder("search")
	x = b.Path("/x")
	one, two := b.Value("1"), b.Value("2")
	w := b.Actor("writer", model.Toolstack, -1, false)
	idle, mid, end := w.Loc("idle", ""), w.Loc("mid", ""), w.Final("end", "")
	w.T(model.Transition{Name: "w1", From: idle, To: mid, Ops: []model.Op{model.Write(x, one)}})
	w.T(model.Transition{Name: "w2", From: mid, To: end, Ops: []model.Op{model.Write(x, two)}})
	i := b.Actor("idler", model.Toolstack, -1, false)
	i.T(model.Transition{Name: "nap", From: i.Loc("awake", ""), To: i.Final("asleep", "")})
	sys, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	ids = map[string]int{}
	for _, tr := range sys.Trans {
		ids[tr.Name] = tr.ID
	}
	return sys, x, two, ids
}

func TestSearch(t *testing.T) {
	sys, x, two, ids := searchSys(t)
	all := func(*model.Transition, model.State, model.State) bool { return true }
	goal := func(st model.State) bool { return sys.Get(st, x) == two }
	init := sys.Initial()

	// The least depth: w1 then w2; the idler's step makes a longer path.
	s := &Search{Sys: sys, Depth: 5, Take: all, Goal: goal}
	found, path := s.Run([]model.State{init})
	if len(found) != 1 || !cmp.Equal(path, []int{ids["w1"], ids["w2"]}) {
		t.Errorf("found %d states by %v, want 1 by [w1 w2] %v", len(found), path, []int{ids["w1"], ids["w2"]})
	}
	// Depth bounds the path.
	s.Depth = 1
	if found, _ := s.Run([]model.State{init}); found != nil {
		t.Errorf("depth 1: found %d states, want none", len(found))
	}
	// Take: without w2 there is no way.
	s = &Search{Sys: sys, Depth: 5, Goal: goal,
		Take: func(t *model.Transition, _, _ model.State) bool { return t.Name != "w2" }}
	if found, _ := s.Run([]model.State{init}); found != nil {
		t.Errorf("without w2: found %d states, want none", len(found))
	}
	// The states searched from are not tested: from a goal state, the
	// idler's step.
	s = &Search{Sys: sys, Depth: 5, Take: all, Goal: goal}
	at := sys.Apply(sys.Apply(init, &sys.Trans[ids["w1"]]), &sys.Trans[ids["w2"]])
	if _, path := s.Run([]model.State{at}); !cmp.Equal(path, []int{ids["nap"]}) {
		t.Errorf("from a goal state: path %v, want [nap]", path)
	}
	// MaxFound ends the search: every state is a goal, two at depth 1
	// (after w1, after nap), but one wanted.
	s = &Search{Sys: sys, Depth: 5, Take: all, Goal: func(model.State) bool { return true }}
	if found, _ := s.Run([]model.State{init}); len(found) != 2 {
		t.Errorf("every state a goal: found %d at depth 1, want 2", len(found))
	}
	s.MaxFound = 1
	if found, path := s.Run([]model.State{init}); len(found) != 1 || len(path) != 1 {
		t.Errorf("MaxFound 1: found %d by %v, want 1 by one step", len(found), path)
	}
}
