// Package props is the catalogue of named properties xbcheck checks: the
// properties of the seed bugs (xenbus-protocol.md section 9) and the
// generic ones (deadlock, completion, connection). Each is a reusable
// predicate built for a compiled model.System and handed to the checker.
package props

import (
	"fmt"
	"sort"
	"strings"

	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/model"
)

// A Def defines one property for any system.
type Def struct {
	Name string
	Kind checker.Kind
	// Doc says what the property means and where it comes from.
	Doc  string
	make func(s *model.System) checker.Property
	// Symmetric says the predicate treats interchangeable devices alike
	// (it looks at every device the same way), so that symmetry reduction
	// is sound for it; TestSymmetricPropertiesAreSymmetric checks it on
	// the scenarios with symmetry groups.
	Symmetric bool
	// reads lists the state offsets the property's predicate reads, and
	// says whether it inspects transitions' marks: partial-order
	// reduction keeps every transition that writes one of these, or
	// carries a mark, out of its ample sets.
	reads func(s *model.System, add func(off int)) (marks bool)
}

// Defs lists every property, by name.
var Defs = map[string]Def{}

func def(name string, kind checker.Kind, doc string, make func(s *model.System) checker.Property) {
	Defs[name] = Def{Name: name, Kind: kind, Doc: doc, make: make, Symmetric: true}
}

// toolstackTxns adds the open-transaction records of the toolstack's
// actors: a predicate that looks at the operations a step applies
// (forOps) reads which body a commit applies from there.
func toolstackTxns(s *model.System, add func(int)) {
	for _, a := range toolstack(s) {
		for _, o := range s.TxnOffsets(a) {
			add(o)
		}
	}
}

// reads declares, per safety property, the state offsets its predicate
// reads and whether it inspects marks. TestPropertyReadsAreComplete ties
// each to its predicate: changing any other byte of a reachable step
// never changes the predicate's value.
var reads = map[string]func(s *model.System, add func(off int)) bool{
	"result-reflects-state": func(s *model.System, add func(int)) bool {
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
	"no-resurrection": func(s *model.System, add func(int)) bool {
		for i := range s.Devices {
			add(s.PathOffset(s.Devices[i].FEDir))
			add(s.PathOffset(s.Devices[i].BEDir))
		}
		toolstackTxns(s, add)
		return false
	},
	"no-premature-teardown": func(s *model.System, add func(int)) bool {
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
	"wait-only-on-existing-backend": func(s *model.System, add func(int)) bool {
		for i := range s.Devices {
			add(s.PathOffset(s.Devices[i].BEState))
		}
		return true
	},
	"backend-created-by-toolstack": func(s *model.System, add func(int)) bool {
		for i := range s.Devices {
			add(s.PathOffset(s.Devices[i].BEDir))
		}
		return false
	},
	"reconfigure-only-when-connected": func(s *model.System, add func(int)) bool {
		for i := range s.Devices {
			add(s.PathOffset(s.Devices[i].BEState))
		}
		toolstackTxns(s, add)
		return false
	},
	"already-connected-only-if-created": func(s *model.System, add func(int)) bool {
		for i := range s.Devices {
			if p, ok := s.PathByName(s.Paths[s.Devices[i].BEDir].Name + "/frontend-id"); ok {
				add(s.PathOffset(p))
			}
		}
		return true
	},
	"deadlock": func(*model.System, func(int)) bool { return false },
}

// Visible returns the state offsets the named safety properties read and
// whether any inspects marks, for partial-order reduction. Eventually-
// properties are left out: the checker never reduces a search that has
// one. ok is false for an unknown property.
func Visible(s *model.System, names []string) (offs map[int]bool, marks, ok bool) {
	offs = map[int]bool{}
	for _, n := range names {
		if d, known := Defs[n]; known && d.Kind == checker.Eventually {
			continue
		}
		r, found := reads[n]
		if !found {
			return nil, false, false
		}
		if r(s, func(o int) { offs[o] = true }) {
			marks = true
		}
	}
	return offs, marks, true
}

// Names returns the property names in order.
func Names() []string {
	var n []string
	for k := range Defs {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Build returns the named properties for s.
func Build(s *model.System, names []string) ([]checker.Property, error) {
	var out []checker.Property
	for _, n := range names {
		d, ok := Defs[n]
		if !ok {
			return nil, fmt.Errorf("unknown property %q (known: %s)", n, strings.Join(Names(), ", "))
		}
		p := d.make(s)
		p.Name, p.Kind, p.Doc, p.Symmetric = d.Name, d.Kind, d.Doc, d.Symmetric
		out = append(out, p)
	}
	return out, nil
}

func stepProp(f func(pre model.State, t *model.Transition, post model.State) bool, s *model.System) checker.Property {
	return checker.Property{Step: func(pre []byte, id int32, post []byte) bool { return f(pre, &s.Trans[id], post) }}
}

func stateProp(f func(st model.State) bool) checker.Property {
	return checker.Property{State: func(st []byte) bool { return f(st) }}
}

// forOps calls f for every operation t applies when taken in pre.
func forOps(s *model.System, pre model.State, t *model.Transition, f func(op *model.Op)) {
	body, own := s.EffectiveOps(pre, t)
	for i := range body {
		f(&body[i])
	}
	for i := range own {
		f(&own[i])
	}
}

func init() {
	def("result-reflects-state", checker.StepInvariant,
		"P1 (seed 1, 9eaaedfcdee5): when a remove completes, rc == 0 exactly when the frontend directory and the /libxl record are gone; when an add completes with rc == 0, both directories exist.",
		func(s *model.System) checker.Property {
			return stepProp(func(pre model.State, t *model.Transition, post model.State) bool {
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
			}, s)
		})
	def("no-resurrection", checker.StepInvariant,
		"P2 (seed 1; also the 4.2 bodge's unconditional write): the toolstack never re-creates a device directory by writing below it when it is missing; only its create transaction (MKDIR) makes one.",
		func(s *model.System) checker.Property {
			return stepProp(func(pre model.State, t *model.Transition, post model.State) bool {
				if !byToolstack(s, t) {
					return true
				}
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
			}, s)
		})
	def("no-premature-teardown", checker.StepInvariant,
		"S2 (seed 2, the 4.2 qemu bodge): the toolstack removes a qemu-served backend directory, or writes its state Closed itself, only after that qemu has exited.",
		func(s *model.System) checker.Property {
			return stepProp(func(pre model.State, t *model.Transition, post model.State) bool {
				if !byToolstack(s, t) {
					return true
				}
				for i := range s.Devices {
					d := &s.Devices[i]
					if d.QemuActor < 0 {
						continue
					}
					q := &s.Actors[d.QemuActor]
					if q.LocName(s.LocOf(pre, d.QemuActor)) == "exited" {
						continue
					}
					if s.Exists(pre, d.BEDir) && !s.Exists(post, d.BEDir) {
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
			}, s)
		})
	def("wait-only-on-existing-backend", checker.StepInvariant,
		"P3a (seed 3, 0fdb48ffe7a1): libxl__wait_for_backend is invoked only when be/state exists.",
		func(s *model.System) checker.Property {
			return stepProp(func(pre model.State, t *model.Transition, post model.State) bool {
				for _, m := range t.Marks {
					if m.Kind == model.MarkWaitForBackend && !s.Exists(pre, m.Path) {
						return false
					}
				}
				return true
			}, s)
		})
	def("backend-created-by-toolstack", checker.StepInvariant,
		"P4a (seed 4, efe6d12251): a backend directory is created only by the toolstack, never by a backend process writing below a missing one.",
		func(s *model.System) checker.Property {
			return stepProp(func(pre model.State, t *model.Transition, post model.State) bool {
				if byToolstack(s, t) {
					return true
				}
				for i := range s.Devices {
					d := &s.Devices[i]
					if created(s, pre, post, d.BEDir) {
						return false
					}
				}
				return true
			}, s)
		})
	def("reconfigure-only-when-connected", checker.StepInvariant,
		"P3c (seed 3): the toolstack writes be/state = 7 (Reconfiguring) only while be/state is 4 (Connected), the state libxl__wait_for_backend waited for.",
		func(s *model.System) checker.Property {
			return stepProp(func(pre model.State, t *model.Transition, post model.State) bool {
				if !byToolstack(s, t) {
					return true
				}
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
			}, s)
		})
	def("already-connected-only-if-created", checker.StepInvariant,
		"P4b (seed 4): xend raises \"Device ... is already connected\" only for a backend directory holding the toolstack's own entries (frontend-id), not for one another process created.",
		func(s *model.System) checker.Property {
			return stepProp(func(pre model.State, t *model.Transition, post model.State) bool {
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
			}, s)
		})
	def("deadlock", checker.Deadlock,
		"No reachable state is stuck: every state without successors other than faults (which need not happen) has every actor at a final location (operations done, drivers idle).",
		func(s *model.System) checker.Property { return checker.Property{} })
	def("operations-complete", checker.Eventually,
		"L2: under weak fairness every toolstack operation eventually completes (reaches its final location), whatever its rc.",
		func(s *model.System) checker.Property {
			ts := toolstack(s)
			return stateProp(func(st model.State) bool {
				for _, a := range ts {
					if !s.Actors[a].Locs[s.LocOf(st, a)].Final {
						return false
					}
				}
				return true
			})
		})
	def("operations-succeed", checker.Eventually,
		"P3b / seed 1's bounded completion: under weak fairness every toolstack operation eventually completes with rc 0.",
		func(s *model.System) checker.Property {
			ts := toolstack(s)
			rcs := make([]model.VarID, len(ts))
			has := make([]bool, len(ts))
			for i, a := range ts {
				for v := range s.Vars {
					if s.Vars[v].Name == s.Actors[a].Name+".rc" {
						rcs[i], has[i] = model.VarID(v), true
					}
				}
			}
			return stateProp(func(st model.State) bool {
				for i, a := range ts {
					if !s.Actors[a].Locs[s.LocOf(st, a)].Final || (has[i] && s.VarValue(st, rcs[i]) != 0) {
						return false
					}
				}
				return true
			})
		})
	def("devices-connected", checker.Eventually,
		"P3b: under weak fairness every device eventually has frontend and backend Connected.",
		func(s *model.System) checker.Property {
			return stateProp(func(st model.State) bool {
				for i := range s.Devices {
					d := &s.Devices[i]
					if s.Get(st, d.FEState) != model.StateConnected.Value() || s.Get(st, d.BEState) != model.StateConnected.Value() {
						return false
					}
				}
				return true
			})
		})
	def("hotplug-connected", checker.Eventually,
		"P4c: under weak fairness every device's backend eventually has hotplug-status = connected.",
		func(s *model.System) checker.Property {
			connected, _ := s.ValueByName("connected")
			return stateProp(func(st model.State) bool {
				for i := range s.Devices {
					if connected == 0 || s.Get(st, s.Devices[i].Hotplug) != connected {
						return false
					}
				}
				return true
			})
		})
}

// byToolstack reports whether t is a toolstack actor's step.
func byToolstack(s *model.System, t *model.Transition) bool {
	return s.Actors[t.Actor].Kind == model.Toolstack
}

// created reports whether node p is missing before a step and there after.
func created(s *model.System, pre, post model.State, p model.PathID) bool {
	return !s.Exists(pre, p) && s.Exists(post, p)
}

func toolstack(s *model.System) []int {
	var ts []int
	for i := range s.Actors {
		if s.Actors[i].Kind == model.Toolstack {
			ts = append(ts, i)
		}
	}
	return ts
}
