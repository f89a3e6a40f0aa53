package xstrace

import (
	"sort"
	"strings"
)

// A Store is a xenstore tree rebuilt from changes: path to value, every
// node's ancestors present.
type Store map[string]string

// Apply performs op the way the daemon does: WRITE and MKDIR create the
// missing ancestors with empty values, RM removes the subtree, SET_PERMS
// changes no value.
func (s Store) Apply(op Op) {
	switch op.Kind {
	case "WRITE":
		s.mkparents(op.Path)
		s[op.Path] = op.Value
	case "MKDIR":
		s.mkparents(op.Path)
		if _, ok := s[op.Path]; !ok {
			s[op.Path] = ""
		}
	case "RM":
		for p := range s {
			if p == op.Path || strings.HasPrefix(p, op.Path+"/") {
				delete(s, p)
			}
		}
	}
}

func (s Store) mkparents(p string) {
	for q := parent(p); q != ""; q = parent(q) {
		if _, ok := s[q]; ok {
			return
		}
		s[q] = ""
	}
}

func parent(p string) string {
	if p == "/" {
		return ""
	}
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

// Below returns the nodes at or below root, sorted.
func (s Store) Below(root string) []string {
	var out []string
	for p := range s {
		if p == root || strings.HasPrefix(p, root+"/") {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// Clone copies s.
func (s Store) Clone() Store {
	c := make(Store, len(s))
	for k, v := range s {
		c[k] = v
	}
	return c
}

// Replay applies the changes from..to (indexes into t.Changes) to base.
func (t *Trace) Replay(base Store, from, to int) Store {
	s := base.Clone()
	for _, c := range t.Changes[from:to] {
		for _, op := range c.Ops {
			s.Apply(op)
		}
	}
	return s
}
