package props

import (
	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/model"
)

// genericProperties hold for any configuration: no deadlock, and the
// eventually-properties of completion and connection (checked under weak
// fairness; they have no reads and no SPIN translation).
var genericProperties = []Def{
	{
		Name: "deadlock", Kind: checker.Deadlock, Symmetric: true,
		Doc:   "No reachable state is stuck: every state without successors other than faults (which need not happen) has every actor at a final location (operations done, drivers idle).",
		make:  func(s *model.System) checker.Property { return checker.Property{} },
		reads: func(*model.System, func(int)) bool { return false },
	},
	{
		Name: "operations-complete", Kind: checker.Eventually, Symmetric: true,
		Doc: "L2: under weak fairness every toolstack operation eventually completes (reaches its final location), whatever its rc.",
		make: func(s *model.System) checker.Property {
			ts := toolstack(s)
			return stateProp(func(st model.State) bool {
				for _, a := range ts {
					if !s.Actors[a].Locs[s.LocOf(st, a)].Final {
						return false
					}
				}
				return true
			})
		},
	},
	{
		Name: "operations-succeed", Kind: checker.Eventually, Symmetric: true,
		Doc: "P3b / seed 1's bounded completion: under weak fairness every toolstack operation eventually completes with rc 0.",
		make: func(s *model.System) checker.Property {
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
		},
	},
	{
		Name: "devices-connected", Kind: checker.Eventually, Symmetric: true,
		Doc: "P3b: under weak fairness every device eventually has frontend and backend Connected.",
		make: func(s *model.System) checker.Property {
			return stateProp(func(st model.State) bool {
				for i := range s.Devices {
					d := &s.Devices[i]
					if s.Get(st, d.FEState) != model.StateConnected.Value() || s.Get(st, d.BEState) != model.StateConnected.Value() {
						return false
					}
				}
				return true
			})
		},
	},
	{
		Name: "hotplug-connected", Kind: checker.Eventually, Symmetric: true,
		Doc: "P4c: under weak fairness every device's backend eventually has hotplug-status = connected.",
		make: func(s *model.System) checker.Property {
			connected, _ := s.ValueByName("connected")
			return stateProp(func(st model.State) bool {
				for i := range s.Devices {
					if connected == 0 || s.Get(st, s.Devices[i].Hotplug) != connected {
						return false
					}
				}
				return true
			})
		},
	},
}
