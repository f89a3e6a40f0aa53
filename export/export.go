// Package export writes a compiled scenario for other tools: as JSON (the
// model's actors, locations, transitions with their guards and
// operations, the xenstore paths, values, variables and watches, and the
// properties), as Promela for SPIN (model.System.Promela, the
// translation bench/ checks against SPIN), and as a DOT state graph
// (diagram.Explore) for small scenarios. xbcheck export is its command.
//
// # The JSON schema, xbcheck-model/1
//
// The document is one object. Fields are only ever added within a schema
// version; a change to the meaning or removal of a field makes a new
// version, named in "schema". Every name below is a JSON key.
//
//	schema       "xbcheck-model/1"
//	scenario     the scenario's name; file: the scenario file
//	conflict     "oxenstored" or "cxenstored": when a transaction commit fails (xenstore-wire.md 1.7)
//	timers       "last-resort" (a timer fires only when no protocol step is enabled) or "any-time"
//	remove_owned_on_death  xenstored 4.17+ (XSA-419) deletes a dying domain's nodes
//	death_fires_watches    that deletion fires watches (C xenstored) or not (oxenstored)
//	faults       the faults the scenario allows
//	domains      [{id, name, variable}]: the variable holds the run state (running, paused, crashed, shutdown, dying, gone)
//	paths        [{id, path, parent, owner, initial}]: every xenstore node any actor can touch;
//	             parent is a path id or null for "/"; owner a domain id; initial the value or null (absent)
//	variables    [{id, name, actor, initial, values}]: one-byte variables; actor is an actor id or
//	             null (shared); values names the values when they have names; initial is a number
//	watches      [{id, actor, path, initially}]: initially "off", "registered" or "pending"
//	devices      [{name, kind, backend_kind, devid, frontend_domain, backend_domain, frontend_dir, backend_dir}]
//	actors       [{id, name, kind, domain, fair, variable, initial, locations, transitions}]
//	  kind        toolstack, frontend, backend, qemu, daemon, lifecycle
//	  domain      the domain it runs in, or null; it moves only while that domain runs
//	  fair        the eventually-properties assume it is weakly fair
//	  variable    the variable holding its location; initial: its start location's name
//	  locations   [{name, desc, final}]
//	  transitions [{id, name, desc, from, to, kind, watch, guard, guard_atoms, ops, sets,
//	                timeout_ms, slow, fault}]
//	    from       a location name, or "*" for a watch handler case that applies anywhere
//	    to         a location name, or null when the transition keeps the location
//	    kind       "atomic" (its ops apply at once), "txn-body" (starts a transaction: the guard and
//	               reads see the store now, writes apply at the commit), "commit" (applies the open
//	               body's writes, then its own ops after TXN_COMMIT), "eagain" (the commit fails),
//	               "ignore" (consumes a watch event no case wanted)
//	    watch      the watch id whose pending event it consumes, or null
//	    guard      the guard in the protocol's words ("true" when empty)
//	    guard_atoms [{kind, path, value, values, variable, is, in}]: the guard's conjunction; kind is
//	               present, absent, eq, ne, in (path, value or values; null stands for absent),
//	               var-eq, var-ne, var-in (variable, is or in, by value name when named),
//	               conflict, no-conflict (the actor's open transaction would or would not fail),
//	               writable (the actor's domain may write path: a hostile guest's guard)
//	    ops        [{op, path, value, from, watch, domain, note, text}]: xenstore requests in order;
//	               op is READ, DIRECTORY, WRITE, MKDIR, RM, PATH_CLEANUP, SET_PERMS, SWITCH_STATE,
//	               REPLACE, WATCH, UNWATCH, TXN_START, TXN_COMMIT, TXN_ABORT, DOMAIN_GONE or SIGNAL;
//	               text is the op as traces print it
//	    sets       [{variable, value}]: assignments after the ops
//	    timeout_ms a timer firing after this long in its location (0: not a timer)
//	    slow       may take longer than a timer (qemu's exit after SIGHUP)
//	    fault      the fault that enables it ("" for a protocol step)
//	properties   [{name, kind, doc}]: kind is invariant, step, deadlock or eventually
//
// The semantics of the operations are those of docs/model.md; the
// JSON says what the model does, not how the checker stores it.
package export

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/model"
)

// Schema names the JSON format.
const Schema = "xbcheck-model/1"

// Model is the JSON document.
type Model struct {
	Schema             string `json:"schema"`
	Scenario           string `json:"scenario"`
	File               string `json:"file,omitempty"`
	Conflict           string `json:"conflict"`
	Timers             string `json:"timers"`
	RemoveOwnedOnDeath bool   `json:"remove_owned_on_death"`
	// DeathFiresWatches: that deletion fires watches (C xenstored) or
	// not (oxenstored).
	DeathFiresWatches bool       `json:"death_fires_watches"`
	Faults            []string   `json:"faults"`
	Domains           []Domain   `json:"domains"`
	Paths             []Path     `json:"paths"`
	Variables         []Variable `json:"variables"`
	Watches           []Watch    `json:"watches"`
	Devices           []Device   `json:"devices"`
	Actors            []Actor    `json:"actors"`
	Properties        []Property `json:"properties"`
}

// Domain is a domain and the variable of its run state.
type Domain struct {
	ID       int    `json:"id"`
	Name     string `json:"name"`
	Variable int    `json:"variable"`
}

// Path is an interned xenstore node.
type Path struct {
	ID      int     `json:"id"`
	Path    string  `json:"path"`
	Parent  *int    `json:"parent"`
	Owner   int     `json:"owner"`
	Initial *string `json:"initial"`
}

// Variable is a one-byte state variable.
type Variable struct {
	ID      int      `json:"id"`
	Name    string   `json:"name"`
	Actor   *int     `json:"actor"`
	Initial int      `json:"initial"`
	Values  []string `json:"values,omitempty"`
}

// Watch is a xenstore watch one actor may register.
type Watch struct {
	ID        int    `json:"id"`
	Actor     int    `json:"actor"`
	Path      string `json:"path"`
	Initially string `json:"initially"`
}

// Device is a split device of the scenario.
type Device struct {
	Name           string `json:"name"`
	Kind           string `json:"kind"`
	BackendKind    string `json:"backend_kind"`
	DevID          int    `json:"devid"`
	FrontendDomain int    `json:"frontend_domain"`
	BackendDomain  int    `json:"backend_domain"`
	FrontendDir    string `json:"frontend_dir"`
	BackendDir     string `json:"backend_dir"`
}

// Actor is one extended finite-state machine.
type Actor struct {
	ID          int          `json:"id"`
	Name        string       `json:"name"`
	Kind        string       `json:"kind"`
	Domain      *int         `json:"domain"`
	Fair        bool         `json:"fair"`
	Variable    int          `json:"variable"`
	Initial     string       `json:"initial"`
	Locations   []Location   `json:"locations"`
	Transitions []Transition `json:"transitions"`
}

// Location is a control location.
type Location struct {
	Name  string `json:"name"`
	Desc  string `json:"desc"`
	Final bool   `json:"final"`
}

// Transition is a labelled edge of an actor.
type Transition struct {
	ID         int     `json:"id"`
	Name       string  `json:"name"`
	Desc       string  `json:"desc"`
	From       string  `json:"from"`
	To         *string `json:"to"`
	Kind       string  `json:"kind"`
	Watch      *int    `json:"watch"`
	Guard      string  `json:"guard"`
	GuardAtoms []Atom  `json:"guard_atoms"`
	Ops        []Op    `json:"ops"`
	Sets       []Set   `json:"sets"`
	TimeoutMS  int     `json:"timeout_ms"`
	Slow       bool    `json:"slow"`
	Fault      string  `json:"fault"`
}

// Atom is one conjunct of a guard.
type Atom struct {
	Kind     string    `json:"kind"`
	Path     string    `json:"path,omitempty"`
	Value    *string   `json:"value,omitempty"`
	Values   []*string `json:"values,omitempty"`
	Variable string    `json:"variable,omitempty"`
	Is       string    `json:"is,omitempty"`
	In       []string  `json:"in,omitempty"`
}

// Op is one xenstore operation.
type Op struct {
	Op     string  `json:"op"`
	Path   string  `json:"path,omitempty"`
	Value  *string `json:"value,omitempty"`
	From   *string `json:"from,omitempty"`
	Watch  *int    `json:"watch,omitempty"`
	Domain *int    `json:"domain,omitempty"`
	Note   string  `json:"note,omitempty"`
	Text   string  `json:"text"`
}

// Set assigns a value to a variable.
type Set struct {
	Variable string `json:"variable"`
	Value    string `json:"value"`
}

// Property is a checked property.
type Property struct {
	Name string       `json:"name"`
	Kind checker.Kind `json:"kind"`
	Doc  string       `json:"doc"`
}

var transKinds = map[model.TransKind]string{
	model.Atomic: "atomic", model.TxnBody: "txn-body", model.Commit: "commit", model.EAGAIN: "eagain", model.Ignore: "ignore",
}

// FromSystem describes sys and its properties; file is the scenario
// file ("" if none).
func FromSystem(sys *model.System, props []checker.Property, file string) *Model {
	m := &Model{Schema: Schema, Scenario: sys.Name, File: file, Conflict: sys.Conflict.String(), Timers: "last-resort",
		RemoveOwnedOnDeath: sys.RemoveOwnedOnDeath, DeathFiresWatches: sys.DeathFiresWatches, Faults: append([]string{}, sys.Faults...)}
	if sys.Timers == model.AnyTime {
		m.Timers = "any-time"
	}
	init := sys.Initial()
	val := func(v model.Value) *string {
		if v == model.Absent {
			return nil
		}
		s := sys.Values[v]
		return &s
	}
	var ids []int
	for id := range sys.Domains {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	for _, id := range ids {
		m.Domains = append(m.Domains, Domain{ID: id, Name: sys.DomainNames[id], Variable: int(sys.Domains[id])})
	}
	for i, p := range sys.Paths {
		jp := Path{ID: i, Path: p.Name, Owner: p.Owner, Initial: val(sys.Get(init, model.PathID(i)))}
		if p.Parent != model.NoPath {
			parent := int(p.Parent)
			jp.Parent = &parent
		}
		m.Paths = append(m.Paths, jp)
	}
	for i, v := range sys.Vars {
		jv := Variable{ID: i, Name: v.Name, Initial: int(sys.VarValue(init, model.VarID(i))), Values: v.Names}
		if v.Actor >= 0 {
			a := v.Actor
			jv.Actor = &a
		}
		m.Variables = append(m.Variables, jv)
	}
	for i, w := range sys.Watches {
		st := "off"
		if sys.WatchPending(init, model.WatchID(i)) {
			st = "pending"
		} else if sys.WatchRegistered(init, model.WatchID(i)) {
			st = "registered"
		}
		m.Watches = append(m.Watches, Watch{ID: i, Actor: w.Actor, Path: sys.Paths[w.Path].Name, Initially: st})
	}
	for _, d := range sys.Devices {
		m.Devices = append(m.Devices, Device{Name: d.Name, Kind: d.Kind, BackendKind: d.BEKind, DevID: d.DevID,
			FrontendDomain: d.FEDom, BackendDomain: d.BEDom, FrontendDir: sys.Paths[d.FEDir].Name, BackendDir: sys.Paths[d.BEDir].Name})
	}
	for ai := range sys.Actors {
		a := &sys.Actors[ai]
		ja := Actor{ID: ai, Name: a.Name, Kind: a.Kind.String(), Fair: a.Fair, Variable: int(a.Loc), Initial: a.LocName(sys.LocOf(init, ai))}
		if a.Domain >= 0 {
			d := a.Domain
			ja.Domain = &d
		}
		for _, l := range a.Locs {
			ja.Locations = append(ja.Locations, Location{Name: l.Name, Desc: l.Desc, Final: l.Final})
		}
		for _, ti := range a.Trans {
			ja.Transitions = append(ja.Transitions, transition(sys, a, &sys.Trans[ti], val))
		}
		m.Actors = append(m.Actors, ja)
	}
	for _, p := range props {
		m.Properties = append(m.Properties, Property{Name: p.Name, Kind: p.Kind, Doc: p.Doc})
	}
	return m
}

func transition(sys *model.System, a *model.Actor, t *model.Transition, val func(model.Value) *string) Transition {
	jt := Transition{ID: t.ID, Name: t.Name, Desc: t.Desc, Kind: transKinds[t.Kind], Guard: sys.FormatGuard(t.Guard),
		TimeoutMS: t.Timeout, Slow: t.Slow, Fault: t.Fault, GuardAtoms: []Atom{}, Ops: []Op{}, Sets: []Set{}}
	jt.From = "*"
	if t.From != model.AnyLoc {
		jt.From = a.LocName(t.From)
	}
	if t.To != model.SameLoc {
		to := a.LocName(t.To)
		jt.To = &to
	}
	if t.Watch != model.NoWatch {
		w := int(t.Watch)
		jt.Watch = &w
	}
	for _, c := range t.Guard {
		jt.GuardAtoms = append(jt.GuardAtoms, atom(sys, c, val))
	}
	for _, op := range t.Ops {
		jo := Op{Op: op.Kind.String(), Text: sys.FormatOp(op, nil)}
		switch op.Kind {
		case model.OpWatch, model.OpUnwatch:
			w := int(op.Watch)
			jo.Watch = &w
			jo.Path = sys.Paths[sys.Watches[op.Watch].Path].Name
		case model.OpDomainGone:
			d := op.Dom
			jo.Domain = &d
		case model.OpSignal:
			jo.Note = op.Note
		case model.OpTxnStart, model.OpTxnCommit, model.OpTxnAbort:
		default:
			jo.Path = sys.Paths[op.Path].Name
		}
		switch op.Kind {
		case model.OpWrite, model.OpSwitchState:
			jo.Value = val(op.Val)
		case model.OpReplace:
			jo.Value, jo.From = val(op.Val), val(op.From)
		}
		jt.Ops = append(jt.Ops, jo)
	}
	for _, st := range t.Sets {
		jt.Sets = append(jt.Sets, Set{Variable: sys.Vars[st.Var].Name, Value: sys.FormatVar(st.Var, st.Val)})
	}
	return jt
}

func atom(sys *model.System, c model.Cond, val func(model.Value) *string) Atom {
	p := func() string { return sys.Paths[c.Path].Name }
	v := func() string { return sys.Vars[c.Var].Name }
	switch c.Kind {
	case model.CondPresent:
		return Atom{Kind: "present", Path: p()}
	case model.CondAbsent:
		return Atom{Kind: "absent", Path: p()}
	case model.CondEq:
		return Atom{Kind: "eq", Path: p(), Value: val(c.Val)}
	case model.CondNe:
		return Atom{Kind: "ne", Path: p(), Value: val(c.Val)}
	case model.CondIn:
		a := Atom{Kind: "in", Path: p(), Values: []*string{}}
		for x := 0; x < 64 && x < len(sys.Values); x++ {
			if c.Mask&(1<<x) != 0 {
				a.Values = append(a.Values, val(model.Value(x)))
			}
		}
		return a
	case model.CondVarEq:
		return Atom{Kind: "var-eq", Variable: v(), Is: sys.FormatVar(c.Var, c.X)}
	case model.CondVarNe:
		return Atom{Kind: "var-ne", Variable: v(), Is: sys.FormatVar(c.Var, c.X)}
	case model.CondVarIn:
		a := Atom{Kind: "var-in", Variable: v(), In: []string{}}
		for x := 0; x < 64; x++ {
			if c.Mask&(1<<x) != 0 && (len(sys.Vars[c.Var].Names) == 0 || x < len(sys.Vars[c.Var].Names)) {
				a.In = append(a.In, sys.FormatVar(c.Var, uint8(x)))
			}
		}
		return a
	case model.CondConflict:
		return Atom{Kind: "conflict"}
	case model.CondNoConflict:
		return Atom{Kind: "no-conflict"}
	case model.CondWritable:
		return Atom{Kind: "writable", Path: p()}
	}
	return Atom{Kind: fmt.Sprintf("unknown(%d)", c.Kind)}
}

// JSON renders m as indented JSON with a final newline.
func (m *Model) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
