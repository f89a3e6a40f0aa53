package props

import (
	"fmt"
	"strings"

	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/model"
)

// seedProperties are the step invariants of the seed bugs
// (xenbus-protocol.md section 9), each with its predicate, what it reads
// and its SPIN translation side by side.
var seedProperties = []Def{
	{
		Name: "result-reflects-state", Kind: checker.StepInvariant, Symmetric: true,
		Doc: "P1 (seed 1, 9eaaedfcdee5): when a remove completes, rc == 0 exactly when the frontend directory and the /libxl record are gone; when an add completes with rc == 0, both directories exist.",
		step: func(s *model.System, pre model.State, t *model.Transition, post model.State) bool {
			for _, m := range t.Marks {
				if m.Kind != model.MarkComplete || m.Device < 0 {
					continue
				}
				d := &s.Devices[m.Device]
				ok := s.VarValue(post, m.Var) == 0
				switch m.Op {
				case "remove":
					gone := !s.Exists(post, d.FEDir) && (d.LibxlDir == model.NoPath || !s.Exists(post, d.LibxlDir))
					if ok != gone {
						return false
					}
				case "add", "pci-add":
					if ok && (!s.Exists(post, d.FEDir) || !s.Exists(post, d.BEDir)) {
						return false
					}
				}
			}
			return true
		},
		reads: func(s *model.System, add func(int)) bool {
			for i := range s.Devices {
				add(s.PathOffset(s.Devices[i].FEDir))
				add(s.PathOffset(s.Devices[i].BEDir))
				if s.Devices[i].LibxlDir != model.NoPath {
					add(s.PathOffset(s.Devices[i].LibxlDir))
				}
			}
			for v := range s.Vars {
				if strings.HasSuffix(s.Vars[v].Name, ".rc") {
					add(s.VarOffset(model.VarID(v)))
				}
			}
			return true
		},
		// On a completion of device d: d's directories, the rc and, for a
		// commit, the body it applies (what is left of the directories).
		stepReads: func(s *model.System, t *model.Transition, add func(int)) {
			judged := false
			for _, m := range t.Marks {
				if m.Kind != model.MarkComplete || m.Device < 0 {
					continue
				}
				d := &s.Devices[m.Device]
				switch m.Op {
				case "remove":
					add(s.PathOffset(d.FEDir))
					if d.LibxlDir != model.NoPath {
						add(s.PathOffset(d.LibxlDir))
					}
				case "add", "pci-add":
					add(s.PathOffset(d.FEDir))
					add(s.PathOffset(d.BEDir))
				default:
					continue
				}
				add(s.VarOffset(m.Var))
				judged = true
			}
			if judged {
				commitTxn(s, t, add)
			}
		},
		promela: func(s *model.System, t, body *model.Transition, pre, post func(int) string) []string {
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
			return cs
		},
	},
	{
		Name: "no-resurrection", Kind: checker.StepInvariant, Symmetric: true,
		Doc: "P2 (seed 1; also the 4.2 bodge's unconditional write): the toolstack never re-creates a device directory by writing below it when it is missing; only its create transaction (MKDIR) makes one.",
		by:  toolstackSteps,
		step: func(s *model.System, pre model.State, t *model.Transition, post model.State) bool {
			for i := range s.Devices {
				d := &s.Devices[i]
				for _, dir := range [2]model.PathID{d.FEDir, d.BEDir} {
					if !created(s, pre, post, dir) {
						continue
					}
					made := false
					forOps(s, pre, t, func(op *model.Op) {
						if op.Kind == model.OpMkdir && op.Path == dir {
							made = true
						}
					})
					if !made {
						return false
					}
				}
			}
			return true
		},
		reads: deviceReads(withTxns, feDir, beDir),
		// On a toolstack step: the device directories it may create and,
		// for a commit, the body it applies.
		stepReads: func(s *model.System, t *model.Transition, add func(int)) {
			if !byToolstack(s, t) {
				return
			}
			judged := false
			for i := range s.Devices {
				d := &s.Devices[i]
				for _, dir := range [2]model.PathID{d.FEDir, d.BEDir} {
					if s.MayCreate(t, dir) {
						add(s.PathOffset(dir))
						judged = true
					}
				}
			}
			if judged {
				commitTxn(s, t, add)
			}
		},
		promela: func(s *model.System, t, body *model.Transition, pre, post func(int) string) []string {
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
			return cs
		},
	},
	{
		Name: "no-premature-teardown", Kind: checker.StepInvariant, Symmetric: true,
		Doc: "S2 (seed 2, the 4.2 qemu bodge): the toolstack writes a qemu-served backend's state Closed itself only after that qemu has exited, and removes its directory only after that qemu has exited or has closed the device itself (written Closed, as on a single device's remove, where qemu keeps running).",
		by:  toolstackSteps,
		step: func(s *model.System, pre model.State, t *model.Transition, post model.State) bool {
			for i := range s.Devices {
				d := &s.Devices[i]
				if d.QemuActor < 0 {
					continue
				}
				q := &s.Actors[d.QemuActor]
				if q.LocName(s.LocOf(pre, d.QemuActor)) == "exited" {
					continue
				}
				// A device qemu has closed (state Closed: the toolstack's
				// own write of it is caught below) is qemu's no more:
				// removing it is the normal end of a remove.
				if s.Exists(pre, d.BEDir) && !s.Exists(post, d.BEDir) && s.Get(pre, d.BEState) != model.StateClosed.Value() {
					return false
				}
				bad := false
				forOps(s, pre, t, func(op *model.Op) {
					if op.Kind == model.OpWrite && op.Path == d.BEState && op.Val == model.StateClosed.Value() {
						bad = true
					}
				})
				if bad {
					return false
				}
			}
			return true
		},
		reads: func(s *model.System, add func(int)) bool {
			for i := range s.Devices {
				d := &s.Devices[i]
				add(s.PathOffset(d.BEDir))
				add(s.PathOffset(d.BEState))
				if d.QemuActor >= 0 {
					add(s.VarOffset(s.Actors[d.QemuActor].Loc))
				}
			}
			toolstackTxns(s, add)
			return false
		},
		promela: func(s *model.System, t, body *model.Transition, pre, post func(int) string) []string {
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
				bad := fmt.Sprintf("(%s && %s && %s != %d)", present(pre, s.PathOffset(d.BEDir)), absent(post, s.PathOffset(d.BEDir)), pre(s.PathOffset(d.BEState)), model.StateClosed.Value())
				for _, op := range ops {
					if op.Kind == model.OpWrite && op.Path == d.BEState && op.Val == model.StateClosed.Value() {
						bad = "true"
					}
				}
				cs = append(cs, fmt.Sprintf("(%s || !%s)", exited, bad))
			}
			return cs
		},
	},
	{
		Name: "wait-only-on-existing-backend", Kind: checker.StepInvariant, Symmetric: true,
		Doc: "P3a (seed 3, 0fdb48ffe7a1): libxl__wait_for_backend is invoked only when be/state exists.",
		step: func(s *model.System, pre model.State, t *model.Transition, post model.State) bool {
			for _, m := range t.Marks {
				if m.Kind == model.MarkWaitForBackend && !s.Exists(pre, m.Path) {
					return false
				}
			}
			return true
		},
		reads: deviceReads(withMarks, beState),
		// On a step that invokes libxl__wait_for_backend: its node.
		stepReads: func(s *model.System, t *model.Transition, add func(int)) {
			for _, m := range t.Marks {
				if m.Kind == model.MarkWaitForBackend {
					add(s.PathOffset(m.Path))
				}
			}
		},
		promela: func(s *model.System, t, body *model.Transition, pre, post func(int) string) []string {
			var cs []string
			for _, m := range t.Marks {
				if m.Kind == model.MarkWaitForBackend {
					cs = append(cs, present(pre, s.PathOffset(m.Path)))
				}
			}
			return cs
		},
	},
	{
		Name: "backend-created-by-toolstack", Kind: checker.StepInvariant, Symmetric: true,
		Doc: "P4a (seed 4, efe6d12251): a backend directory is created only by the toolstack, never by a backend process writing below a missing one.",
		by:  otherSteps,
		step: func(s *model.System, pre model.State, t *model.Transition, post model.State) bool {
			for i := range s.Devices {
				d := &s.Devices[i]
				if created(s, pre, post, d.BEDir) {
					return false
				}
			}
			return true
		},
		reads: deviceReads(0, beDir),
		// On another actor's step: the backend directories it may create
		// and, for a commit, the body it applies.
		stepReads: func(s *model.System, t *model.Transition, add func(int)) {
			if byToolstack(s, t) {
				return
			}
			judged := false
			for i := range s.Devices {
				if d := &s.Devices[i]; s.MayCreate(t, d.BEDir) {
					add(s.PathOffset(d.BEDir))
					judged = true
				}
			}
			if judged {
				commitTxn(s, t, add)
			}
		},
		promela: func(s *model.System, t, body *model.Transition, pre, post func(int) string) []string {
			var cs []string
			for i := range s.Devices {
				cs = append(cs, "!"+pmlCreated(s, pre, post, s.Devices[i].BEDir))
			}
			return cs
		},
	},
	{
		Name: "reconfigure-only-when-connected", Kind: checker.StepInvariant, Symmetric: true,
		Doc: "P3c (seed 3): the toolstack writes be/state = 7 (Reconfiguring) only while be/state is 4 (Connected), the state libxl__wait_for_backend waited for.",
		by:  toolstackSteps,
		step: func(s *model.System, pre model.State, t *model.Transition, post model.State) bool {
			ok := true
			forOps(s, pre, t, func(op *model.Op) {
				if op.Kind != model.OpWrite || op.Val != model.StateReconfiguring.Value() {
					return
				}
				for i := range s.Devices {
					if s.Devices[i].BEState == op.Path && s.Get(pre, op.Path) != model.StateConnected.Value() {
						ok = false
					}
				}
			})
			return ok
		},
		reads: deviceReads(withTxns, beState),
		promela: func(s *model.System, t, body *model.Transition, pre, post func(int) string) []string {
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
			return cs
		},
	},
	{
		Name: "already-connected-only-if-created", Kind: checker.StepInvariant, Symmetric: true,
		Doc: "P4b (seed 4): xend raises \"Device ... is already connected\" only for a backend directory holding the toolstack's own entries (frontend-id), not for one another process created.",
		step: func(s *model.System, pre model.State, t *model.Transition, post model.State) bool {
			for _, m := range t.Marks {
				if m.Kind != model.MarkRaise {
					continue
				}
				d := &s.Devices[m.Device]
				p, ok := s.PathByName(s.Paths[d.BEDir].Name + "/frontend-id")
				if !ok || !s.Exists(pre, p) {
					return false
				}
			}
			return true
		},
		reads: func(s *model.System, add func(int)) bool {
			for i := range s.Devices {
				if p, ok := s.PathByName(s.Paths[s.Devices[i].BEDir].Name + "/frontend-id"); ok {
					add(s.PathOffset(p))
				}
			}
			return true
		},
		// On a step that raises "already connected": that device's
		// frontend-id.
		stepReads: func(s *model.System, t *model.Transition, add func(int)) {
			for _, m := range t.Marks {
				if m.Kind != model.MarkRaise {
					continue
				}
				if p, ok := s.PathByName(s.Paths[s.Devices[m.Device].BEDir].Name + "/frontend-id"); ok {
					add(s.PathOffset(p))
				}
			}
		},
		promela: func(s *model.System, t, body *model.Transition, pre, post func(int) string) []string {
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
			return cs
		},
	},
}
