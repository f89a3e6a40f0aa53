// Package coverage says which transitions of the model a set of scenarios
// exercises: per actor and version, the transitions that fired in some
// explored state, and those that never did.
//
// A scenario's system is explored in full for it (no properties, so no
// exploration stops at a violation; no partial-order reduction, which
// leaves transitions out by design), with every successor's transition
// recorded. Transitions are identified across scenarios by their actor's
// role (the actor's name with the device or domain it serves written
// "(·)": blkback(·), libxl-remove(·)), the version of the code the actor
// stands for (the toolstack's, "libxl 4.17"; the Linux drivers, qemu and
// the domains' lifecycle are unversioned in the model) and the
// transition's name. A qemu serves several devices with the same code,
// one transition per device named after it ("connect disk0"): there the
// device's name is written "(·)" too ("connect (·)"), so that a
// transition counts once whatever the scenarios call their disks. Symmetry reduction stays on: a transition of one of
// several interchangeable devices fires in the representative state of
// every state where it fires, under the same role.
//
// A hostile guest's transitions (model.AddHostileGuest) are generated
// from the scenario's paths and values, one per node and value, not
// written from any real code, and are not counted.
package coverage

import (
	"context"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/model"
)

// A Key names one transition of the model's code across scenarios: its
// actor's role and its name. The versions whose code has it are kept
// beside it, and whether it fired in each.
type Key struct {
	Actor      string // the role: blkback(·), libxl-remove(·)
	Transition string
}

// An Actor is the coverage of one role.
type Actor struct {
	Actor string `json:"actor"`
	// Versions lists the versions of the role's code the scenarios have
	// ("libxl 4.17"), or is empty for an unversioned role.
	Versions []string `json:"versions,omitempty"`
	Fired    int      `json:"fired"`
	Total    int      `json:"total"`
	// Transitions lists every transition of the role, in the order the
	// scenarios first declare them.
	Transitions []Transition `json:"transitions"`
	// Scenarios is how many scenarios have the role.
	Scenarios int `json:"scenarios"`
}

// A Transition is one transition of a role: the versions whose code has
// it and those in which it fired (both empty for an unversioned role).
type Transition struct {
	Name     string   `json:"name"`
	Fired    bool     `json:"fired"`
	Versions []string `json:"versions,omitempty"`
	FiredIn  []string `json:"fired_in,omitempty"`
}

// A Report is the coverage of a set of scenarios.
type Report struct {
	Actors []Actor `json:"actors"`
	Fired  int     `json:"fired"`
	Total  int     `json:"total"`
	// Incomplete names the scenarios whose exploration stopped early
	// (a state bound, the context): their transitions count, but one
	// that did not fire there may fire further on.
	Incomplete []string `json:"incomplete,omitempty"`
}

// A Collector gathers the transitions of scenarios and whether each
// fired.
type Collector struct {
	order    []Key
	fired    map[Key]bool
	versions map[Key]map[string]bool
	firedIn  map[Key]map[string]bool
	roles    map[string]map[string]bool // role → scenarios
	inc      []string
}

// NewCollector returns an empty Collector.
func NewCollector() *Collector {
	return &Collector{fired: map[Key]bool{}, versions: map[Key]map[string]bool{}, firedIn: map[Key]map[string]bool{},
		roles: map[string]map[string]bool{}}
}

var served = regexp.MustCompile(`\([^)]*\)`)

// Role is an actor's name with the device or domain it serves written
// "(·)".
func Role(actor string) string { return served.ReplaceAllString(actor, "(·)") }

// Explore explores sys in full, with opt's bounds, workers and symmetry
// (its properties and partial-order reduction are not used), and reports
// which transitions fired: fired[id] for transition id.
func Explore(ctx context.Context, sys *model.System, opt checker.Options) (fired []bool, res checker.Result) {
	r := &recorder{System: sys, fired: make([]atomic.Bool, len(sys.Trans))}
	o := checker.Options{Context: ctx, MaxStates: opt.MaxStates, Workers: opt.Workers, MemoryBudget: opt.MemoryBudget,
		Symmetry: opt.Symmetry, Exact: opt.Exact, HashSeed: opt.HashSeed}
	res = checker.Check(r, nil, o)
	fired = make([]bool, len(sys.Trans))
	for i := range r.fired {
		fired[i] = r.fired[i].Load()
	}
	return fired, res
}

// recorder is sys, recording the transitions of the successors it
// yields. The embedded System gives the checker everything else (its
// symmetry, its transition count).
type recorder struct {
	*model.System
	fired []atomic.Bool
}

func (r *recorder) Next(st, next []byte, yield func(id, actor int32, fault bool, next []byte) bool) {
	r.System.Next(st, next, func(id, actor int32, fault bool, n []byte) bool {
		if f := &r.fired[id]; !f.Load() {
			f.Store(true)
		}
		return yield(id, actor, fault, n)
	})
}

// Add records scenario name's system, which transitions fired in it, and
// whether its exploration was complete. version gives the version of the
// code an actor stands for ("" for unversioned actors).
func (c *Collector) Add(name string, sys *model.System, fired []bool, complete bool, version func(a *model.Actor) string) {
	if !complete {
		c.inc = append(c.inc, name)
	}
	for ai := range sys.Actors {
		a := &sys.Actors[ai]
		if a.Kind == model.Guest {
			continue // generated hostile writes (package doc)
		}
		role, v := Role(a.Name), version(a)
		if c.roles[role] == nil {
			c.roles[role] = map[string]bool{}
		}
		c.roles[role][name] = true
		for _, ti := range a.Trans {
			k := Key{Actor: role, Transition: sys.Trans[ti].Name}
			if a.Kind == model.Qemu {
				k.Transition = servedDevice(sys, k.Transition)
			}
			if c.versions[k] == nil {
				c.versions[k], c.firedIn[k] = map[string]bool{}, map[string]bool{}
				c.order = append(c.order, k)
			}
			if v != "" {
				c.versions[k][v] = true
			}
			if fired[ti] {
				c.fired[k] = true
				if v != "" {
					c.firedIn[k][v] = true
				}
			}
		}
	}
}

// servedDevice writes "(·)" for the device name that ends a qemu
// transition's name ("connect disk0" → "connect (·)").
func servedDevice(sys *model.System, name string) string {
	for _, d := range sys.Devices {
		if strings.HasSuffix(name, " "+d.Name) {
			return strings.TrimSuffix(name, d.Name) + "(·)"
		}
	}
	return name
}

// Report summarises what was added, roles sorted by name.
func (c *Collector) Report() Report {
	byRole := map[string]*Actor{}
	roleVersions := map[string]map[string]bool{} // the union of its transitions'
	var rep Report
	for _, k := range c.order {
		a := byRole[k.Actor]
		if a == nil {
			a = &Actor{Actor: k.Actor, Scenarios: len(c.roles[k.Actor])}
			byRole[k.Actor], roleVersions[k.Actor] = a, map[string]bool{}
		}
		maps.Copy(roleVersions[k.Actor], c.versions[k])
		a.Total++
		rep.Total++
		if c.fired[k] {
			a.Fired++
			rep.Fired++
		}
		a.Transitions = append(a.Transitions, Transition{Name: k.Transition, Fired: c.fired[k],
			Versions: sortedVersions(c.versions[k]), FiredIn: sortedVersions(c.firedIn[k])})
	}
	for r, a := range byRole {
		a.Versions = sortedVersions(roleVersions[r])
		rep.Actors = append(rep.Actors, *a)
	}
	sort.Slice(rep.Actors, func(i, j int) bool { return rep.Actors[i].Actor < rep.Actors[j].Actor })
	rep.Incomplete = slices.Clone(c.inc)
	return rep
}

// Unfired lists the transitions that never fired.
func (r Report) Unfired() []Key {
	var ks []Key
	for _, a := range r.Actors {
		for _, t := range a.Transitions {
			if !t.Fired {
				ks = append(ks, Key{Actor: a.Actor, Transition: t.Name})
			}
		}
	}
	return ks
}

func sortedVersions(m map[string]bool) []string {
	vs := slices.Collect(maps.Keys(m))
	sort.Slice(vs, func(i, j int) bool { return versionLess(vs[i], vs[j]) })
	return vs
}

// versionLess orders "libxl 4.9" before "libxl 4.10".
func versionLess(a, b string) bool {
	na, nb := numbers(a), numbers(b)
	if len(na) == len(nb) && len(na) > 0 {
		return slices.Compare(na, nb) < 0
	}
	return a < b
}

var digits = regexp.MustCompile(`\d+`)

func numbers(s string) []int {
	var ns []int
	for _, m := range digits.FindAllString(s, -1) {
		n, _ := strconv.Atoi(m)
		ns = append(ns, n)
	}
	return ns
}
