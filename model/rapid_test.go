package model_test

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xbcheck/xbcheck/model"
	"pgregory.net/rapid"
)

// This file drives the engine's xenstore (System.ApplyOp) and a dumb
// reference implementation, written from the spec's sentences with string
// paths and maps, with the same random operations, and compares them after
// every step.
//
// Reference: xenbus-protocol.md 10.1, 10.2, 10.4; xenstore-wire.md 1.6;
// tools/libs/light/libxl_xshelp.c, libxl__xs_path_cleanup.

// The universe: a small tree with a sibling whose name has another node's
// name as a string prefix (/ab next to /a).
var (
	storePaths = []string{
		"/", "/a", "/a/b", "/a/b/c", "/a/d", "/a/d/e", "/ab", "/ab/c",
		"/e", "/e/f", "/e/f/g", "/e/h", "/x", "/x/y", "/x/y/z", "/x/w",
	}
	// RM / is EINVAL in C xenstored and wipes the store in oxenstored
	// (xenstore-wire.md 1.4); no client does it.
	storeRemovable = storePaths[1:]
	storeValues    = []string{"", "x", "y", "4"}
	storeWatches   = map[string]string{
		"root": "/", "a": "/a", "abc": "/a/b/c", "ab": "/ab",
		"ef": "/e/f", "xyz": "/x/y/z", "ade": "/a/d/e",
	}
	// Domain 1 owns /a/d and /e/f/g; domain 2 owns /x but not /x/w.
	storeOwners  = map[string]int{"/a/d": 1, "/e/f/g": 1, "/x": 2, "/x/w": 0}
	storeDomains = map[int]string{1: "guest", 2: "dd"}
)

// A storeOp is one random step.
type storeOp struct {
	kind  string // WRITE MKDIR RM PATH_CLEANUP SET_PERMS REPLACE READ WATCH UNWATCH CONSUME DOMAIN_GONE
	path  string
	val   string
	from  string // REPLACE
	watch string // WATCH UNWATCH CONSUME
	dom   int    // DOMAIN_GONE
}

func (op storeOp) String() string {
	switch op.kind {
	case "WRITE":
		return fmt.Sprintf("WRITE %s %q", op.path, op.val)
	case "REPLACE":
		return fmt.Sprintf("REPLACE %s %q→%q", op.path, op.from, op.val)
	case "WATCH", "UNWATCH", "CONSUME":
		return op.kind + " " + op.watch
	case "DOMAIN_GONE":
		return fmt.Sprintf("DOMAIN_GONE %d", op.dom)
	}
	return op.kind + " " + op.path
}

// A storeView is what the test compares.
type storeView struct {
	Store   map[string]string
	Watches map[string]string // off, on, pending
	Domains map[string]string // run states: DOMAIN_GONE changes none
}

// mutation names a deliberate error in the reference, to check that the
// comparison catches it (TestStoreOracleCatchesMutations).
type mutation string

// The mutations: each breaks one rule of the reference.
var mutations = []mutation{
	"write-no-parents",        // WRITE does not create missing parents
	"mkdir-fires-on-existing", // MKDIR of an existing node fires
	"rm-leaves-subtree",       // RM removes only the node
	"rm-no-watches-below",     // RM does not fire the watches below the node
	"string-prefix-match",     // a watch on /a matches /ab
	"no-initial-event",        // WATCH does not fire at once
	"unregistered-fires",      // events go to unregistered watches too
	"cleanup-ignores-value",   // PATH_CLEANUP removes parents that hold a value
	"cleanup-ignores-children",
	"cleanup-stops-at-missing-node", // no parent cleanup when the node is gone
	"set-perms-silent",
	"domain-gone-keeps-owned",
	"domain-gone-removes-parent", // removes the dom0-owned parent too
	"domain-gone-silent",         // C xenstored's deletion fires no event
	"domain-gone-fires",          // oxenstored's deletion fires events
	"domain-gone-kills",          // DOMAIN_GONE changes the run state
}

// refStore is the reference: a map from path to value, and the watches,
// written the obvious way from the spec's sentences.
type refStore struct {
	nodes       map[string]string
	watches     map[string]*refWatch
	domains     map[int]string
	removeOwned bool
	deathFires  bool
	mut         mutation
}

type refWatch struct {
	path                string
	registered, pending bool
}

func refParent(p string) string {
	if p == "/" {
		return ""
	}
	if i := strings.LastIndex(p, "/"); i > 0 {
		return p[:i]
	}
	return "/"
}

// below reports whether node n is w or a descendant of w.
func (r *refStore) below(n, w string) bool {
	if r.mut == "string-prefix-match" {
		return strings.HasPrefix(n, w)
	}
	return n == w || w == "/" || strings.HasPrefix(n, w+"/")
}

func (r *refStore) exists(p string) bool { _, ok := r.nodes[p]; return ok }

func (r *refStore) hasChildren(p string) bool {
	for n := range r.nodes {
		if n != p && refParent(n) == p {
			return true
		}
	}
	return false
}

// owner is the domain of the nearest declared owner at or above p.
func refOwner(p string) int {
	for q := p; q != ""; q = refParent(q) {
		if d, ok := storeOwners[q]; ok {
			return d
		}
	}
	return 0
}

// fire: "WATCH(wpath) matches every modification (create, write, delete,
// set-perms) of any node that is wpath or a descendant of it."
func (r *refStore) fire(n string) {
	for _, w := range r.watches {
		if (w.registered || r.mut == "unregistered-fires") && r.below(n, w.path) {
			w.pending = true
		}
	}
}

// fireRemoved: the removal of n fires the watches at or above n and,
// "each with its own watch path", the watches below n.
func (r *refStore) fireRemoved(n string) {
	for _, w := range r.watches {
		if !w.registered && r.mut != "unregistered-fires" {
			continue
		}
		if r.below(n, w.path) || r.below(w.path, n) && r.mut != "rm-no-watches-below" {
			w.pending = true
		}
	}
}

// write: "WRITE creates missing parents (empty value)".
func (r *refStore) write(p, v string) {
	if r.mut != "write-no-parents" {
		for q := refParent(p); q != "" && !r.exists(q); q = refParent(q) {
			r.nodes[q] = ""
		}
	}
	r.nodes[p] = v
	r.fire(p)
}

// rm: "RM deletes the whole subtree; it is not an error if the path is
// absent"; "RM of a missing child: no event".
func (r *refStore) rm(p string) {
	if !r.exists(p) {
		return
	}
	for n := range r.nodes {
		if n == p || r.below(n, p) && r.mut != "rm-leaves-subtree" {
			delete(r.nodes, n)
		}
	}
	r.fireRemoved(p)
}

// cleanup follows libxl__xs_path_cleanup: xs_rm the path (an error, and
// the end, if its parent is missing too), then for each parent up to but
// not including the root: stop if it is missing or holds a value, stop if
// it has children, else xs_rm it.
func (r *refStore) cleanup(p string) {
	if !r.exists(p) && (!r.exists(refParent(p)) || r.mut == "cleanup-stops-at-missing-node") {
		return // ENOENT
	}
	r.rm(p)
	for q := refParent(p); q != ""; q = refParent(q) {
		if q == "/" {
			break
		}
		v, ok := r.nodes[q]
		if !ok || v != "" && r.mut != "cleanup-ignores-value" {
			break
		}
		if r.hasChildren(q) && r.mut != "cleanup-ignores-children" {
			break
		}
		r.rm(q)
	}
}

func (r *refStore) apply(op storeOp) {
	switch op.kind {
	case "WRITE":
		r.write(op.path, op.val)
	case "MKDIR":
		if !r.exists(op.path) {
			r.write(op.path, "")
		} else if r.mut == "mkdir-fires-on-existing" {
			r.fire(op.path)
		}
	case "RM":
		r.rm(op.path)
	case "PATH_CLEANUP":
		r.cleanup(op.path)
	case "SET_PERMS":
		if r.exists(op.path) && r.mut != "set-perms-silent" {
			r.fire(op.path)
		}
	case "REPLACE":
		if v, ok := r.nodes[op.path]; ok && v == op.from {
			r.write(op.path, op.val)
		}
	case "READ":
	case "WATCH":
		w := r.watches[op.watch]
		w.registered = true
		w.pending = r.mut != "no-initial-event"
	case "UNWATCH":
		w := r.watches[op.watch]
		w.registered, w.pending = false, false
	case "CONSUME":
		r.watches[op.watch].pending = false
	case "DOMAIN_GONE":
		// xenstored's release: the run state is the hypervisor's.
		if _, ok := r.domains[op.dom]; ok && r.mut == "domain-gone-kills" {
			r.domains[op.dom] = "gone"
		}
		if !r.removeOwned || r.mut == "domain-gone-keeps-owned" {
			return
		}
		// xenstored walks the tree and deletes every node the domain
		// owns, with its subtree (xenbus-protocol.md 10.4). Sorted, a
		// node comes before its descendants.
		var ns []string
		for n := range r.nodes {
			ns = append(ns, n)
		}
		sort.Strings(ns)
		// C xenstored fires the watches as for an RM; oxenstored fires
		// none ("nodes removed this way won't generate watch events").
		fires := r.deathFires
		switch r.mut {
		case "domain-gone-silent":
			fires = false
		case "domain-gone-fires":
			fires = true
		}
		for _, n := range ns {
			if refOwner(n) == op.dom && !fires {
				for m := range r.nodes {
					if m == n || r.below(m, n) {
						delete(r.nodes, m)
					}
				}
			} else if refOwner(n) == op.dom {
				r.rm(n)
				if r.mut == "domain-gone-removes-parent" && refParent(n) != "/" {
					r.rm(refParent(n))
				}
			}
		}
	}
}

func (r *refStore) view() storeView {
	v := storeView{Store: map[string]string{}, Watches: map[string]string{}, Domains: map[string]string{}}
	for n, val := range r.nodes {
		v.Store[n] = val
	}
	for name, w := range r.watches {
		switch {
		case w.pending:
			v.Watches[name] = "pending"
		case w.registered:
			v.Watches[name] = "on"
		default:
			v.Watches[name] = "off"
		}
	}
	for d, s := range r.domains {
		v.Domains[storeDomains[d]] = s
	}
	return v
}

// A storeHarness holds the model and the reference side by side.
type storeHarness struct {
	x   *xs
	ref *refStore
	log []string
}

// newStoreHarness builds both from the same initial store (init, in
// storePaths order; missing ancestors become ""), initially registered
// watches and domain-death rule.
func newStoreHarness(t testingT, init map[string]string, registered map[string]bool, removeOwned, deathFires bool, mut mutation) *storeHarness {
	ref := &refStore{nodes: map[string]string{"/": ""}, watches: map[string]*refWatch{},
		domains: map[int]string{}, removeOwned: removeOwned, deathFires: deathFires, mut: mut}
	for _, p := range storePaths {
		v, ok := init[p]
		if !ok {
			continue
		}
		ref.nodes[p] = v
		for q := refParent(p); q != "" && !ref.exists(q); q = refParent(q) {
			ref.nodes[q] = ""
		}
	}
	var ws []watchSpec
	for _, name := range sortedKeys(storeWatches) {
		ws = append(ws, watchSpec{name, storeWatches[name], registered[name]})
		ref.watches[name] = &refWatch{path: storeWatches[name], registered: registered[name]}
	}
	for d := range storeDomains {
		ref.domains[d] = "running"
	}
	x := newXS(t, spec{
		paths: storePaths, init: init, values: storeValues, watches: ws,
		owners: storeOwners, domains: storeDomains, removeOwned: removeOwned, deathFires: deathFires,
	})
	return &storeHarness{x: x, ref: ref}
}

func (h *storeHarness) step(op storeOp) {
	h.log = append(h.log, op.String())
	x := h.x
	switch op.kind {
	case "WRITE":
		x.apply(model.Write(x.p(op.path), x.v(op.val)))
	case "MKDIR":
		x.apply(model.Mkdir(x.p(op.path)))
	case "RM":
		x.apply(model.Rm(x.p(op.path)))
	case "PATH_CLEANUP":
		x.apply(model.Cleanup(x.p(op.path)))
	case "SET_PERMS":
		x.apply(model.SetPerms(x.p(op.path)))
	case "REPLACE":
		x.apply(model.Replace(x.p(op.path), x.v(op.from), x.v(op.val)))
	case "READ":
		x.apply(model.Read(x.p(op.path)), model.Directory(x.p(op.path)))
	case "WATCH":
		x.apply(model.WatchOp(x.w[op.watch]))
	case "UNWATCH":
		x.apply(model.UnwatchOp(x.w[op.watch]))
	case "CONSUME":
		x.consume(op.watch)
	case "DOMAIN_GONE":
		x.apply(model.DomainGone(op.dom))
	default:
		panic("unknown op " + op.kind)
	}
	h.ref.apply(op)
}

func (h *storeHarness) modelView() storeView {
	v := storeView{Store: h.x.store(), Watches: h.x.watchStates(), Domains: map[string]string{}}
	for d, name := range storeDomains {
		v.Domains[name] = model.DomainStateNames[h.x.sys.VarValue(h.x.st, h.x.dom[d])]
	}
	return v
}

// diff compares the reference (want) with the model (got) and checks the
// model's tree invariant: every existing node's parent exists.
func (h *storeHarness) diff() string {
	got := h.modelView()
	if d := cmp.Diff(h.ref.view(), got); d != "" {
		return d
	}
	for n := range got.Store {
		if p := refParent(n); p != "" {
			if _, ok := got.Store[p]; !ok {
				return fmt.Sprintf("node %s exists without its parent %s", n, p)
			}
		}
	}
	if _, ok := got.Store["/"]; !ok {
		return "the root is gone"
	}
	return ""
}

// testStore is the state-machine property: random operations keep the
// model and the reference equal.
func testStore(t *rapid.T) {
	init := map[string]string{}
	for _, p := range storeRemovable {
		if i := rapid.IntRange(-1, len(storeValues)-1).Draw(t, "init "+p); i >= 0 {
			init[p] = storeValues[i]
		}
	}
	registered := map[string]bool{}
	for _, name := range sortedKeys(storeWatches) {
		registered[name] = rapid.Bool().Draw(t, "registered "+name)
	}
	h := newStoreHarness(t, init, registered, rapid.Bool().Draw(t, "removeOwned"), rapid.Bool().Draw(t, "deathFires"), "")

	anyPath := rapid.SampledFrom(storePaths)
	removable := rapid.SampledFrom(storeRemovable)
	value := rapid.SampledFrom(storeValues)
	watch := rapid.SampledFrom(sortedKeys(storeWatches))
	step := func(op storeOp) { h.step(op) }
	t.Repeat(map[string]func(*rapid.T){
		"write": func(t *rapid.T) {
			step(storeOp{kind: "WRITE", path: anyPath.Draw(t, "path"), val: value.Draw(t, "value")})
		},
		"mkdir":   func(t *rapid.T) { step(storeOp{kind: "MKDIR", path: anyPath.Draw(t, "path")}) },
		"rm":      func(t *rapid.T) { step(storeOp{kind: "RM", path: removable.Draw(t, "path")}) },
		"cleanup": func(t *rapid.T) { step(storeOp{kind: "PATH_CLEANUP", path: removable.Draw(t, "path")}) },
		"setperms": func(t *rapid.T) {
			step(storeOp{kind: "SET_PERMS", path: anyPath.Draw(t, "path")})
		},
		"replace": func(t *rapid.T) {
			step(storeOp{kind: "REPLACE", path: anyPath.Draw(t, "path"), from: value.Draw(t, "from"), val: value.Draw(t, "value")})
		},
		"read": func(t *rapid.T) { step(storeOp{kind: "READ", path: anyPath.Draw(t, "path")}) },
		// WATCH of a registered watch is EEXIST and UNWATCH of an
		// unknown one ENOENT (xenstore-wire.md 1.6), so "watch" toggles.
		// No action skips: MakeFuzz's fixed input would draw the same
		// skipped action over and over.
		"watch": func(t *rapid.T) {
			w := watch.Draw(t, "watch")
			if h.x.sys.WatchRegistered(h.x.st, h.x.w[w]) {
				step(storeOp{kind: "UNWATCH", watch: w})
			} else {
				step(storeOp{kind: "WATCH", watch: w})
			}
		},
		"consume": func(t *rapid.T) {
			if w := watch.Draw(t, "watch"); h.x.sys.WatchPending(h.x.st, h.x.w[w]) {
				step(storeOp{kind: "CONSUME", watch: w})
			}
		},
		"domain-gone": func(t *rapid.T) {
			step(storeOp{kind: "DOMAIN_GONE", dom: rapid.IntRange(1, 3).Draw(t, "dom")})
		},
		"": func(t *rapid.T) {
			if d := h.diff(); d != "" {
				t.Fatalf("model and reference differ after %v (-reference +model):\n%s", h.log, d)
			}
		},
	})
}

// TestStore compares the engine's xenstore with the reference under
// random operations.
//
// Reference: xenbus-protocol.md 10.1, 10.2, 10.4; xenstore-wire.md 1.6.
func TestStore(t *testing.T) {
	rapid.Check(t, testStore)
}

// FuzzStore is TestStore for go test -fuzz.
func FuzzStore(f *testing.F) {
	// rapid reads the input as its bitstream: a seed must be long enough
	// for every draw, or the case is skipped as invalid.
	for seed := range uint64(4) {
		r := rand.New(rand.NewPCG(seed, 0x78656e73))
		in := make([]byte, 16<<10)
		for i := range in {
			in[i] = byte(r.Uint32())
		}
		f.Add(in)
	}
	f.Fuzz(rapid.MakeFuzz(testStore))
}

// randomOp draws a storeOp with r, honouring the preconditions of testStore.
func randomOp(r *rand.Rand, h *storeHarness) storeOp {
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	watchIn := func(state string) string {
		var ws []string
		for _, name := range sortedKeys(storeWatches) {
			if s := h.x.watchStates()[name]; s == state || state == "registered" && s != "off" {
				ws = append(ws, name)
			}
		}
		if len(ws) == 0 {
			return ""
		}
		return pick(ws)
	}
	for {
		switch r.IntN(11) {
		case 0, 1:
			return storeOp{kind: "WRITE", path: pick(storePaths), val: pick(storeValues)}
		case 2:
			return storeOp{kind: "MKDIR", path: pick(storePaths)}
		case 3:
			return storeOp{kind: "RM", path: pick(storeRemovable)}
		case 4:
			return storeOp{kind: "PATH_CLEANUP", path: pick(storeRemovable)}
		case 5:
			return storeOp{kind: "SET_PERMS", path: pick(storePaths)}
		case 6:
			return storeOp{kind: "REPLACE", path: pick(storePaths), from: pick(storeValues), val: pick(storeValues)}
		case 7:
			if w := watchIn("off"); w != "" {
				return storeOp{kind: "WATCH", watch: w}
			}
		case 8:
			if w := watchIn("registered"); w != "" {
				return storeOp{kind: "UNWATCH", watch: w}
			}
		case 9:
			if w := watchIn("pending"); w != "" {
				return storeOp{kind: "CONSUME", watch: w}
			}
		case 10:
			return storeOp{kind: "DOMAIN_GONE", dom: 1 + r.IntN(3)}
		}
	}
}

// runRandom runs one seeded random sequence and returns the first
// difference between the model and the reference, or "".
func runRandom(t *testing.T, seed uint64, mut mutation) string {
	r := rand.New(rand.NewPCG(seed, 0x78656e73))
	init := map[string]string{}
	for _, p := range storeRemovable {
		if r.IntN(2) == 0 {
			init[p] = storeValues[r.IntN(len(storeValues))]
		}
	}
	registered := map[string]bool{}
	for _, name := range sortedKeys(storeWatches) {
		registered[name] = r.IntN(2) == 0
	}
	removeOwned := r.IntN(2) == 0
	h := newStoreHarness(t, init, registered, removeOwned, r.IntN(2) == 0, mut)
	if d := h.diff(); d != "" {
		return "initially: " + d
	}
	for range 60 {
		h.step(randomOp(r, h))
		if d := h.diff(); d != "" {
			return fmt.Sprintf("after %v:\n%s", h.log, d)
		}
	}
	return ""
}

// TestStoreOracleCatchesMutations: the comparison is not vacuous. Each
// mutation breaks one rule in a copy of the reference's logic, and seeded
// random runs must find a difference; the unmutated reference must agree
// with the model on the same runs.
func TestStoreOracleCatchesMutations(t *testing.T) {
	const runs = 200
	for seed := range uint64(runs) {
		if d := runRandom(t, seed, ""); d != "" {
			t.Fatalf("seed %d: model and reference differ (-reference +model) %s", seed, d)
		}
	}
	for _, mut := range mutations {
		t.Run(string(mut), func(t *testing.T) {
			for seed := range uint64(runs) {
				if runRandom(t, seed, mut) != "" {
					return
				}
			}
			t.Errorf("no difference found in %d runs: the comparison does not see this rule", runs)
		})
	}
}
