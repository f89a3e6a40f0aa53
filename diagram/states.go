package diagram

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"gonum.org/v1/gonum/graph"
	"gonum.org/v1/gonum/graph/path"
	"gonum.org/v1/gonum/graph/simple"
	"gonum.org/v1/gonum/graph/topo"
	"gonum.org/v1/gonum/graph/traverse"

	"github.com/xbcheck/xbcheck/model"
)

// DefaultMaxStates is the largest state graph drawn unless told otherwise:
// past that, a picture has more boxes than anyone can follow.
const DefaultMaxStates = 150

// A TooLargeError refuses to draw a state graph over the limit.
type TooLargeError struct {
	System string
	Limit  int
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("diagram: %s has more than %d reachable states: too many to draw readably (raise --max-states or draw a smaller scenario)", e.System, e.Limit)
}

// A StateGraph is the reachable state graph of a system with its analysis.
type StateGraph struct {
	Sys    *model.System
	States []model.State // in breadth-first order; 0 is the initial state
	// Edges per source state: the transitions and their targets.
	Out [][]StateEdge
	// SCCs are the strongly connected components with a cycle (more than
	// one state), each sorted, in the order of their first state.
	SCCs [][]int
	// Depth is each state's distance from the initial state.
	Depth []int
	// Complete marks the states where every actor is at a final location;
	// CanComplete the states from which one of those is reachable.
	Complete, CanComplete []bool
	g                     *simple.DirectedGraph
}

// A StateEdge is one transition between two states.
type StateEdge struct {
	To    int
	Trans int // index into Sys.Trans
}

// Explore builds the reachable state graph of sys breadth-first over
// Successors, or fails with a *TooLargeError past limit states, and
// analyses it with gonum: strongly connected components (topo.TarjanSCC),
// distances from the initial state (path.DijkstraFrom), and the states
// that can still reach completion (traverse.BreadthFirst over the reversed
// graph).
func Explore(sys *model.System, limit int) (*StateGraph, error) {
	if limit <= 0 {
		limit = DefaultMaxStates
	}
	sg := &StateGraph{Sys: sys}
	index := map[string]int{}
	add := func(st model.State) (int, bool) {
		if i, ok := index[string(st)]; ok {
			return i, true
		}
		if len(sg.States) >= limit {
			return 0, false
		}
		index[string(st)] = len(sg.States)
		sg.States = append(sg.States, append(model.State(nil), st...))
		sg.Out = append(sg.Out, nil)
		return len(sg.States) - 1, true
	}
	add(sys.Initial())
	buf := make(model.State, sys.Size())
	for i := 0; i < len(sg.States); i++ {
		over := false
		sys.Successors(sg.States[i], buf, func(t *model.Transition, next model.State) bool {
			j, ok := add(next)
			if !ok {
				over = true
				return false
			}
			sg.Out[i] = append(sg.Out[i], StateEdge{To: j, Trans: t.ID})
			return true
		})
		if over {
			return nil, &TooLargeError{System: sys.Name, Limit: limit}
		}
	}
	sg.analyse()
	return sg, nil
}

func (sg *StateGraph) analyse() {
	n := len(sg.States)
	g := simple.NewDirectedGraph()
	rev := simple.NewDirectedGraph()
	for i := 0; i < n; i++ {
		g.AddNode(simple.Node(i))
		rev.AddNode(simple.Node(i))
	}
	for i, out := range sg.Out {
		for _, e := range out {
			if e.To != i && !g.HasEdgeFromTo(int64(i), int64(e.To)) {
				g.SetEdge(g.NewEdge(simple.Node(i), simple.Node(e.To)))
				rev.SetEdge(rev.NewEdge(simple.Node(e.To), simple.Node(i)))
			}
		}
	}
	sg.g = g
	for _, comp := range topo.TarjanSCC(g) {
		if len(comp) < 2 {
			continue
		}
		ids := make([]int, len(comp))
		for k, nd := range comp {
			ids[k] = int(nd.ID())
		}
		sort.Ints(ids)
		sg.SCCs = append(sg.SCCs, ids)
	}
	sort.Slice(sg.SCCs, func(a, b int) bool { return sg.SCCs[a][0] < sg.SCCs[b][0] })
	sp := path.DijkstraFrom(simple.Node(0), g)
	sg.Depth = make([]int, n)
	for i := range sg.Depth {
		w := sp.WeightTo(int64(i))
		if math.IsInf(w, 1) {
			sg.Depth[i] = -1
		} else {
			sg.Depth[i] = int(w)
		}
	}
	sg.Complete = make([]bool, n)
	sg.CanComplete = make([]bool, n)
	var bf traverse.BreadthFirst
	for i, st := range sg.States {
		if sg.Sys.AllFinal(st) {
			sg.Complete[i] = true
			bf.Walk(rev, simple.Node(i), nil)
		}
	}
	for i := range sg.States {
		sg.CanComplete[i] = bf.Visited(simple.Node(i))
	}
}

// ShortestToComplete is the length of a shortest run from the initial
// state to a complete one, or -1.
func (sg *StateGraph) ShortestToComplete() int {
	best := -1
	for i, c := range sg.Complete {
		if c && sg.Depth[i] >= 0 && (best < 0 || sg.Depth[i] < best) {
			best = sg.Depth[i]
		}
	}
	return best
}

// PathStates replays the transition ids of a run from the initial state
// and returns the states it visits, starting with 0.
func (sg *StateGraph) PathStates(ids []int32) ([]int, error) {
	out := []int{0}
	cur := 0
	for k, id := range ids {
		found := -1
		for _, e := range sg.Out[cur] {
			if e.Trans == int(id) {
				found = e.To
				break
			}
		}
		if found < 0 {
			return nil, fmt.Errorf("diagram: step %d of the path (transition %d) leaves the state graph", k+1, id)
		}
		cur = found
		out = append(out, cur)
	}
	return out, nil
}

// Chart draws the state graph: a node per state, labelled with its
// number, its distance from the initial state and every actor's location;
// an edge per pair of states, labelled with the transitions between them.
// States that cannot reach completion are red, complete states have a
// double border, states on a cycle share a blue border and their
// component's number, and the run given by path (transition ids from the
// initial state; nil for none) is drawn bold red.
func (sg *StateGraph) Chart(name, title string, pathIDs []int32) (*Chart, error) {
	sys := sg.Sys
	onPath := map[[2]int]bool{}
	if len(pathIDs) > 0 {
		states, err := sg.PathStates(pathIDs)
		if err != nil {
			return nil, err
		}
		for k := 1; k < len(states); k++ {
			onPath[[2]int{states[k-1], states[k]}] = true
		}
	}
	scc := map[int]int{}
	for k, comp := range sg.SCCs {
		for _, i := range comp {
			scc[i] = k + 1
		}
	}
	stuck := 0
	for _, ok := range sg.CanComplete {
		if !ok {
			stuck++
		}
	}
	edges := 0
	for _, out := range sg.Out {
		edges += len(out)
	}
	summary := fmt.Sprintf("%d states, %d transitions; %d strongly connected components with a cycle; %d states cannot reach completion (red); shortest run to completion: %d steps",
		len(sg.States), edges, len(sg.SCCs), stuck, sg.ShortestToComplete())
	if len(pathIDs) > 0 {
		summary += "\nbold red: the counterexample"
	}
	c := &Chart{Name: name, Title: title + "\n" + summary,
		Attrs:     map[string]string{"rankdir": "TB", "nodesep": "0.3"},
		NodeAttrs: map[string]string{"shape": "box", "style": "rounded,filled", "fillcolor": "white"}}
	ab := newAbbrev(sys, nil)
	for i, st := range sg.States {
		lines := []string{fmt.Sprintf("s%d  (depth %d)", i, sg.Depth[i])}
		if k := scc[i]; k > 0 {
			lines[0] += fmt.Sprintf("  cycle %d", k)
		}
		for ai := range sys.Actors {
			a := &sys.Actors[ai]
			lines = append(lines, a.Name+": "+a.LocName(sys.LocOf(st, ai)))
		}
		attrs := map[string]string{"tooltip": escText(ab.text(sys.Describe(st)), false)}
		if !sg.CanComplete[i] {
			attrs["fillcolor"] = "#f6c9c4"
		}
		if sg.Complete[i] {
			attrs["peripheries"] = "2"
		}
		if scc[i] > 0 {
			attrs["color"] = "#1f4e9c"
			attrs["penwidth"] = "2"
		}
		if i == 0 {
			attrs["penwidth"] = "3"
		}
		c.Nodes = append(c.Nodes, Node{ID: fmt.Sprintf("s%d", i), Label: strings.Join(lines, "\n"), Attrs: attrs})
	}
	for i, out := range sg.Out {
		var order []int
		labels := map[int][]string{}
		for _, e := range out {
			t := &sys.Trans[e.Trans]
			if _, ok := labels[e.To]; !ok {
				order = append(order, e.To)
			}
			labels[e.To] = append(labels[e.To], sys.Actors[t.Actor].Name+": "+t.Name)
		}
		for _, j := range order {
			attrs := map[string]string{}
			if onPath[[2]int{i, j}] {
				attrs["color"], attrs["fontcolor"], attrs["penwidth"] = "#c0392b", "#c0392b", "3"
			}
			c.Edges = append(c.Edges, Edge{From: fmt.Sprintf("s%d", i), To: fmt.Sprintf("s%d", j), Name: strings.Join(labels[j], "; "),
				Label: strings.Join(labels[j], "\n"), Attrs: attrs})
		}
	}
	return c, nil
}

// Graph returns the gonum graph of the states (node ids are state
// numbers), for further analysis.
func (sg *StateGraph) Graph() graph.Directed { return sg.g }
