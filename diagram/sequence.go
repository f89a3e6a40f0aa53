package diagram

import (
	"fmt"
	"strings"

	"github.com/xbcheck/xbcheck/trace"
)

// Xenstore is the lifeline of xenstored in sequence diagrams.
const Xenstore = "xenstore"

// Sequence draws a trace as a sequence diagram: a lifeline per actor, in
// the order they first act, and one for xenstore; each step is an arrow
// from its actor to xenstore labelled with its number, its transition and
// its xenstore operations (a box on the actor's lifeline when it performs
// none), and an arrow to every other actor it moves. The violating step is
// red: the last step of a counterexample of a safety property, the cycle
// of a lasso (each of its steps red, the return marked), or the end of a
// run that stops with no successor.
func Sequence(tr *trace.Trace) *Chart {
	var lanes []string
	laneIdx := map[string]int{}
	addLane := func(n string) {
		if _, ok := laneIdx[n]; !ok {
			laneIdx[n] = len(lanes)
			lanes = append(lanes, n)
		}
	}
	for _, s := range tr.Steps {
		addLane(s.Actor)
		if len(lanes) == 1 {
			addLane(Xenstore)
		}
	}
	addLane(Xenstore)
	for _, s := range tr.Steps {
		for _, ch := range s.Changes {
			if a, _, ok := strings.Cut(ch, " @ "); ok && !strings.HasPrefix(a, "/") {
				addLane(a)
			}
		}
	}
	title := "counterexample of " + tr.Property + " in " + tr.Scenario
	if tr.Property == "" {
		title = "run of " + tr.Scenario
	}
	n := len(tr.Steps)
	switch {
	case tr.Loop == n:
		title += "\nred: the run ends here with no step enabled"
	case tr.Loop >= 0:
		title += fmt.Sprintf("\nred: steps %d to %d repeat forever", tr.Loop+1, n)
	case n > 0:
		title += fmt.Sprintf("\nred: step %d, the violating step", n)
	}
	c := &Chart{Name: "seq-" + tr.Scenario + "." + tr.Property, Title: title,
		Attrs: map[string]string{"rankdir": "TB", "nodesep": "0.15", "ranksep": "0.12"}}
	if tr.Property == "" {
		c.Name = "seq-" + tr.Scenario
	}
	pt := func(lane, row int) string { return fmt.Sprintf("L%02d.%03d", lane, row) }
	// Rows: the header, then two per step (its label, then its arrow),
	// then the footer. Each row is one rank; invisible edges keep the
	// lifelines, and a step's label between its two ends, in order.
	rows := 2*n + 2
	labelOf := map[int]Node{}  // label row → the step's label node
	afterLane := map[int]int{} // label row → the lane the label follows
	for i, s := range tr.Steps {
		row := 2*i + 1
		bad := isBad(tr, i)
		color := "black"
		if bad {
			color = "#c0392b"
		}
		lines := []string{fmt.Sprintf("%d. %s: %s", i+1, s.Actor, s.Transition)}
		if s.From != s.To {
			lines = append(lines, fmt.Sprintf("   %s → %s", s.From, s.To))
		}
		if tr.Loop >= 0 && tr.Loop < n && i == tr.Loop {
			lines[0] = "cycle starts: " + lines[0]
		}
		lines = append(lines, s.Ops...)
		for _, ch := range s.Changes {
			if a, loc, ok := strings.Cut(ch, " @ "); ok && !strings.HasPrefix(a, "/") {
				lines = append(lines, "moves "+a+" to "+loc)
			}
		}
		if tr.Loop == n && i == n-1 {
			lines = append(lines, "(then no step is enabled)")
		}
		if tr.Loop >= 0 && tr.Loop < n && i == n-1 {
			lines = append(lines, fmt.Sprintf("(back to the state before step %d)", tr.Loop+1))
		}
		attrs := map[string]string{"shape": "plaintext", "fontsize": "9", "fontcolor": color, "width": "0", "height": "0"}
		if tip := strings.Join(s.Changes, "\n"); tip != "" {
			attrs["tooltip"] = escText("changes:\n"+tip, false)
		}
		labelOf[row] = Node{ID: fmt.Sprintf("S%03d", i+1), Label: strings.Join(lines, "\n"), Left: true, Attrs: attrs}
		a, x := laneIdx[s.Actor], laneIdx[Xenstore]
		switch {
		case !hasXenstoreOp(s.Ops) && a == len(lanes)-1:
			afterLane[row] = a - 1
		case !hasXenstoreOp(s.Ops):
			afterLane[row] = a
		default:
			afterLane[row] = min(a, x)
		}
	}
	for row := 0; row < rows; row++ {
		var rank []string
		prev := ""
		chain := func(id string) {
			if prev != "" {
				c.Edges = append(c.Edges, Edge{From: prev, To: id, Attrs: map[string]string{"style": "invis"}})
			}
			prev = id
			rank = append(rank, id)
		}
		for li, lane := range lanes {
			id := pt(li, row)
			node := Node{ID: id, Attrs: map[string]string{"shape": "point", "width": "0.02", "height": "0.02", "color": "gray60"}}
			if row == 0 || row == rows-1 {
				node.Label = lane
				node.Attrs = map[string]string{"shape": "box", "style": "filled", "fillcolor": "#eef2f7", "color": "black"}
				if lane == Xenstore {
					node.Attrs["fillcolor"] = "#fdf2d0"
				}
			}
			c.Nodes = append(c.Nodes, node)
			chain(id)
			if row > 0 {
				c.Edges = append(c.Edges, Edge{From: pt(li, row-1), To: id, Attrs: map[string]string{"arrowhead": "none", "style": "dashed", "color": "gray60", "weight": "100"}})
			}
			if l, ok := labelOf[row]; ok && afterLane[row] == li {
				c.Nodes = append(c.Nodes, l)
				chain(l.ID)
			}
		}
		c.Ranks = append(c.Ranks, rank)
	}
	for i, s := range tr.Steps {
		row := 2*i + 2
		color := "black"
		attrs := map[string]string{}
		if isBad(tr, i) {
			color = "#c0392b"
			attrs["penwidth"] = "2"
		}
		attrs["color"] = color
		from := pt(laneIdx[s.Actor], row)
		act := c.node(from)
		act.Attrs = map[string]string{"shape": "box", "width": "0.12", "height": "0.12", "style": "filled", "fillcolor": color, "color": color, "label": ""}
		if hasXenstoreOp(s.Ops) {
			c.Edges = append(c.Edges, Edge{From: from, To: pt(laneIdx[Xenstore], row), Name: s.Transition, Attrs: attrs})
		}
		for _, ch := range s.Changes {
			if a, _, ok := strings.Cut(ch, " @ "); ok && !strings.HasPrefix(a, "/") {
				c.Edges = append(c.Edges, Edge{From: from, To: pt(laneIdx[a], row), Name: "moves " + a,
					Attrs: map[string]string{"color": color, "style": "dotted"}})
			}
		}
	}
	return c
}

// isBad reports whether step i of tr is (part of) the violation.
func isBad(tr *trace.Trace, i int) bool {
	n := len(tr.Steps)
	switch {
	case tr.Loop < 0 || tr.Loop == n:
		return i == n-1
	default:
		return i >= tr.Loop
	}
}

// hasXenstoreOp reports whether ops hold a xenstore request: SIGNAL stands
// for a signal, a spawn or a pause, which xenstored does not see.
func hasXenstoreOp(ops []string) bool {
	for _, op := range ops {
		if !strings.HasPrefix(op, "SIGNAL ") {
			return true
		}
	}
	return false
}
