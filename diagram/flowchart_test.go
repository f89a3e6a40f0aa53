package diagram

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/model/libxl"
	"github.com/xbcheck/xbcheck/scenario"
)

// TestFlowchartIsTheActor: every control location of the remove actor is
// a node, every transition (but the implicit "event ignored" cases) an
// edge between its locations, and there is nothing else.
func TestFlowchartIsTheActor(t *testing.T) {
	for _, vs := range FlowchartVersions {
		t.Run(vs, func(t *testing.T) {
			v, _ := libxl.ParseVersion(vs)
			sys, actors, err := RemoveSystem(v)
			if err != nil {
				t.Fatal(err)
			}
			c, err := RemoveFlowchart(vs)
			if err != nil {
				t.Fatal(err)
			}
			var locs, nodes []string
			for _, l := range sys.Actors[actors[0]].Locs {
				locs = append(locs, l.Name)
			}
			for _, n := range c.Nodes {
				nodes = append(nodes, n.ID)
			}
			if diff := cmp.Diff(locs, nodes, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("nodes are not the locations (-locations +nodes):\n%s", diff)
			}
			type arc struct{ From, To, Name string }
			want := map[arc]bool{}
			for _, ai := range actors {
				a := &sys.Actors[ai]
				for _, ti := range a.Trans {
					tr := &sys.Trans[ti]
					if tr.Kind == model.Ignore {
						continue
					}
					to := tr.To
					if to == model.SameLoc {
						to = tr.From
					}
					want[arc{a.Locs[tr.From].Name, a.Locs[to].Name, tr.Name}] = true
				}
			}
			got := map[arc]bool{}
			for _, e := range c.Edges {
				got[arc{e.From, e.To, e.Name}] = true
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("edges are not the transitions (-transitions +edges):\n%s", diff)
			}
		})
	}
}

// TestFlowchart42HasTheSeedStructure checks the 4.2 flowchart against the
// diagram of libxl_internal.h quoted in seed 1: its decisions and steps
// follow one another in the seed's order along the paths of the chart.
func TestFlowchart42HasTheSeedStructure(t *testing.T) {
	c, err := RemoveFlowchart("4.2")
	if err != nil {
		t.Fatal(err)
	}
	// The seed's boxes, found by their words in the location's label.
	find := func(words string) string {
		t.Helper()
		var ids []string
		for _, n := range c.Nodes {
			if strings.Contains(strings.ReplaceAll(n.Label, "\n", " "), words) {
				ids = append(ids, n.ID)
			}
		}
		if len(ids) != 1 {
			t.Fatalf("want one node saying %q, got %v", words, ids)
		}
		return ids[0]
	}
	qemu := find("device is provided by qemu?")
	if alive := find("domain alive?"); alive != qemu {
		t.Errorf("\"domain alive?\" is decided at %s, not with \"provided by qemu?\" at %s", alive, qemu)
	}
	wait2 := find("WAIT 2.0s TIMEOUT")
	set6 := find("SET B.E. STATE:=6")
	write5 := find("WRITE B.E. STATE:=5")
	commit := find("xenstore conflict: retry")
	wait6 := find("WAIT FOR STATE==6")
	script := find("RUN HOTPLUG SCRIPT")
	nuke := find("NUKE BACKEND")
	done := find("DONE")

	edge := func(from, to, nameHas string) *Edge {
		for i := range c.Edges {
			e := &c.Edges[i]
			if e.From == from && e.To == to && strings.Contains(e.Name, nameHas) {
				return e
			}
		}
		return nil
	}
	// reach: a path from one box to another that passes through none of
	// the boxes in avoid.
	reach := func(from, to string, avoid ...string) bool {
		seen := map[string]bool{from: true}
		for _, a := range avoid {
			seen[a] = true
		}
		queue := []string{from}
		for len(queue) > 0 {
			n := queue[0]
			queue = queue[1:]
			for _, e := range c.Edges {
				if e.From != n || seen[e.To] && e.To != to {
					continue
				}
				if e.To == to {
					return true
				}
				seen[e.To] = true
				queue = append(queue, e.To)
			}
		}
		return false
	}
	all := []string{qemu, wait2, set6, write5, commit, wait6, script, nuke, done}
	others := func(keep ...string) []string {
		var out []string
		for _, n := range all {
			if !contains(keep, n) {
				out = append(out, n)
			}
		}
		return out
	}
	// Each path of the seed, step by step: each step reaches the next
	// without passing through any other box of the seed.
	paths := map[string][]string{
		"qemu, domain dead: the bodge":      {qemu, wait2, set6, script, nuke, done},
		"not qemu, or alive: the handshake": {qemu, write5, commit, wait6, script, nuke, done},
		"WAIT FOR STATE==6 timeout":         {wait6, nuke, done},
	}
	for name, p := range paths {
		for i := 1; i < len(p); i++ {
			if !reach(p[i-1], p[i], others(p[i-1], p[i])...) {
				t.Errorf("%s: no path from %s to %s through no other step of the seed", name, p[i-1], p[i])
			}
		}
	}
	// The decisions and their labels.
	if e := edge(qemu, wait2, "domain not running"); e == nil || !strings.Contains(e.Label, "paused,crashed,shutdown,dying") {
		t.Errorf("no edge \"qemu backend, domain not running\" from %s to %s guarded by the domain's state", qemu, wait2)
	}
	if edge(qemu, write5, "domain alive") == nil || edge(qemu, write5, "initiate") == nil {
		t.Errorf("%s: want the two ways to %s (not qemu; qemu and alive)", qemu, write5)
	}
	if e := edge(wait2, set6, "timeout (2 s)"); e == nil || e.Attrs["color"] != "darkorange3" {
		t.Errorf("want the 2 s timer from %s to %s", wait2, set6)
	}
	if e := edge(set6, script, "SET B.E. STATE:=6"); e == nil || !strings.Contains(e.Label, `WRITE BE/state "6"`) {
		t.Errorf("want SET B.E. STATE:=6 writing BE/state 6 from %s to %s", set6, script)
	}
	if e := edge(write5, commit, "WRITE B.E. STATE:=5"); e == nil || !strings.Contains(e.Label, `WRITE BE/state "5"`) {
		t.Errorf("want WRITE B.E. STATE:=5 writing BE/state 5 in the transaction from %s", write5)
	}
	if e := edge(commit, write5, "xenstore conflict"); e == nil || !strings.Contains(e.Label, "if xenstore conflict") {
		t.Errorf("want the xenstore-conflict retry from %s back to %s", commit, write5)
	}
	if edge(wait6, script, "state Closed") == nil {
		t.Errorf("want WAIT FOR STATE==6 ok from %s to %s", wait6, script)
	}
	timeout := false
	for _, e := range c.Edges {
		if e.From == wait6 && strings.HasPrefix(e.Name, "timeout") && reach(e.To, nuke, script) {
			timeout = true
		}
	}
	if !timeout {
		t.Errorf("want a timeout of WAIT FOR STATE==6 leading to NUKE BACKEND without the hotplug script")
	}
	// The bodge never writes Closing: it does not pass WRITE B.E. STATE:=5.
	if reach(wait2, write5) && !reach(wait2, script, write5) {
		t.Errorf("the bodge needs WRITE B.E. STATE:=5 to reach the script")
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// TestFix9eaaedfcdee5IsVisible: the comparison marks exactly the
// transitions the fix changed.
func TestFix9eaaedfcdee5IsVisible(t *testing.T) {
	c, err := Fix9eaaedfcdee5()
	if err != nil {
		t.Fatal(err)
	}
	var only []string
	for _, e := range c.Edges {
		if strings.HasPrefix(e.Label, "[") {
			only = append(only, fmt.Sprintf("%s %s->%s", e.Label[:strings.Index(e.Label, "]")+1], e.From, e.To))
		}
	}
	want := []string{
		"[4.10 only] txn->commit", "[4.10 only] txn->commit",
		"[4.11 only] txn->hotplug-done", "[4.11 only] txn->hotplug-done",
	}
	if diff := cmp.Diff(want, only); diff != "" {
		t.Errorf("changed edges (-want +got):\n%s", diff)
	}
}

func TestDriverMachines(t *testing.T) {
	type arc struct{ From, To string }
	want := map[string][]arc{
		"blkback":  {{"unbound", "InitWait"}, {"InitWait", "Connected"}, {"Connected", "Closing"}, {"Closing", "Closed"}, {"Closed", "unbound"}},
		"blkfront": {{"unbound", "Initialising"}, {"Initialising", "Initialised"}, {"Initialised", "Connected"}, {"Connected", "Closed"}, {"Closed", "unbound"}},
		"pciback":  {{"unbound", "InitWait"}, {"InitWait", "Initialised"}, {"Initialised", "Connected"}, {"Connected", "Reconfigured"}, {"Reconfigured", "Connected"}},
		"pcifront": {{"unbound", "Initialised"}, {"Initialised", "Connected"}, {"Connected", "Reconfiguring"}, {"Reconfiguring", "Connected"}, {"Connected", "Closed"}},
	}
	for _, d := range Drivers {
		c, err := DriverMachine(d)
		if err != nil {
			t.Fatal(err)
		}
		got := map[arc]bool{}
		for _, e := range c.Edges {
			got[arc{e.From, e.To}] = true
			if e.From == e.To {
				t.Errorf("%s: self-loop %s drawn as an edge", d, e.Name)
			}
		}
		for _, a := range want[d] {
			if !got[a] {
				t.Errorf("%s: no transition %s -> %s", d, a.From, a.To)
			}
		}
	}
	if _, err := DriverMachine("floppy"); err == nil {
		t.Error("DriverMachine(floppy) did not fail")
	}
}

func TestSequenceMarksTheViolation(t *testing.T) {
	comp, err := scenario.Load("../scenarios/seed1-backend-gone-4.10.toml")
	if err != nil {
		t.Fatal(err)
	}
	trs, _, err := Counterexamples(context.Background(), comp, 0)
	if err != nil || len(trs) != 1 {
		t.Fatalf("counterexamples: %v, %v", trs, err)
	}
	tr := trs[0]
	c := Sequence(tr)
	var red, arrows []string
	for _, e := range c.Edges {
		if e.Name == "" {
			continue // lifelines and layout
		}
		arrows = append(arrows, e.Name)
		if e.Attrs["color"] == "#c0392b" {
			red = append(red, e.Name)
		}
	}
	last := tr.Steps[len(tr.Steps)-1].Transition
	if diff := cmp.Diff([]string{last}, red); diff != "" {
		t.Errorf("red arrows (-want +got):\n%s", diff)
	}
	n := 0
	for _, s := range tr.Steps {
		if hasXenstoreOp(s.Ops) {
			n++
		}
	}
	if len(arrows) != n {
		t.Errorf("%d arrows to xenstore; want %d (one per step with a xenstore operation)", len(arrows), n)
	}
	for i, s := range tr.Steps {
		l := c.node(fmt.Sprintf("S%03d", i+1))
		if l == nil || !strings.Contains(l.Label, s.Transition) {
			t.Errorf("step %d has no label naming %q", i+1, s.Transition)
			continue
		}
		for _, op := range s.Ops {
			if !strings.Contains(l.Label, op) {
				t.Errorf("step %d: label lacks %q", i+1, op)
			}
		}
	}
}

func TestStateGraph(t *testing.T) {
	comp, err := scenario.Load("../scenarios/seed2-generic-no-timeouts-deadlock.toml")
	if err != nil {
		t.Fatal(err)
	}
	sg, err := Explore(comp.System, 0)
	if err != nil {
		t.Fatal(err)
	}
	stuck := 0
	for i, ok := range sg.CanComplete {
		if !ok {
			stuck++
			if sg.Complete[i] {
				t.Errorf("s%d is complete but cannot reach completion", i)
			}
		}
	}
	if stuck == 0 {
		t.Errorf("the deadlocking scenario has no state that cannot complete")
	}
	if sg.Depth[0] != 0 {
		t.Errorf("depth of the initial state %d", sg.Depth[0])
	}
	trs, res, err := Counterexamples(context.Background(), comp, 0)
	if err != nil || len(trs) == 0 {
		t.Fatalf("counterexamples: %v", err)
	}
	c, err := sg.Chart("x", "x", res.Violations[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	bold := 0
	for _, e := range c.Edges {
		if e.Attrs["penwidth"] == "3" {
			bold++
		}
	}
	if bold != len(res.Violations[0].Path) {
		t.Errorf("%d highlighted edges; want the %d steps of the counterexample", bold, len(res.Violations[0].Path))
	}
	// The checker and the drawing see the same last state of the path.
	states, err := sg.PathStates(res.Violations[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	if end := states[len(states)-1]; sg.CanComplete[end] {
		t.Errorf("the deadlock counterexample ends in s%d, which can still complete", end)
	}
}

func TestStateGraphCycles(t *testing.T) {
	comp, err := scenario.Load("../scenarios/seed4-xend-vfb-first-liveness.toml")
	if err != nil {
		t.Fatal(err)
	}
	sg, err := Explore(comp.System, 500)
	if err != nil {
		t.Fatal(err)
	}
	for _, comp := range sg.SCCs {
		in := map[int]bool{}
		for _, i := range comp {
			in[i] = true
		}
		// Every state of a component reaches another state of it.
		for _, i := range comp {
			ok := false
			for _, e := range sg.Out[i] {
				ok = ok || in[e.To]
			}
			if !ok {
				t.Errorf("s%d has no edge inside its component %v", i, comp)
			}
		}
	}
}

func TestStateGraphTooLarge(t *testing.T) {
	comp, err := scenario.Load("../scenarios/seed3-concurrent-attach-4.17.toml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Explore(comp.System, 20)
	var tl *TooLargeError
	if !errors.As(err, &tl) {
		t.Fatalf("Explore with limit 20: %v; want a TooLargeError", err)
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, "more than 20 reachable states") {
		t.Errorf("message %q: want one line saying the limit", msg)
	}
}
