// Package realhost holds xbcheck's judgement of the model by a real Xen
// host: the catalogue of real operations (xl create, block-attach,
// block-detach, network-attach, network-detach, destroy, and the racy
// ones), the scenario each is checked against, and the report of a run.
//
// The tests that boot the host (package xenhost) and perform the
// operations live in this package's files with the build tag realhost
// and run with `make realhost`. Each operation is bracketed by two marks
// in the daemon's request trace (xstrace.MarkPrefix); after the run the
// trace is read back and every change between the marks is explained by
// the model (package conform), with the writer the trace shows.
package realhost

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/realxs/conform"
	"github.com/xbcheck/xbcheck/realxs/observe"
	"github.com/xbcheck/xbcheck/realxs/xstrace"
	"github.com/xbcheck/xbcheck/scenario"
)

// A Device is one device of the guest, as it is when an operation
// starts.
type Device struct {
	Name  string // model name: xvda, vif0
	Kind  string // vbd or vif
	DevID int
	State string // absent or connected
}

// A Command is one command the operation ran, with its outcome.
type Command struct {
	Where    string // dom0 or the guest's name
	Argv     []string
	ExitCode int
	Duration time.Duration
	Output   string `json:",omitempty"` // stderr and stdout, trimmed, when the exit code is not 0
}

// An Observation is one real operation: what ran and the scenario of the
// model that must explain it.
type Observation struct {
	// Op names the operation ("block-detach while paused").
	Op        string
	Xenstored string // cxenstored or oxenstored
	Guest     string
	DomID     int
	// DomState is the guest's state for the model: running or paused.
	DomState string
	Devices  []Device
	// Model lists the model's operations, as "KIND DEVICE"
	// ("remove xvdb") or "domain-destroy GUEST".
	Model []string
	// Faults are model faults the real host may take.
	Faults []string
	// Backend overrides a device's backend driver ("none": unbound).
	Backend map[string]string
	// Properties the scenario checks (default: deadlock).
	Properties []string
	// Start and End label the marks around the operation in the trace.
	Start, End string
	Commands   []Command
	Duration   time.Duration
	// Played: xbcheck's own client (xstrace.Client) played the toolstack
	// (a played replay), so its changes are the toolstack actors'.
	Played bool
}

var scenarioTmpl = template.Must(template.New("s").Parse(`description = "real host: {{.Op}}"
[toolstack]
kind = "libxl"
version = "4.17"
[xenstored]
conflict = "{{.Xenstored}}"
version = "4.17"
[[domain]]
name = "{{.Guest}}"
id = {{.DomID}}
kind = "pv"
state = "{{.DomState}}"
{{range .Devices}}
[[device]]
name = "{{.Name}}"
kind = "{{.Kind}}"
frontend = "{{$.Guest}}"
devid = {{.DevID}}
state = "{{.State}}"
{{with index $.Backend .Name}}backend-driver = "{{.}}"
{{end}}{{end}}{{range .Ops}}
[[operation]]
kind = "{{.Kind}}"
{{if .Device}}device = "{{.Device}}"{{else}}domain = "{{.Domain}}"{{end}}
{{end}}
[faults]
allow = [{{range $i, $f := .Faults}}{{if $i}}, {{end}}"{{$f}}"{{end}}]
[check]
properties = [{{range $i, $p := .Props}}{{if $i}}, {{end}}"{{$p}}"{{end}}]
expect = "ok"
`))

// Scenario returns the scenario file of the model that must explain the
// operation.
func (o *Observation) Scenario() (string, error) {
	type op struct{ Kind, Device, Domain string }
	var ops []op
	for _, m := range o.Model {
		kind, arg, _ := strings.Cut(m, " ")
		if kind == "domain-destroy" {
			ops = append(ops, op{Kind: kind, Domain: arg})
		} else {
			ops = append(ops, op{Kind: kind, Device: arg})
		}
	}
	xs := o.Xenstored
	if xs == "" {
		xs = "cxenstored"
	}
	var b bytes.Buffer
	props := o.Properties
	if len(props) == 0 {
		props = []string{"deadlock"}
	}
	err := scenarioTmpl.Execute(&b, struct {
		*Observation
		Xenstored string
		Ops       []op
		Props     []string
	}{o, xs, ops, props})
	return b.String(), err
}

// A Result is the judgement of one observation.
type Result struct {
	Op        string
	Xenstored string
	Commands  []Command
	Duration  time.Duration
	// Steps are the changes to nodes the model knows; Explained and
	// Unexplained split them.
	Steps, Explained, Unexplained int
	// Coarser names each place where the model's step is coarser than
	// the real one (a named divergence, see Coarser).
	Coarser []string
	// Groups are the explanations, in trace order.
	Groups []conform.Group
	// Initial is empty when the real store matched the scenario's
	// initial state; else the difference.
	Initial string `json:",omitempty"`
	// Fired are the transitions that explained the run, per actor
	// ("blkback": ["probe", ...]), and All every transition of those
	// actors.
	Fired, All map[string][]string
	Scenario   string
	Err        string `json:",omitempty"`
}

// Judge explains the changes between the observation's marks in tr.
func Judge(tr *xstrace.Trace, o *Observation) *Result {
	r := &Result{Op: o.Op, Xenstored: o.Xenstored, Commands: o.Commands, Duration: o.Duration}
	fail := func(format string, args ...any) *Result {
		r.Err = fmt.Sprintf(format, args...)
		return r
	}
	src, err := o.Scenario()
	if err != nil {
		return fail("scenario: %v", err)
	}
	r.Scenario = src
	spec, err := scenario.Parse("realhost-"+strings.ReplaceAll(o.Op, " ", "-")+".toml", []byte(src))
	if err != nil {
		return fail("%v", err)
	}
	c, err := scenario.Build(spec)
	if err != nil {
		return fail("%v", err)
	}
	start, end := -1, -1
	for _, m := range tr.Marks {
		switch m.Label {
		case o.Start:
			start = m.Change
		case o.End:
			end = m.Change
		}
	}
	if start < 0 || end < start {
		return fail("marks %q and %q not found in order in the trace", o.Start, o.End)
	}
	base := tr.Replay(xstrace.Store{}, 0, start)
	opts := conform.Options{Faults: o.Faults}
	if o.Played {
		opts.Actors = func(sys *model.System, c *xstrace.Conn) []int {
			if c.Role == xstrace.Client {
				c = &xstrace.Conn{Role: xstrace.Toolstack}
			}
			return conform.ByRole(sys, c)
		}
	}
	rep := conform.Check(c.System, tr, base, start, end, opts)
	if !rep.Initial {
		r.Initial = rep.InitialDiff
		return fail("the real store before the operation is not the scenario's initial state")
	}
	r.Steps, r.Explained, r.Unexplained = rep.Steps, rep.Explained, rep.Unexplained
	r.Groups = rep.Groups
	for _, g := range rep.Groups {
		if g.Explained && len(g.Changes) > 1 {
			r.Coarser = append(r.Coarser, Coarser(g))
		}
	}
	r.Fired, r.All = coverage(c.System, rep.Fired)
	return r
}

// Coarser names a group that explains several real changes with one
// sequence of model steps, after the model's transitions that changed
// the compared nodes: "coarser: blkfront sees InitWait". A group that no
// step explains, because its changes cancel out on the compared nodes (a
// hotplug script writes hotplug-status and the toolstack then removes the
// backend directory), is named after its writers: "coarser: no step for
// hotplug, toolstack (no net change)".
func Coarser(g conform.Group) string {
	if len(g.Trans) == 0 {
		return "coarser: no step for " + strings.Join(g.Writers, ", ") + " (no net change)"
	}
	var ts []string
	for _, t := range g.Trans {
		ts = append(ts, actorRole(t))
	}
	return "coarser: " + strings.Join(ts, ", ")
}

// actorRole strips the device from "blkfront(xvdb): probe".
func actorRole(s string) string {
	if i := strings.IndexByte(s, '('); i >= 0 {
		if j := strings.Index(s[i:], ")"); j >= 0 {
			return s[:i] + s[i+j+1:]
		}
	}
	return s
}

func coverage(sys *model.System, fired map[int]bool) (yes, all map[string][]string) {
	yes, all = map[string][]string{}, map[string][]string{}
	for _, a := range sys.Actors {
		role := actorRole(a.Name)
		for _, t := range a.Trans {
			name := sys.Trans[t].Name
			if !slices.Contains(all[role], name) {
				all[role] = append(all[role], name)
			}
			if fired[t] && !slices.Contains(yes[role], name) {
				yes[role] = append(yes[role], name)
			}
		}
	}
	return yes, all
}

// Violated returns the properties of c that the run path of its model
// violates: the step and state invariants at each step, and, for a run
// that ends with every actor final, the eventually-properties at its end.
func Violated(c *scenario.Compiled, path []int32) []string {
	sys := c.System
	st := sys.Initial()
	bad := map[string]bool{}
	for _, id := range path {
		t := &sys.Trans[id]
		post := sys.Apply(st, t)
		for _, p := range c.Properties {
			switch {
			case p.Step != nil && !p.Step(st, id, post):
				bad[p.Name] = true
			case p.Kind == checker.Invariant && p.State != nil && !p.State(post):
				bad[p.Name] = true
			}
		}
		st = post
	}
	if sys.AllFinal(st) {
		for _, p := range c.Properties {
			if p.Kind == checker.Eventually && p.State != nil && !p.State(st) {
				bad[p.Name] = true
			}
		}
	}
	var out []string
	for n := range bad {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// SameShape reports whether a run took the counterexample's steps: the
// same steps that write to the store, in the same order, and the same
// steps in all. Where a step that writes nothing (a driver unregistering
// when its directory goes) falls between the others is not seen on a
// real host, so its place may differ.
func SameShape(sys *model.System, run, cex []int32) bool {
	visible := func(p []int32) []int32 {
		var out []int32
		for _, id := range p {
			if sys.Trans[id].Writes() {
				out = append(out, id)
			}
		}
		return out
	}
	sorted := func(p []int32) []int32 {
		q := slices.Clone(p)
		slices.Sort(q)
		return q
	}
	return slices.Equal(visible(run), visible(cex)) && slices.Equal(sorted(run), sorted(cex))
}

// A Replay is one played replay: xbcheck's client performed the
// toolstack's steps of a scenario for real while the real drivers
// answered.
type Replay struct {
	Name     string
	Scenario string
	// Steps are the run's steps, played ones marked.
	Steps []string
	// Played counts the steps performed by the player, Timers the timer
	// steps it took after the real components stayed still.
	Played, Timers int
	Final          bool
	// Divergence says where the real components left the model, if they
	// did.
	Divergence string `json:",omitempty"`
	// Violated are the properties the run violates; Counterexample is
	// the checker's for the scenario, and Shape whether the run took the
	// same steps.
	Violated       []string `json:",omitempty"`
	Counterexample []string `json:",omitempty"`
	Shape          bool     `json:",omitempty"`
	Scripts        []observe.Script
	Duration       time.Duration
}

// A Differential is one daemon's differential test (package difftest):
// random request sequences of several dom0 clients, the model's xenstore
// against the live daemon.
type Differential struct {
	Xenstored                             string // cxenstored or oxenstored
	Sequences, Requests, Commits, EAGAINs int64
	// Known counts the known differences met, by name (exec.Known), and
	// KnownChecked lists those whose own live check ran on the daemon.
	Known        map[string]int64
	KnownChecked []string
	// Unexplained counts the divergences no name explains (the run
	// stops at the first).
	Unexplained int
	Duration    time.Duration
}

// A Summary is a whole real-host run.
type Summary struct {
	Results []*Result
	// Replays are the played replays; Reproduced counts the violations
	// reproduced for real (by a played replay or by xl itself).
	Replays    []*Replay
	Reproduced int
	// Xenstored lists the daemons the run booted ("C", "O").
	Xenstored []string
	// Named lists the named divergences met, each once.
	Named []string
	// Differential lists the differential tests run, one per daemon;
	// their unexplained divergences count in the line's.
	Differential []*Differential
}

// Line is the summary line `make realhost` ends with.
func (s *Summary) Line() string {
	ops, steps, unexplained := 0, 0, 0
	named := map[string]bool{}
	for _, n := range s.Named {
		named[n] = true
	}
	for _, r := range s.Results {
		ops++
		steps += r.Steps
		unexplained += r.Unexplained
		if r.Err != "" {
			unexplained++
		}
		for _, c := range r.Coarser {
			named[c] = true
		}
	}
	for _, d := range s.Differential {
		unexplained += d.Unexplained
	}
	return fmt.Sprintf("realhost: %d operations observed, %d steps, %d unexplained, %d named divergences, %d replays (%d violations reproduced), xenstored %s",
		ops, steps, unexplained, len(named), len(s.Replays), s.Reproduced, strings.Join(s.Xenstored, "+"))
}

// Coverage merges the results' coverage: per actor, the transitions
// observed and all of them.
func (s *Summary) Coverage() (fired, all map[string][]string) {
	fired, all = map[string][]string{}, map[string][]string{}
	for _, r := range s.Results {
		for a, ts := range r.All {
			for _, t := range ts {
				if !slices.Contains(all[a], t) {
					all[a] = append(all[a], t)
				}
			}
		}
		for a, ts := range r.Fired {
			for _, t := range ts {
				if !slices.Contains(fired[a], t) {
					fired[a] = append(fired[a], t)
				}
			}
		}
	}
	for a := range all {
		sort.Strings(all[a])
		sort.Strings(fired[a])
	}
	return fired, all
}

// An xlDomain is one line of `xl list`.
type xlDomain struct {
	Name string
	ID   int
}

// xlGuests returns the domains but dom0 in the output of `xl list`: a
// header line, then one "NAME ID MEM VCPUS STATE TIME" line per domain.
// A dying domain may be listed as "(null)"; its ID still names it.
func xlGuests(xlList string) []xlDomain {
	var ds []xlDomain
	for _, line := range strings.Split(xlList, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		id, err := strconv.Atoi(f[1])
		if err != nil || id == 0 {
			continue // the header, or dom0
		}
		ds = append(ds, xlDomain{Name: f[0], ID: id})
	}
	return ds
}
