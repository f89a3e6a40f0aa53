package conform

import (
	"slices"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/realxs/xstrace"
)

// A Search is a bounded breadth-first search of a model's states: from
// given states, by the transitions it may take, to the states where its
// goal holds, at the least depth. Package conform explains real changes
// with it; package observe explains a live daemon's store, and finds the
// steps real components took without a trace in the store.
type Search struct {
	Sys *model.System
	// Depth bounds the transitions of a path.
	Depth int
	// Take says whether the search may take transition t from pre to
	// post.
	Take func(t *model.Transition, pre, post model.State) bool
	// Goal says whether st is a state searched for.
	Goal func(st model.State) bool
	// MaxFound, when positive, ends the search once it has found that
	// many states.
	MaxFound int
	// MaxFrontier, when positive, bounds the states kept at each depth
	// to go on from.
	MaxFrontier int
}

// Run searches from the states from, which it does not test against
// the goal itself (the caller does, if it should). It returns the goal
// states at the least depth where there are any, in the order found, and
// the path (indexes into System.Trans) to the first; nil when there is
// none within Depth.
func (s *Search) Run(from []model.State) ([]model.State, []int) {
	type node struct {
		st   model.State
		path []int
	}
	sys := s.Sys
	seen := map[uint64]bool{}
	var frontier []node
	for _, st := range from {
		if fp := model.Fingerprint(st); !seen[fp] {
			seen[fp] = true
			frontier = append(frontier, node{st: st})
		}
	}
	full := func(found []model.State) bool { return s.MaxFound > 0 && len(found) >= s.MaxFound }
	var found []model.State
	var first []int
	for depth := 0; depth < s.Depth && len(frontier) > 0 && found == nil; depth++ {
		var next []node
		for _, n := range frontier {
			sys.Successors(n.st, make(model.State, sys.Size()), func(t *model.Transition, post model.State) bool {
				fp := model.Fingerprint(post)
				if seen[fp] || !s.Take(t, n.st, post) {
					return true
				}
				seen[fp] = true
				st := slices.Clone(post)
				path := append(slices.Clone(n.path), t.ID)
				if s.Goal(st) {
					if found == nil {
						first = path
					}
					found = append(found, st)
					return !full(found)
				}
				if s.MaxFrontier <= 0 || len(next) < s.MaxFrontier {
					next = append(next, node{st: st, path: path})
				}
				return true
			})
			if full(found) {
				break
			}
		}
		frontier = next
	}
	return found, first
}

// explain returns the states, reachable from set in at most Depth steps,
// whose compared nodes are target, and one path to the first; nil when
// there is none. Transitions that change a compared node must belong to
// actors; faults only those allowed.
func (c *checker) explain(set []model.State, target string, actors map[int]bool) ([]model.State, []int) {
	seen := map[uint64]bool{}
	var found []model.State
	for _, st := range set {
		if fp := model.Fingerprint(st); !seen[fp] {
			seen[fp] = true
			if c.modelKey(st) == target {
				found = append(found, st)
			}
		}
	}
	if found != nil {
		return found, []int{}
	}
	s := &Search{Sys: c.sys, Depth: c.opts.Depth, MaxFound: c.opts.MaxStates, MaxFrontier: 64 * c.opts.MaxStates,
		Take: func(t *model.Transition, pre, post model.State) bool {
			if t.Fault != "" && !slices.Contains(c.opts.Faults, t.Fault) {
				return false
			}
			return actors[t.Actor] && (c.opts.Observed == nil || c.opts.Observed(t)) || c.modelKey(post) == c.modelKey(pre)
		},
		Goal: func(st model.State) bool { return c.modelKey(st) == target },
	}
	return s.Run(set)
}

// resync returns the states reachable from set by any non-fault steps
// whose compared nodes equal real, or set itself when there are none.
func (c *checker) resync(set []model.State, real xstrace.Store) []model.State {
	all := map[int]bool{}
	for i := range c.sys.Actors {
		all[i] = true
	}
	if next, _ := c.explain(set, c.realKey(real), all); next != nil {
		return next
	}
	return set
}
