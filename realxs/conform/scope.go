package conform

import (
	"slices"
	"strings"

	"github.com/google/go-cmp/cmp"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/realxs/xstrace"
)

// checker holds one check's compiled scope.
type checker struct {
	sys    *model.System
	opts   Options
	ids    []model.PathID // the compared nodes
	names  []string
	opaque []bool
}

// scope collects the model's nodes at or below a device directory.
func (c *checker) scope() {
	var dirs []model.PathID
	for _, d := range c.sys.Devices {
		for _, p := range []model.PathID{d.FEDir, d.BEDir, d.LibxlDir} {
			if p != model.NoPath {
				dirs = append(dirs, p)
			}
		}
	}
	for i, p := range c.sys.Paths {
		for _, d := range dirs {
			if p.Name == c.sys.Paths[d].Name || strings.HasPrefix(p.Name, c.sys.Paths[d].Name+"/") {
				c.ids = append(c.ids, model.PathID(i))
				c.names = append(c.names, p.Name)
				c.opaque = append(c.opaque, IsOpaque(c.opts.Opaque, p.Name))
				break
			}
		}
	}
}

// key renders the compared nodes: absent, or present with their value
// ("*" for an opaque one).
func (c *checker) key(get func(i int) (string, bool)) string {
	var b strings.Builder
	for i := range c.ids {
		v, ok := get(i)
		switch {
		case !ok:
			b.WriteString("\x00-")
		case c.opaque[i]:
			b.WriteString("\x00*")
		default:
			b.WriteString("\x00=")
			b.WriteString(v)
		}
	}
	return b.String()
}

func (c *checker) modelKey(st model.State) string {
	return c.key(func(i int) (string, bool) {
		v := model.Value(st[c.ids[i]])
		if v == model.Absent {
			return "", false
		}
		return c.sys.Values[v], true
	})
}

func (c *checker) realKey(s xstrace.Store) string {
	return c.key(func(i int) (string, bool) {
		v, ok := s[c.names[i]]
		return v, ok
	})
}

func (c *checker) view(get func(i int) (string, bool)) map[string]string {
	m := map[string]string{}
	for i := range c.ids {
		if v, ok := get(i); ok {
			if c.opaque[i] {
				v = "*"
			}
			m[c.names[i]] = v
		}
	}
	return m
}

func (c *checker) diff(st model.State, real xstrace.Store) string {
	mv := c.view(func(i int) (string, bool) {
		v := model.Value(st[c.ids[i]])
		return c.sys.Values[v], v != model.Absent
	})
	rv := c.view(func(i int) (string, bool) { v, ok := real[c.names[i]]; return v, ok })
	return cmp.Diff(mv, rv)
}

// restrict keeps the operations of ch on compared nodes (an RM of an
// ancestor counts).
func (c *checker) restrict(ch xstrace.Change) xstrace.Change {
	out := ch
	out.Ops = nil
	for _, op := range ch.Ops {
		for _, n := range c.names {
			if n == op.Path || strings.HasPrefix(n, op.Path+"/") {
				out.Ops = append(out.Ops, op)
				break
			}
		}
	}
	return out
}

func (c *checker) group(changes []xstrace.Change, path []int, ok bool, diff string) Group {
	g := Group{Changes: slices.Clone(changes), Explained: ok, Diff: diff}
	seen := map[string]bool{}
	for _, ch := range changes {
		if w := ch.Conn.String(); !seen[w] {
			seen[w] = true
			g.Writers = append(g.Writers, w)
		}
	}
	for _, t := range path {
		tr := &c.sys.Trans[t]
		g.Trans = append(g.Trans, c.sys.Actors[tr.Actor].Name+": "+tr.Name)
		g.IDs = append(g.IDs, t)
	}
	return g
}
