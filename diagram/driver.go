package diagram

import (
	"fmt"
	"strings"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/model/linux"
)

// Drivers are the driver state machines the gallery draws.
var Drivers = []string{"blkback", "blkfront", "pciback", "pcifront"}

// DriverSystem builds the smallest system holding the Linux driver name
// (one of linux.Drivers) for one device, with every fault that adds a transition to it
// allowed, and returns the system and the driver's actor.
func DriverSystem(name string) (*model.System, int, error) {
	b := model.NewBuilder("driver-" + name)
	b.Allow("frontend-refuses-close")
	b.Domain(0, "dom0", model.DomainRunning)
	b.Domain(1, "guest", model.DomainRunning)
	ld, ok := linux.DriverByName(name)
	if !ok {
		var names []string
		for _, d := range linux.Drivers {
			names = append(names, d.Name)
		}
		return nil, 0, fmt.Errorf("diagram: no driver %q (want one of %s)", name, strings.Join(names, ", "))
	}
	kind := ld.Kinds[0]
	di := b.NewDevice(model.DeviceSpec{Name: kind, Kind: kind, BEKind: kind, DevID: 0, FEDom: 1, BEDom: 0})
	a := ld.Add(b, di, linux.Bound{}, linux.Options{RefuseClose: true, PCISlots: 1})
	sys, err := b.Build()
	if err != nil {
		return nil, 0, err
	}
	return sys, a, nil
}

// DriverMachine draws the driver named name (see DriverSystem).
func DriverMachine(name string) (*Chart, error) {
	sys, a, err := DriverSystem(name)
	if err != nil {
		return nil, err
	}
	c, err := DriverChart(sys, a)
	if err != nil {
		return nil, err
	}
	c.Name = "driver-" + name
	return c, nil
}

// Unbound is the node of a driver's state machine that stands for "no
// driver instance".
const Unbound = "unbound"

// ProbeFailed names the chart node of a device whose driver probe failed:
// registered, without a driver, never probed again (model/linux).
const ProbeFailed = "probe-failed"

// DriverChart draws a driver actor as a XenbusState machine. The model
// keeps a driver's state in its cached-state variable (dev->state) and its
// own state node, and its control locations are only "unbound" and
// "bound"; the chart has a node per XenbusState the driver can be in while
// bound, and one for unbound. Each transition becomes an edge from every
// state in which its guard's atoms about the driver's own state (its
// cached state) can hold, to the state its xenbus_switch_state writes (or back to unbound
// when it unregisters, or the same state when it writes none). Atoms
// about its state node stay in the label: other actors write that node
// too. Only the
// states reachable from the driver's start this way are drawn. Edge
// labels are the transition's name and the rest of its guard, with
// XenbusStates named: what triggers it.
func DriverChart(sys *model.System, actor int) (*Chart, error) {
	a := &sys.Actors[actor]
	cache, own, ok := driverState(sys, actor)
	if !ok {
		return nil, fmt.Errorf("diagram: %s switches no state: not a xenbus driver", a.Name)
	}
	unbound, okU := a.LocByName("unbound")
	bound, okB := a.LocByName("bound")
	// probe-failed (a registered device whose driver probe failed) is the
	// third location of some drivers: drawn as a node of its own.
	failedLoc, okF := a.LocByName(ProbeFailed)
	if !okU || !okB || len(a.Locs) != 2 && !(okF && len(a.Locs) == 3) {
		return nil, fmt.Errorf("diagram: %s: want the locations unbound and bound (and probe-failed)", a.Name)
	}
	ab := newAbbrev(sys, []int{actor})
	init := sys.Initial()
	startNode := Unbound
	if sys.LocOf(init, actor) == bound {
		startNode = model.XenbusState(sys.VarValue(init, cache)).String()
	}
	type abs struct {
		bound, failed bool
		x             model.XenbusState
	}
	name := func(s abs) string {
		if s.failed {
			return ProbeFailed
		}
		if !s.bound {
			return Unbound
		}
		return s.x.String()
	}
	start := abs{bound: startNode != Unbound, x: model.XenbusState(sys.VarValue(init, cache))}
	if !start.bound {
		start.x = model.XenbusState(sys.Vars[cache].Init)
	}
	c := &Chart{Name: a.Name, Title: fmt.Sprintf("%s: XenbusState machine of the model's %s driver\nnode: the driver's own state (dev->state); edge: the transition, if the rest of its guard (what triggers it) holds\ngrey: back to unbound; dashed: fault; a node lists the transitions that keep its state", a.Name, strings.SplitN(a.Name, "(", 2)[0]),
		Attrs:     map[string]string{"rankdir": "TB", "nodesep": "0.5"},
		NodeAttrs: map[string]string{"shape": "box", "style": "rounded"}}
	seen := map[abs]bool{start: true}
	queue := []abs{start}
	// Transitions between the same two states share an edge, one label
	// line each; those that keep the state are listed in its node.
	merged := map[string]*Edge{}
	var order []string
	descs := map[string]string{}
	solid := map[string]bool{}
	stays := map[string][]string{}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, ti := range a.Trans {
			t := &sys.Trans[ti]
			if t.Kind == model.Ignore {
				continue
			}
			if (s.failed && t.From != failedLoc) || (!s.failed && s.bound && t.From != bound) || (!s.failed && !s.bound && t.From != unbound) {
				continue
			}
			if !ownHolds(t.Guard, cache, s.x) {
				continue
			}
			next := s
			if okF && t.To == failedLoc {
				next = abs{failed: true, x: model.XenbusState(sys.Vars[cache].Init)}
			} else if t.To == unbound {
				next = abs{bound: false, x: model.XenbusState(sys.Vars[cache].Init)}
			} else {
				next.bound, next.failed = true, false
				for _, op := range t.Ops {
					if op.Kind == model.OpSwitchState && op.Path == own {
						next.x = model.XenbusState(op.Val - 2)
					}
				}
				for _, st := range t.Sets {
					if st.Var == cache {
						next.x = model.XenbusState(st.Val)
					}
				}
			}
			if t.To == unbound {
				next.x = model.XenbusState(sys.Vars[cache].Init)
			}
			if name(s) == name(next) {
				stays[name(s)] = appendNew(stays[name(s)], t.Name)
			} else {
				key := name(s) + "\x00" + name(next)
				if _, ok := merged[key]; !ok {
					order = append(order, key)
					merged[key] = &Edge{From: name(s), To: name(next), Attrs: map[string]string{}}
				}
				e := merged[key]
				label := driverLabel(sys, ab, t, cache)
				if !strings.Contains("\n"+e.Label+"\n", "\n"+label+"\n") {
					e.Label = joinNonEmpty(e.Label, label, "\n")
					e.Name = joinNonEmpty(e.Name, t.Name, "; ")
					if desc := ab.text(t.Desc); desc != "" {
						descs[key] = joinNonEmpty(descs[key], t.Name+": "+desc, "\n")
					}
					if t.Fault == "" {
						solid[key] = true
					}
				}
			}
			if !seen[next] {
				seen[next] = true
				queue = append(queue, next)
			}
		}
	}
	for _, key := range order {
		e := merged[key]
		if !solid[key] {
			e.Attrs["style"] = "dashed"
		}
		if descs[key] != "" {
			e.Attrs["tooltip"] = escText(descs[key], false)
		}
		if e.To == Unbound {
			e.Attrs["color"], e.Attrs["fontcolor"] = "gray40", "gray30"
		}
		c.Edges = append(c.Edges, *e)
	}
	// Nodes in XenbusState order, unbound first.
	var nodes []abs
	if seen[abs{bound: false, x: start.x}] || !start.bound {
		nodes = append(nodes, abs{bound: false, x: model.XenbusState(sys.Vars[cache].Init)})
	}
	for x := model.StateUnknown; x <= model.StateReconfigured; x++ {
		if seen[abs{bound: true, x: x}] {
			nodes = append(nodes, abs{bound: true, x: x})
		}
	}
	if failed := (abs{failed: true, x: model.XenbusState(sys.Vars[cache].Init)}); seen[failed] {
		nodes = append(nodes, failed)
	}
	for _, n := range nodes {
		id := name(n)
		label := id
		switch {
		case n.failed:
			label = ProbeFailed + "\n" + wrap(a.Locs[failedLoc].Desc, 24)
		case n.bound:
			label = fmt.Sprintf("%d %s", n.x, n.x)
		default:
			label = "unbound\n" + wrap(a.Locs[unbound].Desc, 24)
		}
		if st := stays[id]; len(st) > 0 {
			label += "\n" + wrap("stays on: "+strings.Join(st, "; "), 30)
		}
		attrs := map[string]string{}
		if id == startNode {
			attrs["penwidth"] = "2.5"
		}
		if !n.bound || n.failed {
			attrs["style"] = "rounded,dashed"
		}
		c.Nodes = append(c.Nodes, Node{ID: id, Label: label, Attrs: attrs})
	}
	return c, nil
}

// driverState finds a driver's cached-state variable and own state node:
// the variable and path of its xenbus_switch_state operations.
func driverState(sys *model.System, actor int) (model.VarID, model.PathID, bool) {
	for _, ti := range sys.Actors[actor].Trans {
		for _, op := range sys.Trans[ti].Ops {
			if op.Kind == model.OpSwitchState {
				return op.Var, op.Path, true
			}
		}
	}
	return 0, 0, false
}

// ownHolds reports whether the atoms of g about the driver's cached state
// hold when it is x. Atoms about the state node are triggers, not
// constraints: other actors write it too (libxl writes a pciback's
// Reconfiguring), so the node need not hold the cached state.
func ownHolds(g []model.Cond, cache model.VarID, x model.XenbusState) bool {
	for _, c := range g {
		if !isVarCond(c) || c.Var != cache {
			continue
		}
		v := uint8(x)
		switch c.Kind {
		case model.CondVarEq:
			if v != c.X {
				return false
			}
		case model.CondVarNe:
			if v == c.X {
				return false
			}
		case model.CondVarIn:
			if c.Mask&(1<<v) == 0 {
				return false
			}
		}
	}
	return true
}

func isVarCond(c model.Cond) bool {
	return c.Kind == model.CondVarEq || c.Kind == model.CondVarNe || c.Kind == model.CondVarIn
}

func isPathCond(c model.Cond) bool {
	switch c.Kind {
	case model.CondPresent, model.CondAbsent, model.CondEq, model.CondNe, model.CondIn:
		return true
	}
	return false
}

// driverLabel is the trigger of a driver transition: its name, then the
// atoms of its guard that are not about the driver's own state, with
// state values named, then the writes it makes besides its state switch.
func driverLabel(sys *model.System, ab *abbrev, t *model.Transition, cache model.VarID) string {
	lines := []string{t.Name}
	if t.Fault != "" {
		lines[0] += " (fault " + t.Fault + ")"
	}
	var conds []string
	for _, c := range t.Guard {
		if isVarCond(c) && c.Var == cache {
			continue
		}
		conds = append(conds, ab.text(formatCondNamed(sys, c)))
	}
	if len(conds) > 0 {
		lines = append(lines, "if "+strings.Join(conds, " && "))
	}
	for _, op := range t.Ops {
		if op.Kind.IsWrite() && op.Kind != model.OpSwitchState {
			lines = append(lines, ab.text(sys.FormatOp(op, nil)))
		}
	}
	return strings.Join(lines, "\n")
}

// formatCondNamed is FormatCond with the values of state nodes written as
// XenbusState names (a missing node as ⊥).
func formatCondNamed(sys *model.System, c model.Cond) string {
	p := ""
	if isPathCond(c) {
		p = sys.Paths[c.Path].Name
	}
	if !strings.HasSuffix(p, "/state") {
		return sys.FormatCond(c)
	}
	named := func(v model.Value) string {
		if v == model.Absent {
			return "⊥"
		}
		if v >= 2 && v <= 10 {
			return model.XenbusState(v - 2).String()
		}
		return sys.FormatValue(v)
	}
	switch c.Kind {
	case model.CondEq:
		return p + " == " + named(c.Val)
	case model.CondNe:
		return p + " != " + named(c.Val)
	case model.CondIn:
		var vs []string
		for v := 0; v < 64 && v < len(sys.Values); v++ {
			if c.Mask&(1<<v) != 0 {
				vs = append(vs, named(model.Value(v)))
			}
		}
		return p + " in {" + strings.Join(vs, ",") + "}"
	}
	return sys.FormatCond(c)
}

func appendNew(xs []string, x string) []string {
	for _, y := range xs {
		if y == x {
			return xs
		}
	}
	return append(xs, x)
}

func joinNonEmpty(a, b, sep string) string {
	if a == "" {
		return b
	}
	return a + sep + b
}

// DriverNode is the node of actor's DriverChart that the driver is at in
// st: Unbound, or the name of its cached XenbusState. ok is false when
// the actor is not a xenbus driver.
func DriverNode(sys *model.System, actor int, st model.State) (node string, ok bool) {
	a := &sys.Actors[actor]
	cache, _, ok := driverState(sys, actor)
	if !ok {
		return "", false
	}
	if bound, okB := a.LocByName("bound"); !okB || sys.LocOf(st, actor) != bound {
		return Unbound, true
	}
	return model.XenbusState(sys.VarValue(st, cache)).String(), true
}
