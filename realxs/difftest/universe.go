package difftest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/realxs"
)

// The daemons, named as package xenhost and model.ConflictRule name them:
// each has its own transaction rule and its own watch events, and the
// reference follows the daemon's.
const (
	Oxenstored = "oxenstored"
	CXenstored = "cxenstored"
)

// The universe: a small tree with a sibling whose name has another
// node's name as a string prefix (/ab next to /a), and watches at several
// depths, including one below nodes that may not exist.
var (
	paths     = []string{"/", "/a", "/a/b", "/a/b/c", "/a/d", "/ab", "/e", "/e/f"}
	removable = paths[1:]
	values    = []string{"", "x", "y"}
	watchAt   = []string{"/", "/a", "/a/b/c", "/ab", "/e/f"}
)

// The requests a transaction makes, in the C xenstored reference's
// probes (see universe.probes).
var (
	txnReads  = []string{"READ", "DIRECTORY"}
	txnWrites = []string{"WRITE", "MKDIR", "RM"}
)

// universe is the model of the universe: its paths, values and one actor
// holding every watch (its implicit "ignore" cases consume events).
//
// For C xenstored the system uses the model's C xenstored conflict rule
// (model.CXenstored), and holds one probe per client, request kind and
// path: an actor whose transaction body is that one request. A live
// transaction's request opens its probe in the model state (the model's
// body runs at that point, recording what the model's rule records) and
// the commit asks the model whether any of the transaction's probes
// conflicts: the model's own rule, applied to the requests as C
// xenstored sees them, one at a time and not at the start.
type universe struct {
	sys    *model.System
	daemon string
	ignore []*model.Transition // by watch
	probes map[probeKey]*probe
}

type probeKey struct {
	client     int
	kind, path string
}

// A probe is a one-request transaction body of the model and the EAGAIN
// transition that closes it, enabled when the model's rule fails it.
type probe struct {
	name         string
	body, eagain *model.Transition
}

func newUniverse(t testing.TB, daemon string, clients int) *universe {
	b := model.NewBuilder("difftest")
	for _, p := range paths {
		b.Path(p)
	}
	for _, v := range values {
		b.Value(v)
	}
	ab := b.Actor("clients", model.Toolstack, -1, true)
	ab.Final("idle", "")
	for i, p := range watchAt {
		pid, _ := b.Sys().PathByName(p)
		ab.Watch(fmt.Sprintf("w%d", i), pid, false)
	}
	type decl struct {
		key   probeKey
		actor int
	}
	var decls []decl
	if daemon == CXenstored {
		b.SetConflict(model.CXenstored)
		for c := range clients {
			for _, kind := range append(slices.Clone(txnReads), txnWrites...) {
				ps := paths
				if slices.Contains(txnWrites, kind) {
					ps = removable
				}
				for _, p := range ps {
					pid, _ := b.Sys().PathByName(p)
					op := opOf(kind, pid, model.Empty)
					pb := b.Actor(fmt.Sprintf("client %d: %s %s", c, kind, p), model.Toolstack, -1, false)
					idle, open := pb.Final("idle", ""), pb.Loc("open", "")
					pb.T(model.Transition{Name: "body", From: idle, To: open, Kind: model.TxnBody, Ops: []model.Op{op}})
					pb.T(model.Transition{Name: "eagain", From: open, To: idle, Kind: model.EAGAIN, Guard: []model.Cond{model.Conflict()}})
					decls = append(decls, decl{probeKey{c, kind, p}, pb.Index()})
				}
			}
		}
	}
	sys, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	u := &universe{sys: sys, daemon: daemon, ignore: make([]*model.Transition, len(watchAt)), probes: map[probeKey]*probe{}}
	for i := range sys.Trans {
		if tr := &sys.Trans[i]; tr.Kind == model.Ignore && sys.Actors[tr.Actor].Name == "clients" {
			u.ignore[tr.Watch] = tr
		}
	}
	for _, d := range decls {
		pr := &probe{name: sys.Actors[d.actor].Name}
		for _, ti := range sys.Actors[d.actor].Trans {
			switch tr := &sys.Trans[ti]; tr.Kind {
			case model.TxnBody:
				pr.body = tr
			case model.EAGAIN:
				pr.eagain = tr
			}
		}
		u.probes[d.key] = pr
	}
	return u
}

// opOf is the model's operation of a request: kind (READ, DIRECTORY,
// WRITE, MKDIR, RM, SET_PERMS) on p, with value v for a WRITE.
func opOf(kind string, p model.PathID, v model.Value) model.Op {
	switch kind {
	case "READ":
		return model.Read(p)
	case "DIRECTORY":
		return model.Directory(p)
	case "WRITE":
		return model.Write(p, v)
	case "MKDIR":
		return model.Mkdir(p)
	case "RM":
		return model.Rm(p)
	case "SET_PERMS":
		return model.SetPerms(p)
	}
	panic(kind)
}

// op is the model's operation of request kind on the universe's path p,
// with value v for a WRITE.
func (u *universe) op(kind, p, v string) model.Op {
	val := model.Empty
	if kind == "WRITE" {
		val = u.v(v)
	}
	return opOf(kind, u.p(p), val)
}

// under is the daemon's path of the universe's path p in a run below
// root.
func under(root, p string) string {
	if p == "/" {
		return root
	}
	return root + p
}

func (u *universe) p(s string) model.PathID {
	id, ok := u.sys.PathByName(s)
	if !ok {
		panic("no path " + s)
	}
	return id
}

func (u *universe) v(s string) model.Value {
	id, ok := u.sys.ValueByName(s)
	if !ok {
		panic("no value " + s)
	}
	return id
}

// below reports whether path q is strictly below path p.
func (u *universe) below(q, p model.PathID) bool {
	for a := u.sys.Paths[q].Parent; a != model.NoPath; a = u.sys.Paths[a].Parent {
		if a == p {
			return true
		}
	}
	return false
}

// A refTxn is a transaction as the reference sees it.
//
// oxenstored (snapshot isolation): a snapshot of the model state, in
// which the body's requests are applied, and their log. Two rules decide
// its commit. The model's (package model, "Xenstore semantics"): a
// transaction with a modifying request commits if every read still sees
// what it saw, and then every modifying request is applied to the
// current store. oxenstored's, as observed (the reference the daemon is
// held to): requests that changed nothing in the snapshot (MKDIR of an
// existing node, RM of a missing one) are not recorded, failed requests
// are, with their error, and the replay compares every recorded
// response. Where the two rules disagree, the difference is counted
// under its name (TxnNoopWrites, TxnFailedRequestReplayed).
//
// C xenstored (no snapshot: a request sees the current store, with the
// transaction's own requests applied): the model's probes opened by the
// requests, the modifying requests in order, and what the commit's watch
// events need (see cxAccess).
type refTxn struct {
	live *realxs.Tx

	// oxenstored
	start     model.State // the store at TRANSACTION_START
	snap      model.State
	log       []refReq
	attempted bool // a modifying request was made (the model's rule)
	effective bool // one changed the snapshot (oxenstored's rule)
	failed    bool // one failed

	// C xenstored
	ops    []model.Op
	probes []*probe
	probed map[probeKey]bool
	// first: whether a node existed when the transaction first touched
	// it; queued: the nodes whose watches the commit fires, with the
	// event's exactness (xenstored_transaction.c, queue_watches), in
	// order.
	first  map[model.PathID]bool
	queued map[model.PathID]bool
	order  []model.PathID
}

type refReq struct {
	// read is "READ /p", "DIRECTORY /p" or "RM /p": a request whose
	// response the replay compares (an RM's is "" or ENOENT); saw is
	// that response in the snapshot.
	read string
	saw  string
	// write: op modifies (RM included).
	write bool
	op    model.Op
	// noop: the write changed nothing in the snapshot.
	noop bool
	// fired and phantom: the watches the write fired in the snapshot
	// (all watches taken as registered); oxenstored fires those at
	// commit.
	fired, phantom []bool
}

// fires reports, per watch, whether op fires it in st (with every watch
// registered when all is set), and whether only as the model's event
// for a watch below a removed node that the daemon does not deliver
// (RmPhantomEvent).
func (u *universe) fires(st model.State, op model.Op, all bool) (fired, phantom []bool) {
	cp := append(model.State(nil), st...)
	for w := range watchAt {
		if all && !u.sys.WatchRegistered(cp, model.WatchID(w)) {
			u.sys.ApplyOp(cp, model.WatchOp(model.WatchID(w)))
		}
		if u.sys.WatchPending(cp, model.WatchID(w)) {
			cp = u.sys.Apply(cp, u.ignore[w])
		}
	}
	u.sys.ApplyOp(cp, op)
	fired, phantom = make([]bool, len(watchAt)), make([]bool, len(watchAt))
	for w, wp := range watchAt {
		fired[w] = u.sys.WatchPending(cp, model.WatchID(w))
		phantom[w] = fired[w] && op.Kind == model.OpRm && u.below(u.p(wp), op.Path) && !u.seenBelowRm(st, wp)
	}
	return fired, phantom
}

// seenBelowRm reports whether the daemon delivers an event for watched
// path e below a node removed from st (found by this test, see
// RmPhantomEvent). oxenstored: only if e exists, or its parent (it looks
// them up to check that the watcher may read the node). C xenstored:
// only if e exists (xenstored_core.c, delnode_sub: one exact event per
// deleted node; the non-exact one of the removed node reaches watches
// on it and above).
func (u *universe) seenBelowRm(st model.State, e string) bool {
	if u.daemon == CXenstored {
		return u.sys.Exists(st, u.p(e))
	}
	return u.seen(st, st, e)
}

// seen reports whether oxenstored delivers an event for path e when the
// store goes from old to new: only if e exists in one of them, or its
// parent in old (it looks the node up to check that the watcher may read
// it; found by this test, see RmPhantomEvent and TxnEventsFromBody).
func (u *universe) seen(old, new model.State, e string) bool {
	id := u.p(e)
	return u.sys.Exists(old, id) || u.sys.Exists(new, id) || id != 0 && u.sys.Exists(old, u.sys.Paths[id].Parent)
}

// look is what a read request sees in st.
func (u *universe) look(st model.State, read string) string {
	kind, p, _ := strings.Cut(read, " ")
	id := u.p(p)
	if kind == "RM" {
		if !u.sys.Exists(st, u.sys.Paths[id].Parent) {
			return "ENOENT"
		}
		return ""
	}
	if !u.sys.Exists(st, id) {
		return "ENOENT"
	}
	if kind == "READ" {
		return fmt.Sprintf("%q", u.sys.Values[u.sys.Get(st, id)])
	}
	kids := u.sys.Children(st, id)
	slices.Sort(kids)
	return "[" + strings.Join(kids, " ") + "]"
}

// storeOf is the store of model state st.
func storeOf(sys *model.System, st model.State) map[string]string { return sys.Store(st) }
