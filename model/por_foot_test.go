package model

import (
	"path/filepath"
	"testing"
)

// loadScenarios is set by the external tests (they can import scenario,
// which imports model): the compiled systems of scenarios/.
var loadScenarios func(t *testing.T, glob string) map[string]*System

// TestFootprintsCoverEffects: on every reachable state of every scenario
// (up to a bound) and every enabled transition, each byte the step
// changes is written, in its footprint computed in that state and in its
// static footprint; each byte its enabledness or effect depends on (a
// byte whose change, with everything else kept, changes whether the step
// is enabled or what it does to the other bytes) is read or written in
// its footprint there. Some steps must have been checked.
func TestFootprintsCoverEffects(t *testing.T) {
	if loadScenarios == nil {
		t.Skip("no scenario loader")
	}
	steps := 0
	for name, sys := range loadScenarios(t, filepath.Join("..", "scenarios", "*.toml")) {
		p := sys.NewPOR(nil, false)
		f := newFoot(sys.size)
		cur := make(State, sys.size)
		init := sys.Initial()
		seen := map[string]bool{string(init): true}
		queue := []State{init}
		buf := make(State, sys.size)
		for len(queue) > 0 && len(seen) < 3000 {
			st := queue[0]
			queue = queue[1:]
			sys.Successors(st, buf, func(tr *Transition, next State) bool {
				steps++
				f.reset()
				p.footNow(st, cur, tr, f)
				static := p.static[tr.ID]
				staticKind := func(o int) uint8 {
					k := static.kind[o]
					for _, c := range static.conds {
						k |= c.acc.kind[o]
					}
					return k
				}
				for o := range st {
					if st[o] == next[o] {
						continue
					}
					if f.kind[o]&accWrites == 0 {
						t.Errorf("%s: %s changes %s, not written in its footprint there", name, tr.Name, sys.OffsetName(o))
					}
					if staticKind(o)&accWrites == 0 {
						t.Errorf("%s: %s changes %s, not written in its static footprint", name, tr.Name, sys.OffsetName(o))
					}
				}
				// Perturb each byte outside the footprint to another value
				// the byte takes in some state of this search: the step
				// must stay enabled and do the same to the other bytes.
				// Nodes and watches only (a variable or a record takes
				// values of its own); not a timer under last-resort
				// semantics, held back by every other move (see POR).
				for o := range st {
					node := o < len(sys.Paths)
					watch := o >= sys.watchOff && o < sys.watchOff+len(sys.Watches)
					if f.kind[o] != 0 || !(node || watch) || p.excluded[tr.ID] {
						continue
					}
					for _, v := range []byte{0, 1, 2} {
						if v == st[o] {
							continue
						}
						alt := append(State(nil), st...)
						alt[o] = v
						if !sys.consistent(alt, p.permanent) {
							continue
						}
						if !sys.Enabled(alt, tr) {
							t.Errorf("%s: %s is disabled when %s (outside its footprint) changes", name, tr.Name, sys.OffsetName(o))
							continue
						}
						got := sys.Apply(alt, tr)
						for x := range st {
							if x != o && got[x] != next[x] {
								t.Errorf("%s: %s writes %s differently when %s (outside its footprint) changes", name, tr.Name, sys.OffsetName(x), sys.OffsetName(o))
							}
						}
					}
				}
				if !seen[string(next)] {
					seen[string(next)] = true
					queue = append(queue, append(State(nil), next...))
				}
				return true
			})
		}
	}
	if steps == 0 {
		t.Error("no step checked")
	}
}

// consistent reports whether st keeps the store a tree (every existing
// node's parent exists) with every permanent node present, as every
// reachable state does (TestPermanentPathsExist) and the footprints
// assume.
func (s *System) consistent(st State, permanent []bool) bool {
	for i := range s.Paths {
		if permanent[i] && st[i] == byte(Absent) {
			return false
		}
		if q := s.Paths[i].Parent; q != NoPath && st[i] != byte(Absent) && st[q] == byte(Absent) {
			return false
		}
	}
	return true
}
