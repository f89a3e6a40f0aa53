package model_test

import (
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xbcheck/xbcheck/model"
)

// This file checks the xenstore semantics of the engine (step.go) one
// operation at a time, through System.ApplyOp. Each test cites the sentence
// of the spec it checks.

// A spec describes a small xenstore for a test.
type spec struct {
	paths  []string          // interned paths (with their ancestors)
	init   map[string]string // the initial store (ancestors become "")
	values []string          // more values to intern
	// watches belong to one actor called "xs".
	watches     []watchSpec
	owners      map[string]int     // Builder.Own
	domains     map[int]string     // Builder.Domain, all running
	vars        map[string]uint8   // Builder.Var with its initial value
	conflict    model.ConflictRule // Builder.SetConflict
	removeOwned bool               // Builder.SetRemoveOwnedOnDeath
	deathFires  bool               // Builder.SetDeathFiresWatches
	// actors, when set, declares more actors before Build.
	actors func(b *model.Builder)
}

type watchSpec struct {
	name, path string
	registered bool
}

// testingT is what an xs needs of *testing.T and *rapid.T.
type testingT interface {
	Helper()
	Name() string
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// An xs is a built spec and a current state.
type xs struct {
	t    testingT
	sys  *model.System
	st   model.State
	w    map[string]model.WatchID
	dom  map[int]model.VarID
	vars map[string]model.VarID
}

func newXS(t testingT, sp spec) *xs {
	t.Helper()
	b := model.NewBuilder(t.Name())
	b.SetConflict(sp.conflict)
	b.SetRemoveOwnedOnDeath(sp.removeOwned)
	b.SetDeathFiresWatches(sp.deathFires)
	for _, p := range sp.paths {
		b.Path(p)
	}
	for _, v := range append([]string{"x", "y", "z"}, sp.values...) {
		b.Value(v)
	}
	// Sorted, so that parents are initialised before their children and
	// the result does not depend on map order.
	for _, p := range sortedKeys(sp.init) {
		b.Init(b.Path(p), b.Value(sp.init[p]))
	}
	for p, d := range sp.owners {
		b.Own(b.Path(p), d)
	}
	x := &xs{t: t, w: map[string]model.WatchID{}, dom: map[int]model.VarID{}, vars: map[string]model.VarID{}}
	for id, name := range sp.domains {
		x.dom[id] = b.Domain(id, name, model.DomainRunning)
	}
	for name, init := range sp.vars {
		x.vars[name] = b.Var(name, init)
	}
	ab := b.Actor("xs", model.Daemon, -1, false)
	ab.Final("idle", "")
	for _, w := range sp.watches {
		x.w[w.name] = ab.Watch(w.name, b.Path(w.path), w.registered)
	}
	if sp.actors != nil {
		sp.actors(b)
	}
	sys, err := b.Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	x.sys = sys
	x.st = sys.Initial()
	return x
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// p returns the id of an interned path.
func (x *xs) p(path string) model.PathID {
	x.t.Helper()
	id, ok := x.sys.PathByName(path)
	if !ok {
		x.t.Fatalf("path %s is not interned", path)
	}
	return id
}

// v returns the id of an interned value.
func (x *xs) v(val string) model.Value {
	x.t.Helper()
	id, ok := x.sys.ValueByName(val)
	if !ok {
		x.t.Fatalf("value %q is not interned", val)
	}
	return id
}

func (x *xs) apply(ops ...model.Op) {
	for _, op := range ops {
		x.sys.ApplyOp(x.st, op)
	}
}

func (x *xs) write(p, v string) { x.apply(model.Write(x.p(p), x.v(v))) }
func (x *xs) mkdir(p string)    { x.apply(model.Mkdir(x.p(p))) }
func (x *xs) rm(p string)       { x.apply(model.Rm(x.p(p))) }
func (x *xs) cleanup(p string)  { x.apply(model.Cleanup(x.p(p))) }

func (x *xs) store() map[string]string { return x.sys.Store(x.st) }

// pending returns the names of the watches with an event pending, sorted.
func (x *xs) pending() []string {
	out := []string{}
	for _, name := range sortedKeys(x.w) {
		if x.sys.WatchPending(x.st, x.w[name]) {
			out = append(out, name)
		}
	}
	return out
}

// watchStates returns "off", "on" or "pending" for every watch.
func (x *xs) watchStates() map[string]string {
	m := map[string]string{}
	for name, w := range x.w {
		switch {
		case x.sys.WatchPending(x.st, w):
			m[name] = "pending"
		case x.sys.WatchRegistered(x.st, w):
			m[name] = "on"
		default:
			m[name] = "off"
		}
	}
	return m
}

// consume takes, for the pending watch called name, the implicit "ignore"
// case the Builder adds: the actor consumes the event and the watch stays
// registered.
func (x *xs) consume(name string) {
	x.t.Helper()
	w := x.w[name]
	for i := range x.sys.Trans {
		if tr := &x.sys.Trans[i]; tr.Watch == w && tr.Kind == model.Ignore {
			if !x.sys.Enabled(x.st, tr) {
				x.t.Fatalf("the ignore case of watch %s is not enabled", name)
			}
			x.st = x.sys.Apply(x.st, tr)
			return
		}
	}
	x.t.Fatalf("watch %s has no ignore case", name)
}

// consumeAll consumes every pending event.
func (x *xs) consumeAll() {
	x.t.Helper()
	for _, name := range x.pending() {
		x.consume(name)
	}
	if got := x.pending(); len(got) != 0 {
		x.t.Fatalf("watches still pending after consuming their events: %v", got)
	}
}

// TestWriteCreatesParents: WRITE creates the missing parents with empty
// values and leaves existing ancestors' values alone.
//
// Reference: docs/misc/xenstore.txt, WRITE; xenbus-protocol.md 10.1
// ("WRITE creates missing parents (empty value, inherited perms)").
func TestWriteCreatesParents(t *testing.T) {
	x := newXS(t, spec{paths: []string{"/a/b/c", "/k/l/m"}, init: map[string]string{"/k": "keep"}})
	x.write("/a/b/c", "x")
	x.write("/k/l/m", "y")
	want := map[string]string{
		"/": "", "/a": "", "/a/b": "", "/a/b/c": "x",
		"/k": "keep", "/k/l": "", "/k/l/m": "y",
	}
	if diff := cmp.Diff(want, x.store()); diff != "" {
		t.Errorf("store after WRITE /a/b/c x, WRITE /k/l/m y (-want +got):\n%s", diff)
	}
}

// TestWriteOverwrites: a WRITE replaces the value and keeps the children.
//
// Reference: docs/misc/xenstore.txt, WRITE.
func TestWriteOverwrites(t *testing.T) {
	x := newXS(t, spec{init: map[string]string{"/a": "x", "/a/b": "y"}})
	x.write("/a", "z")
	want := map[string]string{"/": "", "/a": "z", "/a/b": "y"}
	if diff := cmp.Diff(want, x.store()); diff != "" {
		t.Errorf("store after WRITE /a z (-want +got):\n%s", diff)
	}
}

// TestMkdir: MKDIR creates a missing node (and its parents) with an empty
// value and fires; on an existing node it is a no-op that keeps the value
// and fires no event.
//
// Reference: xenbus-protocol.md 10.1 ("MKDIR is idempotent");
// xenstore-wire.md 1.6 ("MKDIR of an existing node ...: no event [verified]").
func TestMkdir(t *testing.T) {
	x := newXS(t, spec{
		paths:   []string{"/a/b/c"},
		init:    map[string]string{"/v": "x"},
		watches: []watchSpec{{"a", "/a", true}, {"v", "/v", true}, {"root", "/", true}},
	})
	x.mkdir("/a/b/c")
	want := map[string]string{"/": "", "/a": "", "/a/b": "", "/a/b/c": "", "/v": "x"}
	if diff := cmp.Diff(want, x.store()); diff != "" {
		t.Errorf("store after MKDIR /a/b/c (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a", "root"}, x.pending()); diff != "" {
		t.Errorf("pending after MKDIR of a missing node (-want +got):\n%s", diff)
	}

	x.consumeAll()
	x.mkdir("/v")
	x.mkdir("/a/b/c")
	x.mkdir("/a")
	if diff := cmp.Diff(want, x.store()); diff != "" {
		t.Errorf("store after MKDIR of existing nodes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{}, x.pending()); diff != "" {
		t.Errorf("pending after MKDIR of existing nodes (-want +got):\n%s", diff)
	}
}

// TestRm: RM removes the whole subtree and nothing else; RM of a missing
// node (parent present or not) changes nothing and fires nothing.
//
// Reference: xenbus-protocol.md 10.1 ("RM deletes the whole subtree; it is
// not an error if the path is absent"); xenstore-wire.md 1.6 ("RM of a
// missing child: no event [verified]").
func TestRm(t *testing.T) {
	x := newXS(t, spec{
		paths: []string{"/a/gone", "/q/r/s"},
		init: map[string]string{
			"/a/b/c": "x", "/a/b/d": "y", "/a/e": "z", "/ab": "x",
		},
		watches: []watchSpec{{"root", "/", true}, {"a", "/a", true}, {"q", "/q/r/s", true}},
	})
	x.rm("/a/b")
	want := map[string]string{"/": "", "/a": "", "/a/e": "z", "/ab": "x"}
	if diff := cmp.Diff(want, x.store()); diff != "" {
		t.Errorf("store after RM /a/b (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a", "root"}, x.pending()); diff != "" {
		t.Errorf("pending after RM /a/b (-want +got):\n%s", diff)
	}

	x.consumeAll()
	x.rm("/a/gone") // parent exists
	x.rm("/a/b")    // just removed
	x.rm("/q/r/s")  // parent missing too
	if diff := cmp.Diff(want, x.store()); diff != "" {
		t.Errorf("store after RM of missing nodes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{}, x.pending()); diff != "" {
		t.Errorf("pending after RM of missing nodes (-want +got):\n%s", diff)
	}
}

// TestReadMissing: a missing node reads as Absent, distinct from the empty
// value of a directory, and READ and DIRECTORY change nothing.
//
// Reference: xenbus-protocol.md 10.1 ("Reads of missing nodes give
// ENOENT. Drivers treat that as Unknown or absent").
func TestReadMissing(t *testing.T) {
	x := newXS(t, spec{paths: []string{"/a/b/missing", "/gone"}, init: map[string]string{"/a/b": ""}})
	before := append(model.State(nil), x.st...)
	for _, p := range []string{"/a/b/missing", "/gone"} {
		if got := x.sys.Get(x.st, x.p(p)); got != model.Absent {
			t.Errorf("Get(%s) = %s; want Absent", p, x.sys.FormatValue(got))
		}
		if x.sys.Exists(x.st, x.p(p)) {
			t.Errorf("Exists(%s) = true; want false", p)
		}
		x.apply(model.Read(x.p(p)), model.Directory(x.p(p)))
	}
	if got := x.sys.Get(x.st, x.p("/a/b")); got != model.Empty {
		t.Errorf("Get(/a/b) = %s; want Empty", x.sys.FormatValue(got))
	}
	if diff := cmp.Diff(before, x.st); diff != "" {
		t.Errorf("state after READ and DIRECTORY (-want +got):\n%s", diff)
	}
}

// TestWatchMatching: a watch fires for a change of its path or of any node
// below it, not for a change above it or beside it (a sibling whose name
// has the watch path as a string prefix included).
//
// Reference: xenbus-protocol.md 10.2 ("matches every modification ... of
// any node that is wpath or a descendant of it"); xenstore-wire.md 1.6,
// Matching.
func TestWatchMatching(t *testing.T) {
	watches := []watchSpec{
		{"root", "/", true},
		{"a", "/a", true},
		{"ab", "/a/b", true},
		{"abc", "/a/b/c", true},
		{"abcd", "/a/b/c/d", true},
		{"a-b", "/ab", true},
		{"e", "/e", true},
	}
	tests := []struct {
		name string
		op   func(x *xs)
		want []string
	}{
		{"write the watched node", func(x *xs) { x.write("/a/b", "x") }, []string{"a", "ab", "root"}},
		{"write a descendant", func(x *xs) { x.write("/a/b/c", "y") }, []string{"a", "ab", "abc", "root"}},
		{"create a deep node", func(x *xs) { x.write("/e/f/g", "x") }, []string{"e", "root"}},
		{"write a string-prefix sibling", func(x *xs) { x.write("/ab", "x") }, []string{"a-b", "root"}},
		{"write the root", func(x *xs) { x.write("/", "x") }, []string{"root"}},
		{"same-value write", func(x *xs) { x.write("/a/b/c", "x") }, []string{"a", "ab", "abc", "root"}},
		{"mkdir below", func(x *xs) { x.mkdir("/a/b/c/d") }, []string{"a", "ab", "abc", "abcd", "root"}},
		{"rm a leaf", func(x *xs) { x.rm("/a/b/c") }, []string{"a", "ab", "abc", "abcd", "root"}},
		{"set_perms", func(x *xs) { x.apply(model.SetPerms(x.p("/a/b"))) }, []string{"a", "ab", "root"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := newXS(t, spec{
				paths:   []string{"/a/b/c/d", "/e/f/g"},
				init:    map[string]string{"/a/b/c": "x", "/ab": "y"},
				watches: watches,
			})
			tt.op(x)
			if diff := cmp.Diff(tt.want, x.pending()); diff != "" {
				t.Errorf("pending watches (-want +got):\n%s", diff)
			}
		})
	}
}

// TestWatchSameValueWrite: a WRITE of the value a node already holds fires
// its watches.
//
// Reference: xenstore-wire.md 1.6 ("Changes that trigger events: write
// (including a same-value write) ... [verified]").
func TestWatchSameValueWrite(t *testing.T) {
	x := newXS(t, spec{init: map[string]string{"/s": "x"}, watches: []watchSpec{{"s", "/s", true}}})
	before := x.store()
	x.write("/s", "x")
	if diff := cmp.Diff(before, x.store()); diff != "" {
		t.Errorf("store after a same-value WRITE (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"s": "pending"}, x.watchStates()); diff != "" {
		t.Errorf("watches after a same-value WRITE (-want +got):\n%s", diff)
	}
}

// TestWatchAncestorRemoval: removing an ancestor of a watched path fires
// the watch, and every watch below the removed node gets an event of its
// own, whether its node existed or not; watches elsewhere stay quiet.
//
// Reference: xenstore-wire.md 1.6 ("RM /R with watches on /, /R/a and
// /R/a/b: the events are /R, /R/a and /R/a/b. Each watch below the removed
// node gets its own watch path [verified]"); xenbus-protocol.md 10.2.
func TestWatchAncestorRemoval(t *testing.T) {
	x := newXS(t, spec{
		paths: []string{"/R/a/b/never"},
		init:  map[string]string{"/R/a/b": "x", "/S/t": "y", "/Rx": "z"},
		watches: []watchSpec{
			{"root", "/", true},
			{"R/a", "/R/a", true},
			{"R/a/b", "/R/a/b", true},
			{"R/a/b/never", "/R/a/b/never", true},
			{"S", "/S", true},
			{"Rx", "/Rx", true},
			{"R/a/unregistered", "/R/a/b", false},
		},
	})
	x.rm("/R")
	want := map[string]string{
		"root": "pending", "R/a": "pending", "R/a/b": "pending", "R/a/b/never": "pending",
		"S": "on", "Rx": "on", "R/a/unregistered": "off",
	}
	if diff := cmp.Diff(want, x.watchStates()); diff != "" {
		t.Errorf("watches after RM /R (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"/": "", "/S": "", "/S/t": "y", "/Rx": "z"}, x.store()); diff != "" {
		t.Errorf("store after RM /R (-want +got):\n%s", diff)
	}
}

// TestWatchRegistration: WATCH registers the watch and fires it once at
// once, even on a missing path; UNWATCH drops the registration and any
// pending event.
//
// Reference: xenstore-wire.md 1.6 ("The initial event fires even for a
// non-existent path [verified]"); xenbus-protocol.md 10.2 ("It fires once
// immediately on registration").
func TestWatchRegistration(t *testing.T) {
	x := newXS(t, spec{
		paths:   []string{"/missing/node"},
		init:    map[string]string{"/p": "x"},
		watches: []watchSpec{{"missing", "/missing/node", false}, {"p", "/p", false}},
	})
	if diff := cmp.Diff(map[string]string{"missing": "off", "p": "off"}, x.watchStates()); diff != "" {
		t.Errorf("initial watches (-want +got):\n%s", diff)
	}
	x.apply(model.WatchOp(x.w["missing"]), model.WatchOp(x.w["p"]))
	if diff := cmp.Diff(map[string]string{"missing": "pending", "p": "pending"}, x.watchStates()); diff != "" {
		t.Errorf("watches after WATCH (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"/": "", "/p": "x"}, x.store()); diff != "" {
		t.Errorf("WATCH changed the store (-want +got):\n%s", diff)
	}
	x.apply(model.UnwatchOp(x.w["p"]))
	if diff := cmp.Diff(map[string]string{"missing": "pending", "p": "off"}, x.watchStates()); diff != "" {
		t.Errorf("watches after UNWATCH p (-want +got):\n%s", diff)
	}
	x.write("/p", "y")
	if diff := cmp.Diff(map[string]string{"missing": "pending", "p": "off"}, x.watchStates()); diff != "" {
		t.Errorf("watches after a WRITE to an unwatched path (-want +got):\n%s", diff)
	}
}

// TestUnregisteredWatchNeverFires: a watch that is not registered does not
// become pending, whatever happens to its path.
//
// Reference: xenstore-wire.md 1.6 (events go to registered watches).
func TestUnregisteredWatchNeverFires(t *testing.T) {
	x := newXS(t, spec{
		paths:   []string{"/n/c", "/n/d"},
		watches: []watchSpec{{"n", "/n", false}, {"root", "/", false}},
	})
	x.write("/n/c", "x")
	x.mkdir("/n/d")
	x.apply(model.SetPerms(x.p("/n")))
	x.write("/n", "y")
	x.cleanup("/n/c")
	x.rm("/n")
	if diff := cmp.Diff(map[string]string{"n": "off", "root": "off"}, x.watchStates()); diff != "" {
		t.Errorf("unregistered watches after changes to their paths (-want +got):\n%s", diff)
	}
}

// TestSetPerms: SET_PERMS fires the watches of the node and its ancestors
// and leaves the value alone; on a missing node it fails (ENOENT) and fires
// nothing.
//
// Reference: xenstore-wire.md 1.6 ("Changes that trigger events: ... and
// SET_PERMS [verified]"); docs/misc/xenstore.txt, SET_PERMS.
func TestSetPerms(t *testing.T) {
	x := newXS(t, spec{
		paths:   []string{"/a/missing"},
		init:    map[string]string{"/a/b": "x"},
		watches: []watchSpec{{"a", "/a", true}, {"b", "/a/b", true}, {"m", "/a/missing", true}},
	})
	before := x.store()
	x.apply(model.SetPerms(x.p("/a/missing")))
	if diff := cmp.Diff([]string{}, x.pending()); diff != "" {
		t.Errorf("pending after SET_PERMS of a missing node (-want +got):\n%s", diff)
	}
	x.apply(model.SetPerms(x.p("/a/b")))
	if diff := cmp.Diff([]string{"a", "b"}, x.pending()); diff != "" {
		t.Errorf("pending after SET_PERMS /a/b (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, x.store()); diff != "" {
		t.Errorf("SET_PERMS changed the store (-want +got):\n%s", diff)
	}
}

// TestCleanup: libxl__xs_path_cleanup removes the node, then each parent
// whose value is empty and which has no children left, stopping at a
// parent with a value, at a parent with another child, and at the root.
// When the node is already gone but its parent exists, xs_rm succeeds and
// the parents are still cleaned up.
//
// Reference: tools/libs/light/libxl_xshelp.c, libxl__xs_path_cleanup
// ("RM the path, then remove each parent whose value is empty and which
// has no children"); xenbus-protocol.md 6.3 ("the parent directory if
// empty"); C xenstored do_rm ("Didn't exist already? Fine, if parent
// exists").
func TestCleanup(t *testing.T) {
	tests := []struct {
		name string
		init map[string]string
		path string
		want map[string]string
	}{
		{
			name: "all empty parents go, the root stays",
			init: map[string]string{"/a/b/c": "x"},
			path: "/a/b/c",
			want: map[string]string{"/": ""},
		},
		{
			name: "stop at a parent with a value",
			init: map[string]string{"/a": "v", "/a/b/c": "x"},
			path: "/a/b/c",
			want: map[string]string{"/": "", "/a": "v"},
		},
		{
			name: "stop at a parent with another child",
			init: map[string]string{"/a/b/c": "x", "/a/b/d": "y"},
			path: "/a/b/c",
			want: map[string]string{"/": "", "/a": "", "/a/b": "", "/a/b/d": "y"},
		},
		{
			name: "stop higher up at another child",
			init: map[string]string{"/a/b/c": "x", "/a/e": ""},
			path: "/a/b/c",
			want: map[string]string{"/": "", "/a": "", "/a/e": ""},
		},
		{
			name: "removes the subtree of the node",
			init: map[string]string{"/a/b/c/d": "x", "/a/f": "y"},
			path: "/a/b",
			want: map[string]string{"/": "", "/a": "", "/a/f": "y"},
		},
		{
			name: "missing node, empty parents",
			init: map[string]string{"/a/b": ""},
			path: "/a/b/c",
			want: map[string]string{"/": ""},
		},
		{
			name: "missing node and parent: nothing",
			init: map[string]string{"/a": ""},
			path: "/a/b/c",
			want: map[string]string{"/": "", "/a": ""},
		},
		{
			name: "a top-level node",
			init: map[string]string{"/a": "x", "/z": ""},
			path: "/a",
			want: map[string]string{"/": "", "/z": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := newXS(t, spec{paths: []string{tt.path}, init: tt.init})
			x.cleanup(tt.path)
			if diff := cmp.Diff(tt.want, x.store()); diff != "" {
				t.Errorf("store after PATH_CLEANUP %s (-want +got):\n%s", tt.path, diff)
			}
		})
	}
}

// TestCleanupFires: every node PATH_CLEANUP removes fires its watches, and
// the watches below it.
//
// Reference: xenstore-wire.md 1.6 (removal events); libxl_xshelp.c,
// libxl__xs_path_cleanup (one xs_rm per removed level).
func TestCleanupFires(t *testing.T) {
	x := newXS(t, spec{
		init: map[string]string{"/a/b/c": "x", "/a/d": "y", "/z": ""},
		watches: []watchSpec{
			{"a", "/a", true}, {"b", "/a/b", true}, {"c", "/a/b/c", true},
			{"d", "/a/d", true}, {"z", "/z", true},
		},
	})
	x.cleanup("/a/b/c")
	if diff := cmp.Diff(map[string]string{"/": "", "/a": "", "/a/d": "y", "/z": ""}, x.store()); diff != "" {
		t.Errorf("store (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, x.pending()); diff != "" {
		t.Errorf("pending (-want +got):\n%s", diff)
	}
}

// TestSwitchState: xenbus_switch_state writes nothing when the new state
// equals the driver's cached state, writes nothing when the state node is
// gone ("we don't want to resurrect that directory"), and otherwise writes
// the state (even over the same value: it is a WRITE) and updates the
// cache.
//
// Reference: xenbus-protocol.md 3 (xenbus_switch_state); Linux
// drivers/xen/xenbus/xenbus_client.c, __xenbus_switch_state.
func TestSwitchState(t *testing.T) {
	tests := []struct {
		name   string
		init   map[string]string
		cached model.XenbusState
		to     model.XenbusState
		want   map[string]string
		// wantCache is checked when the node exists; see
		// TestSwitchStateGoneNodeUpdatesCache for the other case.
		wantCache model.XenbusState
		fires     bool
	}{
		{
			name:   "cached equals new: no write, even if the node differs",
			init:   map[string]string{"/fe/state": "1"},
			cached: model.StateConnected, to: model.StateConnected,
			want:      map[string]string{"/": "", "/fe": "", "/fe/state": "1"},
			wantCache: model.StateConnected,
		},
		{
			name:   "node present: write and update the cache",
			init:   map[string]string{"/fe/state": "1"},
			cached: model.StateInitialising, to: model.StateInitWait,
			want:      map[string]string{"/": "", "/fe": "", "/fe/state": "2"},
			wantCache: model.StateInitWait,
			fires:     true,
		},
		{
			name:   "node already holds the new value: write anyway",
			init:   map[string]string{"/fe/state": "4"},
			cached: model.StateInitialised, to: model.StateConnected,
			want:      map[string]string{"/": "", "/fe": "", "/fe/state": "4"},
			wantCache: model.StateConnected,
			fires:     true,
		},
		{
			name:   "node gone, directory left: no resurrection",
			init:   map[string]string{"/fe": ""},
			cached: model.StateConnected, to: model.StateClosing,
			want: map[string]string{"/": "", "/fe": ""},
		},
		{
			name:   "directory gone: no resurrection",
			init:   map[string]string{},
			cached: model.StateConnected, to: model.StateClosed,
			want: map[string]string{"/": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := newXS(t, spec{
				paths:   []string{"/fe/state"},
				init:    tt.init,
				vars:    map[string]uint8{"cache": uint8(tt.cached)},
				watches: []watchSpec{{"state", "/fe/state", true}, {"fe", "/fe", true}},
			})
			x.apply(model.SwitchState(x.p("/fe/state"), tt.to, x.vars["cache"]))
			if diff := cmp.Diff(tt.want, x.store()); diff != "" {
				t.Errorf("store after switch_state(%s) (-want +got):\n%s", tt.to, diff)
			}
			if _, ok := tt.want["/fe/state"]; ok {
				if got := model.XenbusState(x.sys.VarValue(x.st, x.vars["cache"])); got != tt.wantCache {
					t.Errorf("cached state = %s; want %s", got, tt.wantCache)
				}
			}
			want := []string{}
			if tt.fires {
				want = []string{"fe", "state"}
			}
			if diff := cmp.Diff(want, x.pending()); diff != "" {
				t.Errorf("pending (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSwitchStateGoneNodeUpdatesCache: when the state node is gone,
// __xenbus_switch_state aborts its transaction (abort = 1), the abort
// succeeds (xenbus_transaction_end returns 0), and the "else dev->state =
// state;" branch runs: Linux updates the cached state although nothing was
// written. So a second switch to the same state is a no-op even if the node
// has come back.
//
// Reference: Linux drivers/xen/xenbus/xenbus_client.c,
// __xenbus_switch_state:
//
//	err = xenbus_scanf(xbt, dev->nodename, "state", "%d", &current_state);
//	if (err != 1)
//		goto abort;
//	...
//	abort:
//	err = xenbus_transaction_end(xbt, abort);
//	if (err) { ... } else
//		dev->state = state;
func TestSwitchStateGoneNodeUpdatesCache(t *testing.T) {
	x := newXS(t, spec{
		paths: []string{"/fe/state"},
		init:  map[string]string{"/fe": ""},
		vars:  map[string]uint8{"cache": uint8(model.StateConnected)},
	})
	x.apply(model.SwitchState(x.p("/fe/state"), model.StateClosing, x.vars["cache"]))
	if got := model.XenbusState(x.sys.VarValue(x.st, x.vars["cache"])); got != model.StateClosing {
		t.Errorf("cached state after switch_state(Closing) on a missing node = %s; want Closing", got)
	}
}

// TestReplace: OpReplace (a read-modify-write under one transaction)
// writes only when the node holds the expected value.
//
// Reference: ops.go OpReplace (pciback's per-device state-N updates);
// docs/misc/xenstore.txt, WRITE.
func TestReplace(t *testing.T) {
	x := newXS(t, spec{
		init:    map[string]string{"/p/state-0": "7"},
		values:  []string{"7", "8"},
		watches: []watchSpec{{"p", "/p", true}},
	})
	x.apply(model.Replace(x.p("/p/state-0"), x.v("5"), x.v("8")))
	if diff := cmp.Diff(map[string]string{"/": "", "/p": "", "/p/state-0": "7"}, x.store()); diff != "" {
		t.Errorf("store after REPLACE 5→8 of a node holding 7 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{}, x.pending()); diff != "" {
		t.Errorf("pending after a REPLACE that did not match (-want +got):\n%s", diff)
	}
	x.apply(model.Replace(x.p("/p/state-0"), x.v("7"), x.v("8")))
	if diff := cmp.Diff(map[string]string{"/": "", "/p": "", "/p/state-0": "8"}, x.store()); diff != "" {
		t.Errorf("store after REPLACE 7→8 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"p"}, x.pending()); diff != "" {
		t.Errorf("pending after a REPLACE that matched (-want +got):\n%s", diff)
	}
}

// TestDomainGone: with XSA-419 (xenstored 4.17+) the nodes a destroyed
// domain owns vanish, with their subtrees, and the nodes of dom0 and of
// other domains stay; before it, nothing is removed. C xenstored fires
// the watches on the nodes it deletes, oxenstored does not. The op is
// xenstored's: it leaves the domain's run state to the transition that
// made the domain dying.
//
// Reference: xenbus-protocol.md 10.4 ("since XSA-419 ... xenstored deletes
// every node owned by a destroyed domain ... a dying guest makes its
// frontend dirs vanish"; "from XSA-322 to XSA-419, ownership passed to
// dom0 and the nodes stayed"); Xen RELEASE-4.17.0
// tools/xenstore/xenstored_domain.c domain_tree_remove_sub (rm_node, whose
// delnode_sub calls fire_watches) and tools/ocaml/xenstored/store.ml
// reset_permissions (Node.recurse_filter_map: "nodes removed this way
// won't generate watch events").
func TestDomainGone(t *testing.T) {
	const (
		feVbd = "/local/domain/1/device/vbd/51712"
		feVif = "/local/domain/1/device/vif/0"
		beVbd = "/local/domain/0/backend/vbd/1/51712"
		beVif = "/local/domain/2/backend/vif/1/0"
	)
	init := map[string]string{
		feVbd + "/state": "4", feVbd + "/backend": "x",
		feVif + "/state":       "4",
		beVbd + "/state":       "4",
		beVif + "/state":       "4",
		"/local/domain/1/name": "y",
	}
	all := map[string]string{
		"/": "", "/local": "", "/local/domain": "",
		"/local/domain/0": "", "/local/domain/0/backend": "", "/local/domain/0/backend/vbd": "",
		"/local/domain/0/backend/vbd/1": "", beVbd: "", beVbd + "/state": "4",
		"/local/domain/1": "", "/local/domain/1/name": "y", "/local/domain/1/device": "",
		"/local/domain/1/device/vbd": "", feVbd: "", feVbd + "/state": "4", feVbd + "/backend": "x",
		"/local/domain/1/device/vif": "", feVif: "", feVif + "/state": "4",
		"/local/domain/2": "", "/local/domain/2/backend": "", "/local/domain/2/backend/vif": "",
		"/local/domain/2/backend/vif/1": "", beVif: "", beVif + "/state": "4",
	}
	without := func(prefixes ...string) map[string]string {
		m := map[string]string{}
		for p, v := range all {
			keep := true
			for _, pre := range prefixes {
				if p == pre || strings.HasPrefix(p, pre+"/") {
					keep = false
				}
			}
			if keep {
				m[p] = v
			}
		}
		return m
	}
	watches := []watchSpec{
		{"fe", feVbd + "/state", true}, {"be", beVbd + "/state", true},
		{"dd", beVif, true}, {"home1", "/local/domain/1", true},
	}
	tests := []struct {
		name        string
		removeOwned bool
		fires       bool
		dom         int
		want        map[string]string
		pending     []string
	}{
		{
			name: "4.17 C xenstored, guest dies: its frontend dirs vanish, with events", removeOwned: true, fires: true, dom: 1,
			want:    without(feVbd, feVif),
			pending: []string{"fe", "home1"},
		},
		{
			name: "4.17 oxenstored, guest dies: its frontend dirs vanish, silently", removeOwned: true, dom: 1,
			want:    without(feVbd, feVif),
			pending: []string{},
		},
		{
			name: "4.17 C xenstored, driver domain dies: its backend dir vanishes, with events", removeOwned: true, fires: true, dom: 2,
			want:    without(beVif),
			pending: []string{"dd"},
		},
		{
			name: "4.17 oxenstored, driver domain dies: its backend dir vanishes, silently", removeOwned: true, dom: 2,
			want:    without(beVif),
			pending: []string{},
		},
		{
			name: "before XSA-419: nothing removed", removeOwned: false, fires: true, dom: 1,
			want:    all,
			pending: []string{},
		},
		{
			name: "4.17, a domain owning nothing", removeOwned: true, fires: true, dom: 3,
			want:    all,
			pending: []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := newXS(t, spec{
				init:        init,
				owners:      map[string]int{feVbd: 1, feVif: 1, beVif: 2},
				domains:     map[int]string{1: "guest", 2: "dd"},
				removeOwned: tt.removeOwned,
				deathFires:  tt.fires,
				watches:     watches,
			})
			x.apply(model.DomainGone(tt.dom))
			if diff := cmp.Diff(tt.want, x.store()); diff != "" {
				t.Errorf("store after DOMAIN_GONE %d (-want +got):\n%s", tt.dom, diff)
			}
			if diff := cmp.Diff(tt.pending, x.pending()); diff != "" {
				t.Errorf("pending after DOMAIN_GONE %d (-want +got):\n%s", tt.dom, diff)
			}
			got := map[string]uint8{
				"guest": x.sys.VarValue(x.st, x.dom[1]),
				"dd":    x.sys.VarValue(x.st, x.dom[2]),
			}
			running := map[string]uint8{"guest": model.DomainRunning, "dd": model.DomainRunning}
			if diff := cmp.Diff(running, got); diff != "" {
				t.Errorf("domain run states after DOMAIN_GONE %d (-want +got):\n%s", tt.dom, diff)
			}
		})
	}
}

// TestInitRootValue: Builder.Init of the root with a value puts that value
// in the initial store, as Init does for every other node (WRITE / is
// allowed, and the engine's Write of the root keeps its value).
//
// Reference: build.go, Builder.Init ("Init sets node p (and empty
// ancestors) in the initial store").
func TestInitRootValue(t *testing.T) {
	x := newXS(t, spec{init: map[string]string{"/": "x"}})
	if diff := cmp.Diff(map[string]string{"/": "x"}, x.store()); diff != "" {
		t.Errorf("initial store (-want +got):\n%s", diff)
	}
}
