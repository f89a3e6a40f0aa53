package report

import (
	"fmt"
	"strings"

	"github.com/xbcheck/xbcheck/diagram"
	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/trace"
)

// placeholder prefixes every element id in a chart before it is
// rendered, so that one rendering serves every trace that shows the same
// chart; it is replaced by the trace's own prefix afterwards.
const placeholder = "XBPFX_"

// A chartRef is one chart of a trace: the chart drawn with an element id
// on every node and edge, and where those ids are.
type chartRef struct {
	// Kind is "flowchart", "driver", "sequence" or "states".
	Kind   string
	Title  string
	chart  *diagram.Chart
	prefix string            // the trace's element id prefix of this chart ("c0_a3_")
	nodes  map[string]string // chart node ID → element id
	edges  []edgeRef
	dot    []byte // with placeholder ids
	svg    string // the rendering, with the trace's ids
}

type edgeRef struct {
	from, to string
	names    []string
	id       string
	attrs    map[string]string
}

// newChartRef copies c with element ids on its nodes and edges.
func newChartRef(kind, title string, c *diagram.Chart, prefix string) (*chartRef, error) {
	cp := *c
	cp.Nodes = make([]diagram.Node, len(c.Nodes))
	cp.Edges = make([]diagram.Edge, len(c.Edges))
	r := &chartRef{Kind: kind, Title: title, chart: &cp, prefix: prefix, nodes: map[string]string{}}
	for i, n := range c.Nodes {
		n.Attrs = copyAttrs(n.Attrs)
		local := fmt.Sprintf("n%d", i)
		n.Attrs["id"] = placeholder + local
		r.nodes[n.ID] = prefix + local
		cp.Nodes[i] = n
	}
	for i, e := range c.Edges {
		e.Attrs = copyAttrs(e.Attrs)
		local := fmt.Sprintf("e%d", i)
		e.Attrs["id"] = placeholder + local
		cp.Edges[i] = e
		r.edges = append(r.edges, edgeRef{from: e.From, to: e.To, names: strings.Split(e.Name, "; "), id: prefix + local, attrs: e.Attrs})
	}
	dot, err := cp.DOT()
	if err != nil {
		return nil, err
	}
	r.dot = dot
	return r, nil
}

func copyAttrs(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// edge returns the element id of the edge from → to that stands for the
// transition called name, or "".
func (r *chartRef) edge(from, to, name string) string {
	for _, e := range r.edges {
		if e.from != from || e.to != to {
			continue
		}
		for _, n := range e.names {
			if n == name {
				return e.id
			}
		}
	}
	return ""
}

// traceCharts are the charts of one trace.
type traceCharts struct {
	actors []*chartRef // per actor; nil when the actor has no chart on the page
	seq    *chartRef
	states *chartRef
	// stateIdx is the state graph's state number of each state of the trace.
	stateIdx []int
}

// newTraceCharts draws the charts of trace tr of sc, with element ids
// prefixed by id+"_": the sequence diagram, a chart of each actor that
// takes a step (a driver's XenbusState machine, else its flowchart), and
// the state graph when it has at most maxStates states.
func newTraceCharts(id string, sys *model.System, tr *trace.Trace, maxStates int) (*traceCharts, error) {
	ch := &traceCharts{actors: make([]*chartRef, len(sys.Actors))}
	var err error
	if ch.seq, err = newChartRef("sequence", "sequence diagram", diagram.Sequence(tr), id+"_seq_"); err != nil {
		return nil, err
	}
	moves := map[string]bool{}
	for _, s := range tr.Steps {
		moves[s.Actor] = true
	}
	for ai := range sys.Actors {
		a := &sys.Actors[ai]
		if !moves[a.Name] {
			continue
		}
		prefix := fmt.Sprintf("%s_a%d_", id, ai)
		if a.Kind == model.Frontend || a.Kind == model.Backend {
			if c, err := diagram.DriverChart(sys, ai); err == nil {
				if ch.actors[ai], err = newChartRef("driver", a.Name+": XenbusState machine", c, prefix); err != nil {
					return nil, err
				}
				continue
			}
		}
		c, err := diagram.ActorChart(sys, []int{ai})
		if err != nil {
			continue // an actor whose transitions apply anywhere: no flowchart
		}
		if ch.actors[ai], err = newChartRef("flowchart", a.Name+": control flow", c, prefix); err != nil {
			return nil, err
		}
	}
	if maxStates > 0 {
		sg, err := diagram.Explore(sys, maxStates)
		if err == nil {
			ids := make([]int32, len(tr.Steps))
			for i, s := range tr.Steps {
				ids[i] = s.ID
			}
			idx, err := sg.PathStates(ids)
			if err != nil {
				return nil, fmt.Errorf("report: %s: %v", tr.Scenario, err)
			}
			c, err := sg.Chart("states-"+tr.Scenario, "reachable states of "+tr.Scenario, ids)
			if err != nil {
				return nil, err
			}
			if ch.states, err = newChartRef("states", "state graph", c, id+"_st_"); err != nil {
				return nil, err
			}
			ch.stateIdx = idx
		}
	}
	return ch, nil
}

// all returns the charts in page order.
func (ch *traceCharts) all() []*chartRef {
	out := []*chartRef{ch.seq}
	for _, r := range ch.actors {
		if r != nil {
			out = append(out, r)
		}
	}
	if ch.states != nil {
		out = append(out, ch.states)
	}
	return out
}

// box is the chart node actor ai is at in st.
func box(sys *model.System, r *chartRef, ai int, st model.State) string {
	if r.Kind == "driver" {
		n, _ := diagram.DriverNode(sys, ai, st)
		return n
	}
	a := &sys.Actors[ai]
	return a.LocName(sys.LocOf(st, ai))
}

// stateMarks are the element ids that state number k of the trace (st)
// marks as current: each charted actor's box, and the state graph's node.
func (ch *traceCharts) stateMarks(sys *model.System, st model.State, k int) []string {
	var out []string
	for ai, r := range ch.actors {
		if r == nil {
			continue
		}
		if id, ok := r.nodes[box(sys, r, ai, st)]; ok {
			out = append(out, id)
		}
	}
	if ch.states != nil {
		if id, ok := ch.states.nodes[fmt.Sprintf("s%d", ch.stateIdx[k])]; ok {
			out = append(out, id)
		}
	}
	return out
}

// stepMarks are the element ids that step i (from 0) marks: its label,
// action box and arrows in the sequence diagram, the edge it takes in its
// actor's chart, and its edge in the state graph.
func (ch *traceCharts) stepMarks(sys *model.System, pre model.State, t *model.Transition, post model.State, i int) []string {
	var out []string
	if id, ok := ch.seq.nodes[fmt.Sprintf("S%03d", i+1)]; ok {
		out = append(out, id)
	}
	row := 2*i + 2
	for _, n := range ch.seq.chart.Nodes {
		if _, r, ok := lanePoint(n.ID); ok && r == row && n.Attrs["shape"] == "box" && n.Label == "" {
			out = append(out, ch.seq.nodes[n.ID])
		}
	}
	for _, e := range ch.seq.edges {
		_, rf, ok1 := lanePoint(e.from)
		_, rt, ok2 := lanePoint(e.to)
		if ok1 && ok2 && rf == row && rt == row && e.attrs["style"] != "invis" {
			out = append(out, e.id)
		}
	}
	if r := ch.actors[t.Actor]; r != nil {
		if id := r.edge(box(sys, r, t.Actor, pre), box(sys, r, t.Actor, post), t.Name); id != "" {
			out = append(out, id)
		}
	}
	if ch.states != nil {
		if id := ch.states.edge(fmt.Sprintf("s%d", ch.stateIdx[i]), fmt.Sprintf("s%d", ch.stateIdx[i+1]), sys.Actors[t.Actor].Name+": "+t.Name); id != "" {
			out = append(out, id)
		}
	}
	return out
}

// lanePoint parses a sequence diagram's lifeline point "Lnn.rrr".
func lanePoint(id string) (lane, row int, ok bool) {
	if len(id) != 7 || id[0] != 'L' || id[3] != '.' {
		return 0, 0, false
	}
	_, err := fmt.Sscanf(id, "L%02d.%03d", &lane, &row)
	return lane, row, err == nil
}
