package model

// permanentPaths finds the nodes that exist initially and that no
// operation of any transition can remove.
func (s *System) permanentPaths() []bool {
	removable := make([]bool, len(s.Paths))
	var sub func(p PathID)
	sub = func(p PathID) {
		removable[p] = true
		for _, c := range s.Paths[p].Children {
			sub(c)
		}
	}
	var cleanups []PathID
	for ti := range s.Trans {
		for _, op := range s.Trans[ti].Ops {
			switch op.Kind {
			case OpRm:
				sub(op.Path)
			case OpCleanup:
				sub(op.Path)
				cleanups = append(cleanups, op.Path)
			case OpDomainGone:
				if s.RemoveOwnedOnDeath {
					for i := range s.Paths {
						if s.Paths[i].Owner == op.Dom {
							sub(PathID(i))
						}
					}
				}
			}
		}
	}
	permanent := func(p PathID) bool { return s.init[p] != byte(Absent) && !removable[p] }
	// path_cleanup removes an ancestor only once it is empty: never when it
	// keeps a permanent child. A node found removable can make its parent
	// removable in turn, so the passes go on to a fixpoint.
	for changed := true; changed; {
		changed = false
		for _, t := range cleanups {
			child := t
			for q := s.Paths[t].Parent; q != NoPath; child, q = q, s.Paths[q].Parent {
				keeps := false
				for _, c := range s.Paths[q].Children {
					if c != child && permanent(c) {
						keeps = true
					}
				}
				if keeps || q == 0 {
					break
				}
				if !removable[q] {
					removable[q] = true
					changed = true
				}
				// Its subtree goes with it.
				var sub func(p PathID)
				sub = func(p PathID) {
					if !removable[p] {
						removable[p] = true
						changed = true
					}
					for _, c := range s.Paths[p].Children {
						sub(c)
					}
				}
				sub(q)
			}
		}
	}
	out := make([]bool, len(s.Paths))
	for i := range out {
		out[i] = permanent(PathID(i))
	}
	return out
}
