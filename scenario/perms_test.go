package scenario

import (
	"path/filepath"
	"testing"

	"github.com/xbcheck/xbcheck/model"
)

// TestNoRequestRefusedInScenarios explores every scenario of scenarios/
// and checks that no request of a modelled actor other than a hostile
// guest is one xenstored refuses (model/perms.go): no READ of a node its
// domain may not read (guards included: a guard reads the nodes it
// tests), no write it may not make. This is what lets the model leave
// read permissions out of the guards, and what says that the engine's
// handling of a refused write (nothing happens) is never taken by the
// protocol's actors with the toolstack's permissions. libxl's
// path_cleanup in a driver domain is the one place where a refusal is
// part of the normal run (its RM of the dom0-owned empty parents,
// libxl__xs_path_cleanup; model/perms.go permOp), and it is not a
// refusal of the request itself. The scenarios with a deliberately
// broken toolstack are left out.
func TestNoRequestRefusedInScenarios(t *testing.T) {
	files, err := filepath.Glob("../scenarios/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, f := range files {
		c, err := Load(f)
		if err != nil {
			t.Fatal(err)
		}
		if c.Spec.Toolstack.GuestWritesBackend {
			// A guest that may write its backend directory can make its
			// own frontend write into a frontend directory the
			// toolstack removed: refused, as it would be for real.
			continue
		}
		s := c.System
		// After a failed request (fault request-fail) the toolstack's
		// permissions may be missing: libxl before 4.19 ignores a failed
		// SET_PERMS or MKDIR of a device directory, which then takes its
		// parent's list (model/libxl/fail.go), and a refusal is what the
		// real driver gets. Those states are left out; docs/model.md
		// "Failing requests" says what the model's drivers do there.
		spent := model.VarID(len(s.Vars))
		for v := range s.Vars {
			if s.Vars[v].Name == "xenstored.failures-left" {
				spent = model.VarID(v)
			}
		}
		seen := map[string]bool{string(s.Initial()): true}
		todo := []model.State{s.Initial()}
		reported := 0
		for len(todo) > 0 && reported < 3 {
			st := todo[len(todo)-1]
			todo = todo[:len(todo)-1]
			s.Successors(st, make(model.State, s.Size()), func(tr *model.Transition, next model.State) bool {
				a := &s.Actors[tr.Actor]
				failed := int(spent) < len(s.Vars) && s.VarValue(st, spent) == 0
				if a.Kind != model.Guest && a.Domain > 0 && !failed {
					if why := refusedIn(s, st, tr, a.Domain); why != "" && reported < 3 {
						reported++
						t.Errorf("%s: %s %q: %s", filepath.Base(f), a.Name, tr.Name, why)
					}
				}
				if !seen[string(next)] {
					seen[string(next)] = true
					todo = append(todo, append(model.State(nil), next...))
				}
				return true
			})
		}
	}
}

// refusedIn says which request of tr, taken in st by domain dom,
// xenstored refuses, or "".
func refusedIn(s *model.System, st model.State, tr *model.Transition, dom int) string {
	for _, c := range tr.Guard {
		switch c.Kind {
		case model.CondPresent, model.CondAbsent, model.CondEq, model.CondNe, model.CondIn:
			op := model.Read(c.Path)
			if s.Refused(st, &op, dom) {
				return "guard reads " + s.Paths[c.Path].Name
			}
		}
	}
	body, own := s.EffectiveOps(st, tr)
	if tr.Kind == model.TxnBody {
		own = tr.Ops // checked when the body runs
	}
	after := append(model.State(nil), st...)
	for _, ops := range [][]model.Op{body, own} {
		for i := range ops {
			if s.Refused(after, &ops[i], dom) {
				return s.FormatOp(ops[i], nil) + " refused"
			}
			if tr.Kind != model.TxnBody {
				s.ApplyOpAs(after, ops[i], dom)
			}
		}
	}
	return ""
}
