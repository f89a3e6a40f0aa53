package props

import (
	"fmt"

	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/model"
)

// securityProperties are what a guest, hostile or not, can do to xenstore
// under the permissions the toolstack sets (model/perms.go,
// xenbus-protocol.md 2.3). Scenarios make a guest hostile with the fault
// "hostile:<domain>" (model.AddHostileGuest); that a toolstack operation
// on a hostile guest's device still completes is operations-complete
// checked with that fault allowed.
var securityProperties = []Def{
	{
		Name: "guest-changes-own-nodes-only", Kind: checker.StepInvariant, Symmetric: true,
		Doc:   "Security: nothing outside an unprivileged domain's own nodes changes by its hand: a step of an actor in domain d > 0 changes (writes, creates or removes) only nodes d owns in the toolstack's layout (a guest: its devices' frontend directories; a driver domain: its backend directories). Source: the lists of libxl__device_generic_add (libxl_device.c) and libxl__domain_make (libxl_create.c), RELEASE-4.17.0, checked by xenstored's perm_for_conn (xenstored_core.c).",
		step:  ownNodesOnly,
		reads: allPathReads(false),
		promela: func(s *model.System, t, _ *model.Transition, pre, post func(int) string) []string {
			d := s.Actors[t.Actor].Domain
			if d <= 0 {
				return nil
			}
			return unchanged(s, foreignPaths(s, d), pre, post)
		},
	},
	{
		Name: "guest-cannot-write-readonly", Kind: checker.Invariant, Symmetric: true,
		Doc: "Security: an unprivileged domain never has write access to a node meant to be read-only for it: every existing node that the toolstack's layout gives to another owner (backend directories, the domain's home and device directory, /libxl, other domains' nodes) denies it WRITE in its current permission list, inherited or set. Source: libxl__device_generic_add's frontend_perms and backend_perms, libxl__domain_make's roperm and noperm (RELEASE-4.17.0), xenstored_core.c perm_for_conn and construct_node.",
		make: func(s *model.System) checker.Property {
			var doms []int
			for d := range s.Domains {
				if d > 0 {
					doms = append(doms, d)
				}
			}
			return stateProp(func(st model.State) bool {
				for i := range s.Paths {
					p := model.PathID(i)
					if !s.Exists(st, p) {
						continue
					}
					acl := s.ACLOf(st, p)
					for _, d := range doms {
						if s.Paths[i].Owner != d && acl.For(d)&model.PermWrite != 0 {
							return false
						}
					}
				}
				return true
			})
		},
		reads: allPathReads(true),
	},
	{
		Name: "backend-written-by-trusted", Kind: checker.StepInvariant, Symmetric: true,
		Doc:  "Security: a device's backend directory changes only by the hand of dom0 (toolstack, scripts, qemu, dom0's backends), of the backend domain, or of xenstored; never by an actor of the frontend's domain. So a backend only ever sees its own state and the toolstack's entries there, and takes no step its code does not take on them. Source: backend_perms [{backend, NONE}, {guest, READ}] of libxl__device_generic_add (libxl_device.c, RELEASE-4.17.0).",
		step: backendUntouchedByGuest,
		reads: func(s *model.System, add func(int)) bool {
			for _, ps := range backendSubtrees(s) {
				for _, p := range ps {
					add(s.PathOffset(p))
				}
			}
			return false
		},
		promela: func(s *model.System, t, _ *model.Transition, pre, post func(int) string) []string {
			return unchanged(s, guestsBackendPaths(s, s.Actors[t.Actor].Domain), pre, post)
		},
	},
}

// ownNodesOnly: a step of an actor in domain d > 0 changes only nodes d
// owns.
func ownNodesOnly(s *model.System, pre model.State, t *model.Transition, post model.State) bool {
	d := s.Actors[t.Actor].Domain
	if d <= 0 {
		return true
	}
	for i := range s.Paths {
		if o := s.PathOffset(model.PathID(i)); s.Paths[i].Owner != d && pre[o] != post[o] {
			return false
		}
	}
	return true
}

// backendUntouchedByGuest: a step of an actor in a device's frontend
// domain (not also its backend domain) changes nothing in the device's
// backend directory.
func backendUntouchedByGuest(s *model.System, pre model.State, t *model.Transition, post model.State) bool {
	d := s.Actors[t.Actor].Domain
	if d <= 0 {
		return true
	}
	for di := range s.Devices {
		dev := &s.Devices[di]
		if d != dev.FEDom || d == dev.BEDom {
			continue
		}
		for i := range s.Paths {
			o := s.PathOffset(model.PathID(i))
			if pre[o] != post[o] && within(s, model.PathID(i), dev.BEDir) {
				return false
			}
		}
	}
	return true
}

// within reports whether node p is dir or below it, by the nodes'
// parents (every ancestor of a node is a node: Builder.Path).
func within(s *model.System, p, dir model.PathID) bool {
	for ; p != model.NoPath; p = s.Paths[p].Parent {
		if p == dir {
			return true
		}
	}
	return false
}

// foreignPaths lists the nodes domain d does not own.
func foreignPaths(s *model.System, d int) []model.PathID {
	var ps []model.PathID
	for i := range s.Paths {
		if s.Paths[i].Owner != d {
			ps = append(ps, model.PathID(i))
		}
	}
	return ps
}

// guestsBackendPaths lists the backend nodes of the devices whose
// frontend is in domain d and whose backend is not (none for d <= 0).
func guestsBackendPaths(s *model.System, d int) []model.PathID {
	if d <= 0 {
		return nil
	}
	var ps []model.PathID
	for di, sub := range backendSubtrees(s) {
		if dev := &s.Devices[di]; d == dev.FEDom && d != dev.BEDom {
			ps = append(ps, sub...)
		}
	}
	return ps
}

// unchanged is the SPIN condition that the nodes ps keep their bytes.
func unchanged(s *model.System, ps []model.PathID, pre, post func(int) string) []string {
	var cs []string
	for _, p := range ps {
		o := s.PathOffset(p)
		cs = append(cs, fmt.Sprintf("%s == %s", pre(o), post(o)))
	}
	return cs
}

// allPathReads declares that a property reads every node (and, with
// perms, every node's SET_PERMS flag).
func allPathReads(perms bool) func(s *model.System, add func(int)) bool {
	return func(s *model.System, add func(int)) bool {
		for i := range s.Paths {
			add(s.PathOffset(model.PathID(i)))
			if o := s.PermFlagOffset(model.PathID(i)); perms && o >= 0 {
				add(o)
			}
		}
		return false
	}
}

// backendSubtrees lists, per device, its backend directory and the nodes
// below it.
func backendSubtrees(s *model.System) [][]model.PathID {
	out := make([][]model.PathID, len(s.Devices))
	for di := range s.Devices {
		for i := range s.Paths {
			if within(s, model.PathID(i), s.Devices[di].BEDir) {
				out[di] = append(out[di], model.PathID(i))
			}
		}
	}
	return out
}
