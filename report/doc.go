// Package report renders the results of a run for people and for CI: one
// self-contained HTML page per run (HTML), and JUnit XML (JUnit).
//
// # The HTML report
//
// The page needs no network: its CSS, its script, its data and its
// diagrams (SVG rendered by Graphviz's dot from the charts of package
// diagram) are all inlined. It lists the scenarios with their verdicts
// and, for each trace (a counterexample of xbcheck, a run or replay of
// xbsim), a step-through of the run: every actor's control location, the
// xenstore tree with the step's changes marked (values changed, nodes
// created and removed), the watch events pending, the transaction bodies
// in flight, the step's guard and operations in protocol words, the
// sequence diagram with the step marked, each actor's flowchart (or a
// driver's XenbusState machine) with its current box marked, and, for a
// scenario small enough for diagram.Explore, the whole state graph with
// the current state marked.
//
// Marking is done in the browser by element id: each chart is drawn with
// an id on every node and edge (the DOT "id" attribute, which dot copies
// into the SVG), and the page's data says which ids each state and each
// step marks (class xb-cur for where actors are, xb-step for what the
// step did). Keys: → or n next step, ← or p previous, v the violating
// step, Home and End; each step has its own link, #cK-sN (trace K, step N;
// s0 is the initial state).
//
// A trace may carry a RealTrace: what a real host did during the same run,
// shown beside the model's steps (the hook for real-host replays).
//
// # JUnit
//
// JUnit writes one testsuite with a testcase per scenario, following the
// elements and attributes Apache Ant's JUnit schema requires (the format
// Jenkins, GitLab and GitHub test reporters read); a verdict that is not
// the expected one is a failure whose text is the counterexample.
package report
