package model_test

import (
	"strings"
	"testing"

	"github.com/xbcheck/xbcheck/model"
)

// __xenbus_switch_state (Linux v6.1 xenbus_client.c) returns 0 whatever
// fails; a failed read or write aborts and still sets dev->state, a failed
// start or end leaves it. Either way nothing is written, and only one
// request fails in a run. A step that unregisters the driver has only the
// first variant (xenbus_dev_remove would switch again; see fail.go).
func TestSwitchStateFailures(t *testing.T) {
	b := model.NewBuilder(t.Name())
	b.Domain(1, "G", model.DomainRunning)
	node := b.Path("/local/domain/1/device/vbd/1/state")
	b.Init(node, model.StateConnected.Value())
	a := b.Actor("drv", model.Frontend, -1, true)
	bound := a.Final("bound", "")
	unbound := a.Final("unbound", "")
	cache := a.Var("state", uint8(model.StateConnected))
	a.T(model.Transition{Name: "close", From: bound, To: model.SameLoc,
		Guard: []model.Cond{model.VarEq(cache, uint8(model.StateConnected))},
		Ops:   []model.Op{model.SwitchState(node, model.StateClosing, cache)}})
	a.T(model.Transition{Name: "unregister", From: bound, To: unbound,
		Guard: []model.Cond{model.VarEq(cache, uint8(model.StateClosing))},
		Ops:   []model.Op{model.SwitchState(node, model.StateClosed, cache)},
		Sets:  []model.Set{{Var: cache, Val: uint8(model.StateInitialising)}}})
	b.Allow(model.RequestFailFault)
	sys, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*model.Transition{}
	for i := range sys.Trans {
		byName[sys.Trans[i].Name] = &sys.Trans[i]
	}
	var names []string
	for n := range byName {
		names = append(names, n)
	}
	moves := byName["close (switch to Closing fails, cache moves)"]
	stays := byName["close (switch to Closing fails, cache stays)"]
	if moves == nil || stays == nil {
		t.Fatalf("variants of close missing; have %s", strings.Join(names, "; "))
	}
	if byName["unregister (switch to Closed fails, cache stays)"] != nil || byName["unregister (switch to Closed fails, cache moves)"] == nil {
		t.Errorf("unregister's variants wrong; have %s", strings.Join(names, "; "))
	}
	st := sys.Initial()
	for _, c := range []struct {
		tr   *model.Transition
		want model.XenbusState
	}{{moves, model.StateClosing}, {stays, model.StateConnected}} {
		if !sys.Enabled(st, c.tr) {
			t.Fatalf("%s not enabled", c.tr.Name)
		}
		next := sys.Apply(st, c.tr)
		if sys.Get(next, node) != model.StateConnected.Value() {
			t.Errorf("%s wrote the node", c.tr.Name)
		}
		if got := model.XenbusState(sys.VarValue(next, cache)); got != c.want {
			t.Errorf("%s: cache %s; want %s", c.tr.Name, got, c.want)
		}
		if sys.Enabled(next, moves) || sys.Enabled(next, stays) {
			t.Errorf("after %s another request may fail", c.tr.Name)
		}
	}
}
