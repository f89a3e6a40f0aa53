package props

import (
	"fmt"
	"strings"

	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/model"
)

// promela holds, per safety property, its translation for SPIN: the
// condition its predicate checks on a step, written over the bytes before
// and after it (model.PromelaCheck). Each mirrors the Go predicate in
// props.go; bench's TestSPINFindsTheSameViolations checks that SPIN finds
// what the checker finds.
var promela = map[string]func(s *model.System, t, body *model.Transition, pre, post func(int) string) string{
	"result-reflects-state": func(s *model.System, t, body *model.Transition, pre, post func(int) string) string {
		var cs []string
		for _, m := range t.Marks {
			if m.Kind != model.MarkComplete || m.Device < 0 {
				continue
			}
			d := &s.Devices[m.Device]
			ok := fmt.Sprintf("(%s == 0)", post(s.VarOffset(m.Var)))
			switch m.Op {
			case "remove":
				gone := absent(post, s.PathOffset(d.FEDir))
				if d.LibxlDir != model.NoPath {
					gone += " && " + absent(post, s.PathOffset(d.LibxlDir))
				}
				cs = append(cs, fmt.Sprintf("(%s == (%s))", ok, gone))
			case "add", "pci-add":
				cs = append(cs, fmt.Sprintf("(!%s || (%s && %s))", ok, present(post, s.PathOffset(d.FEDir)), present(post, s.PathOffset(d.BEDir))))
			}
		}
		return strings.Join(cs, " && ")
	},
	"no-resurrection": func(s *model.System, t, body *model.Transition, pre, post func(int) string) string {
		if s.Actors[t.Actor].Kind != model.Toolstack {
			return ""
		}
		ops := model.StepOps(t, body)
		var cs []string
		for i := range s.Devices {
			d := &s.Devices[i]
			for _, dir := range [2]model.PathID{d.FEDir, d.BEDir} {
				made := false
				for _, op := range ops {
					if op.Kind == model.OpMkdir && op.Path == dir {
						made = true
					}
				}
				if !made {
					cs = append(cs, "!"+pmlCreated(s, pre, post, dir))
				}
			}
		}
		return strings.Join(cs, " && ")
	},
	"no-premature-teardown": func(s *model.System, t, body *model.Transition, pre, post func(int) string) string {
		if s.Actors[t.Actor].Kind != model.Toolstack {
			return ""
		}
		ops := model.StepOps(t, body)
		var cs []string
		for i := range s.Devices {
			d := &s.Devices[i]
			if d.QemuActor < 0 {
				continue
			}
			q := &s.Actors[d.QemuActor]
			exited := "false"
			if l, ok := q.LocByName("exited"); ok {
				exited = fmt.Sprintf("%s == %d", pre(s.VarOffset(q.Loc)), l)
			}
			bad := fmt.Sprintf("(%s && %s)", present(pre, s.PathOffset(d.BEDir)), absent(post, s.PathOffset(d.BEDir)))
			for _, op := range ops {
				if op.Kind == model.OpWrite && op.Path == d.BEState && op.Val == model.StateClosed.Value() {
					bad = "true"
				}
			}
			cs = append(cs, fmt.Sprintf("(%s || !%s)", exited, bad))
		}
		return strings.Join(cs, " && ")
	},
	"wait-only-on-existing-backend": func(s *model.System, t, body *model.Transition, pre, post func(int) string) string {
		var cs []string
		for _, m := range t.Marks {
			if m.Kind == model.MarkWaitForBackend {
				cs = append(cs, present(pre, s.PathOffset(m.Path)))
			}
		}
		return strings.Join(cs, " && ")
	},
	"backend-created-by-toolstack": func(s *model.System, t, body *model.Transition, pre, post func(int) string) string {
		if s.Actors[t.Actor].Kind == model.Toolstack {
			return ""
		}
		var cs []string
		for i := range s.Devices {
			cs = append(cs, "!"+pmlCreated(s, pre, post, s.Devices[i].BEDir))
		}
		return strings.Join(cs, " && ")
	},
	"reconfigure-only-when-connected": func(s *model.System, t, body *model.Transition, pre, post func(int) string) string {
		if s.Actors[t.Actor].Kind != model.Toolstack {
			return ""
		}
		var cs []string
		for _, op := range model.StepOps(t, body) {
			if op.Kind != model.OpWrite || op.Val != model.StateReconfiguring.Value() {
				continue
			}
			for i := range s.Devices {
				if s.Devices[i].BEState == op.Path {
					cs = append(cs, fmt.Sprintf("%s == %d", pre(s.PathOffset(op.Path)), model.StateConnected.Value()))
				}
			}
		}
		return strings.Join(cs, " && ")
	},
	"already-connected-only-if-created": func(s *model.System, t, body *model.Transition, pre, post func(int) string) string {
		var cs []string
		for _, m := range t.Marks {
			if m.Kind != model.MarkRaise {
				continue
			}
			p, ok := s.PathByName(s.Paths[s.Devices[m.Device].BEDir].Name + "/frontend-id")
			if !ok {
				cs = append(cs, "false")
				continue
			}
			cs = append(cs, present(pre, s.PathOffset(p)))
		}
		return strings.Join(cs, " && ")
	},
}

func present(v func(int) string, o int) string { return fmt.Sprintf("(%s != 0)", v(o)) }
func absent(v func(int) string, o int) string  { return fmt.Sprintf("(%s == 0)", v(o)) }

// pmlCreated is "node p is missing before the step and there after".
func pmlCreated(s *model.System, pre, post func(int) string, p model.PathID) string {
	return fmt.Sprintf("(%s && %s)", absent(pre, s.PathOffset(p)), present(post, s.PathOffset(p)))
}

// Promela returns the SPIN translation of s with the named properties as
// assertions and, when deadlock is among them, SPIN's end-state check; it
// fails for a property with no translation (the eventually-properties).
// multiCore is model.System.Promela's.
func Promela(s *model.System, names []string, multiCore bool) (string, error) {
	var checks []model.PromelaCheck
	deadlock := false
	for _, n := range names {
		d, ok := Defs[n]
		switch {
		case !ok:
			return "", fmt.Errorf("unknown property %q", n)
		case d.Kind == checker.Deadlock:
			deadlock = true
			continue
		}
		f, ok := promela[n]
		if !ok {
			return "", fmt.Errorf("promela: %s (%s) has no translation", n, d.Kind)
		}
		checks = append(checks, model.PromelaCheck{Name: n, Step: func(t, body *model.Transition, pre, post func(int) string) string {
			return f(s, t, body, pre, post)
		}})
	}
	return s.Promela(checks, deadlock, multiCore)
}
