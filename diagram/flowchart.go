package diagram

import (
	"fmt"
	"sort"
	"strings"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/model/libxl"
)

// FlowchartVersions are the libxl versions whose removal flowchart the
// gallery draws: the seed's 4.2, the two sides of 9eaaedfcdee5, and the
// newest modelled release.
var FlowchartVersions = []string{"4.2", "4.10", "4.11", "4.17"}

// RemoveSystem builds the smallest system in which libxl's device remove
// of version v takes every branch it has, and returns it with the remove
// actors: a qdisk whose guest may be paused (the qemu bodge), a vbd served
// by blkback in dom0 (the hotplug script) and, from 4.7, a vif served by a
// driver domain (the wait for the driver domain's backend removal). The
// faults eagain, hotplug-fail and hotplug-hang are allowed so that their
// transitions exist.
func RemoveSystem(v libxl.Version) (*model.System, []int, error) {
	b := model.NewBuilder("libxl-" + v.String() + "-remove")
	for _, f := range []string{"eagain", "hotplug-fail", "hotplug-hang"} {
		b.Allow(f)
	}
	// dom0 first: its run state is variable 0, which libxl.Remove reads as
	// "no guest" when it decides whether the qemu bodge applies.
	b.Domain(0, "dom0", model.DomainRunning)
	b.Domain(1, "guest", model.DomainPaused)
	b.Domain(2, "driver", model.DomainRunning)
	devs := []model.DeviceSpec{
		{Name: "qdisk", Kind: "vbd", BEKind: "qdisk", DevID: 51712, FEDom: 1, BEDom: 0, LibxlRecord: v.LibxlRecords()},
		{Name: "vbd", Kind: "vbd", BEKind: "vbd", DevID: 51728, FEDom: 1, BEDom: 0, LibxlRecord: v.LibxlRecords()},
		{Name: "vif", Kind: "vif", BEKind: "vif", DevID: 0, FEDom: 1, BEDom: 2, LibxlRecord: v.LibxlRecords()},
	}
	var actors []int
	for _, sp := range devs {
		di := b.NewDevice(sp)
		actors = append(actors, libxl.Remove(b, di, libxl.RemoveOptions{Version: v, Force: libxl.ForceAuto, Name: "remove(" + sp.Name + ")"}))
	}
	sys, err := b.Build()
	if err != nil {
		return nil, nil, err
	}
	return sys, actors, nil
}

// RemoveFlowchart draws the libxl device-removal flowchart of version v
// (see RemoveSystem and ActorChart).
func RemoveFlowchart(version string) (*Chart, error) {
	v, err := libxl.ParseVersion(version)
	if err != nil {
		return nil, err
	}
	sys, actors, err := RemoveSystem(v)
	if err != nil {
		return nil, err
	}
	c, err := ActorChart(sys, actors)
	if err != nil {
		return nil, err
	}
	c.Name = "libxl-" + v.String() + "-remove"
	c.Title = fmt.Sprintf("libxl %s device removal (libxl__initiate_device_remove → device_hotplug → libxl__device_destroy), drawn from the model\n%s", v, legend)
	return c, nil
}

const legend = "black: step; blue: watch event handled; orange: timer; dashed grey: fault; bold border: start; double border: final"

// ActorChart draws the control flow of one actor, or of several actors
// built from the same program (their locations are merged by name): a node
// per control location, labelled with its name and Location.Desc, and an
// edge per transition, labelled with its name, its guard (FormatGuard) and
// its xenstore operations (FormatOp). Identical edges of different actors
// are drawn once. A device's directories are written FE, BE and LIBXL, and
// an actor's variables without the actor's name. The implicit "event
// ignored" case of every watch (model.Ignore) is not drawn: it consumes a
// stale event wherever the actor is, and moves nothing.
func ActorChart(sys *model.System, actors []int) (*Chart, error) {
	if len(actors) == 0 {
		return nil, fmt.Errorf("diagram: no actor to draw")
	}
	first := &sys.Actors[actors[0]]
	c := &Chart{Name: first.Name, Attrs: map[string]string{"rankdir": "TB", "nodesep": "0.4", "ranksep": "0.45"},
		NodeAttrs: map[string]string{"shape": "box", "style": "rounded"}}
	ab := newAbbrev(sys, actors)
	start := sys.LocOf(sys.Initial(), actors[0])
	for i := range first.Locs {
		l := &first.Locs[i]
		c.Nodes = append(c.Nodes, Node{ID: l.Name, Label: l.Name + "\n" + wrap(l.Desc, 36), Attrs: map[string]string{}})
	}
	seen := map[string]bool{}
	for _, ai := range actors {
		a := &sys.Actors[ai]
		if len(a.Locs) != len(first.Locs) {
			return nil, fmt.Errorf("diagram: actors %s and %s have different locations", first.Name, a.Name)
		}
		for li := range a.Locs {
			if a.Locs[li].Name != first.Locs[li].Name {
				return nil, fmt.Errorf("diagram: actors %s and %s have different locations", first.Name, a.Name)
			}
		}
		for _, ti := range a.Trans {
			t := &sys.Trans[ti]
			if t.Kind == model.Ignore {
				continue
			}
			if t.From == model.AnyLoc {
				return nil, fmt.Errorf("diagram: %s: transition %q applies at any location; a flowchart cannot place it", a.Name, t.Name)
			}
			from := a.Locs[t.From].Name
			to := from
			if t.To != model.SameLoc {
				to = a.Locs[t.To].Name
			}
			e := Edge{From: from, To: to, Name: t.Name, Label: ab.transLabel(t), Attrs: edgeStyle(t)}
			if desc := ab.text(t.Desc); desc != "" {
				e.Attrs["tooltip"] = escText(desc, false)
			}
			key := from + "\x00" + to + "\x00" + e.Label
			if seen[key] {
				continue
			}
			seen[key] = true
			c.Edges = append(c.Edges, e)
		}
	}
	styleNodes(c, first.Locs[start].Name, first.Locs)
	return c, nil
}

// styleNodes marks the start, the final locations, the decisions (more
// than one non-fault way out) and the locations no edge touches.
func styleNodes(c *Chart, start string, locs []model.Location) {
	outs := map[string]map[string]bool{}
	touched := map[string]bool{}
	for _, e := range c.Edges {
		touched[e.From], touched[e.To] = true, true
		if strings.Contains(e.Attrs["style"], "dashed") {
			continue
		}
		if outs[e.From] == nil {
			outs[e.From] = map[string]bool{}
		}
		outs[e.From][e.To] = true
	}
	for i := range c.Nodes {
		n := &c.Nodes[i]
		if len(outs[n.ID]) > 1 {
			n.Attrs["style"] = "rounded,filled"
			n.Attrs["fillcolor"] = "#fff4cc"
		}
		for _, l := range locs {
			if l.Name == n.ID && l.Final {
				n.Attrs["peripheries"] = "2"
			}
		}
		if n.ID == start {
			n.Attrs["penwidth"] = "2.5"
		}
		if !touched[n.ID] {
			n.Attrs["style"] = "rounded,dashed"
			n.Attrs["fontcolor"] = "gray35"
			n.Label += "\n(entered only when another actor moves it here)"
		}
	}
}

func edgeStyle(t *model.Transition) map[string]string {
	a := map[string]string{}
	switch {
	case t.Fault != "":
		a["style"] = "dashed"
		a["color"] = "gray45"
		a["fontcolor"] = "gray35"
	case t.Timeout > 0:
		a["color"] = "darkorange3"
		a["fontcolor"] = "darkorange4"
	case t.Watch != model.NoWatch:
		a["color"] = "#1f4e9c"
		a["fontcolor"] = "#1f4e9c"
	}
	return a
}

// An abbrev shortens the names of one system in labels: a device's
// directories become FE, BE and LIBXL, and the drawn actors' variables
// lose the actor's name.
type abbrev struct {
	sys *model.System
	r   *strings.Replacer
}

func newAbbrev(sys *model.System, actors []int) *abbrev {
	type pair struct{ from, to string }
	var ps []pair
	for _, d := range sys.Devices {
		ps = append(ps, pair{sys.Paths[d.BEDir].Name, "BE"}, pair{sys.Paths[d.FEDir].Name, "FE"})
		if d.LibxlDir != model.NoPath {
			ps = append(ps, pair{sys.Paths[d.LibxlDir].Name, "LIBXL"})
		}
	}
	for _, ai := range actors {
		ps = append(ps, pair{sys.Actors[ai].Name + ".", ""})
	}
	// Longer names first, so that no name is replaced inside a longer one.
	sort.SliceStable(ps, func(i, j int) bool { return len(ps[i].from) > len(ps[j].from) })
	var args []string
	for _, p := range ps {
		args = append(args, p.from, p.to)
	}
	return &abbrev{sys: sys, r: strings.NewReplacer(args...)}
}

func (ab *abbrev) text(s string) string { return ab.r.Replace(s) }

// transLabel is an edge's label: the transition's name, "(timer)" or
// "(watch event)" for timers and handler cases, the guard unless it is
// empty, and the xenstore operations, one a line.
func (ab *abbrev) transLabel(t *model.Transition) string {
	var lines []string
	head := t.Name
	switch {
	case t.Fault != "":
		head += " (fault " + t.Fault + ")"
	case t.Watch != model.NoWatch:
		head += " (watch event)"
	}
	lines = append(lines, head)
	if len(t.Guard) > 0 {
		lines = append(lines, "if "+ab.text(ab.sys.FormatGuard(t.Guard)))
	}
	for _, op := range t.Ops {
		s := ab.text(ab.sys.FormatOp(op, nil))
		if t.Kind == model.TxnBody && op.Kind.IsWrite() {
			s += " (at commit)"
		}
		lines = append(lines, s)
	}
	for _, st := range t.Sets {
		lines = append(lines, ab.text(ab.sys.Vars[st.Var].Name)+" := "+ab.sys.FormatVar(st.Var, st.Val))
	}
	return strings.Join(lines, "\n")
}

// Compare draws two charts of the same actor in one: the edges both have
// are black, those only a has are red and dashed, those only b has green
// and bold, each labelled with the side it belongs to.
func Compare(a, b *Chart, nameA, nameB, title string) *Chart {
	c := &Chart{Name: a.Name + "-vs-" + b.Name, Title: title, Attrs: a.Attrs, NodeAttrs: a.NodeAttrs, EdgeAttrs: a.EdgeAttrs}
	inB := map[string]bool{}
	for _, n := range b.Nodes {
		inB[n.ID] = true
	}
	inA := map[string]bool{}
	for _, n := range a.Nodes {
		inA[n.ID] = true
		m := Node{ID: n.ID, Label: n.Label, Attrs: copyMap(n.Attrs)}
		if !inB[n.ID] {
			m.Label += "\n[" + nameA + " only]"
			m.Attrs["color"] = "#b03a2e"
		}
		c.Nodes = append(c.Nodes, m)
	}
	for _, n := range b.Nodes {
		if !inA[n.ID] {
			m := Node{ID: n.ID, Label: n.Label + "\n[" + nameB + " only]", Attrs: copyMap(n.Attrs)}
			m.Attrs["color"] = "#1e8449"
			c.Nodes = append(c.Nodes, m)
		}
	}
	key := func(e Edge) string { return e.From + "\x00" + e.To + "\x00" + e.Label }
	keysB := map[string]bool{}
	for _, e := range b.Edges {
		keysB[key(e)] = true
	}
	keysA := map[string]bool{}
	for _, e := range a.Edges {
		keysA[key(e)] = true
		m := Edge{From: e.From, To: e.To, Name: e.Name, Label: e.Label, Attrs: copyMap(e.Attrs)}
		if !keysB[key(e)] {
			m.Label = "[" + nameA + " only] " + m.Label
			m.Attrs["color"], m.Attrs["fontcolor"], m.Attrs["style"], m.Attrs["penwidth"] = "#b03a2e", "#b03a2e", "dashed", "2"
		}
		c.Edges = append(c.Edges, m)
	}
	for _, e := range b.Edges {
		if !keysA[key(e)] {
			m := Edge{From: e.From, To: e.To, Name: e.Name, Label: "[" + nameB + " only] " + e.Label, Attrs: copyMap(e.Attrs)}
			m.Attrs["color"], m.Attrs["fontcolor"], m.Attrs["penwidth"] = "#1e8449", "#1e8449", "2.5"
			c.Edges = append(c.Edges, m)
		}
	}
	return c
}

// Fix9eaaedfcdee5 draws the 4.10 and 4.11 removal flowcharts in one, so
// that commit 9eaaedfcdee5 ("backend already removed, cleanup frontend
// only") shows as the edges that changed.
func Fix9eaaedfcdee5() (*Chart, error) {
	a, err := RemoveFlowchart("4.10")
	if err != nil {
		return nil, err
	}
	b, err := RemoveFlowchart("4.11")
	if err != nil {
		return nil, err
	}
	c := Compare(a, b, "4.10", "4.11",
		"libxl device removal, 4.10 against 4.11: what 9eaaedfcdee5 changed\nred dashed: 4.10 only (a missing backend state is written over and then waited for: ERROR_INVAL); green bold: 4.11 only (backend gone: abort, rc = 0); black: both")
	c.Name = "libxl-4.10-vs-4.11-remove"
	return c, nil
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
