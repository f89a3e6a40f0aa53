package difftest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/xbcheck/xbcheck/realxs"
)

// A conflictCase is one transaction of client 0 with another client's
// requests in between, under C xenstored: the commit's outcome on the
// daemon and by the model's C xenstored rule must be the same. The
// random sequences find such cases; these name them, one per way C
// xenstored 4.17 records what a transaction touches
// (xenstored_transaction.c, access_node and finalize_transaction) and
// changes a node's generation (xenstored_core.c).
type conflictCase struct {
	name string
	// init are plain requests before the transaction; txn the
	// transaction's requests; other the other client's requests, made
	// after the transaction's.
	init, txn, other []string
	want             string // "" or "EAGAIN", on C xenstored 4.17
	why              string
}

var conflictCases = []conflictCase{
	{name: "read, then a write of the node read", init: []string{"WRITE /a x"},
		txn: []string{"READ /a"}, other: []string{"WRITE /a x"}, want: "EAGAIN",
		why: "any write gives the node a new generation, also of the same value (access_node)"},
	{name: "read, then a write elsewhere", init: []string{"WRITE /a x", "WRITE /e x"},
		txn: []string{"READ /a"}, other: []string{"WRITE /e y"}, want: "",
		why: "only what the transaction touched is compared (finalize_transaction)"},
	{name: "blind write, then a write of the same node", init: []string{"WRITE /a x"},
		txn: []string{"WRITE /a y"}, other: []string{"WRITE /a x"}, want: "EAGAIN",
		why: "do_write reads the node first (get_node, read_node), which records its generation"},
	{name: "write of an existing node, then a new sibling", init: []string{"WRITE /a/b x"},
		txn: []string{"WRITE /a/b y"}, other: []string{"WRITE /a/d x"}, want: "",
		why: "writing an existing node reads neither its parent nor its siblings"},
	{name: "read, then a new child of the node read", init: []string{"WRITE /a x"},
		txn: []string{"READ /a"}, other: []string{"WRITE /a/b x"}, want: "EAGAIN",
		why: "a new child rewrites the parent's record (add_child, write_node): a new generation"},
	{name: "read, then a child removed", init: []string{"WRITE /a/b x"},
		txn: []string{"READ /a"}, other: []string{"RM /a/b"}, want: "EAGAIN",
		why: "removing a child rewrites the parent's record (delete_child, remove_child_entry)"},
	{name: "read, then a grandchild created", init: []string{"WRITE /a/b x"},
		txn: []string{"READ /a"}, other: []string{"WRITE /a/b/c x"}, want: "",
		why: "only the parent's record changes"},
	{name: "read, then a child's value written", init: []string{"WRITE /a/b x"},
		txn: []string{"READ /a"}, other: []string{"WRITE /a/b y"}, want: "",
		why: "a child's value is in the child's record"},
	{name: "directory, then a child's value written", init: []string{"WRITE /a/b x"},
		txn: []string{"DIRECTORY /a"}, other: []string{"WRITE /a/b y"}, want: "",
		why: "DIRECTORY reads the node's record only (send_directory)"},
	{name: "directory, then a new child", init: []string{"WRITE /a/b x"},
		txn: []string{"DIRECTORY /a"}, other: []string{"WRITE /a/d x"}, want: "EAGAIN",
		why: "the node's record lists its children"},
	{name: "read of a missing node, then a sibling created", init: []string{"WRITE /a x"},
		txn: []string{"READ /a/b"}, other: []string{"WRITE /a/d x"}, want: "EAGAIN",
		why: "a missing node's parents are read up to the first that exists (get_node, errno_from_parents, ask_parents)"},
	{name: "read of a missing node, then created and removed", init: []string{"WRITE /a x"},
		txn: []string{"READ /a/b"}, other: []string{"WRITE /a/b x", "RM /a/b"}, want: "EAGAIN",
		why: "the missing node is back to no generation, but its parent's record changed twice"},
	{name: "read below a missing node, then a node beside it", init: []string{"WRITE /a x"},
		txn: []string{"READ /a/b/c"}, other: []string{"WRITE /a/d x"}, want: "EAGAIN",
		why: "ask_parents reads /a/b (missing), then /a"},
	{name: "read of an existing node, then a sibling created", init: []string{"WRITE /a/b x"},
		txn: []string{"READ /a/b"}, other: []string{"WRITE /a/d x"}, want: "",
		why: "the parent of an existing node is not read"},
	{name: "create, then a sibling created", init: []string{"WRITE /a x"},
		txn: []string{"WRITE /a/b x"}, other: []string{"WRITE /a/d x"}, want: "EAGAIN",
		why: "creating a node reads and rewrites its parent (construct_node, create_node)"},
	{name: "create with parents, then beside the first existing one", init: []string{"WRITE /a x"},
		txn: []string{"WRITE /a/b/c x"}, other: []string{"WRITE /a/d x"}, want: "EAGAIN",
		why: "construct_node reads the missing parents up to the first existing one"},
	{name: "mkdir of an existing node, then a write of it", init: []string{"WRITE /a x"},
		txn: []string{"MKDIR /a"}, other: []string{"WRITE /a y"}, want: "EAGAIN",
		why: "do_mkdir reads the node (get_node)"},
	{name: "remove, then a sibling created", init: []string{"WRITE /a/b x"},
		txn: []string{"RM /a/b"}, other: []string{"WRITE /a/d x"}, want: "EAGAIN",
		why: "rm_node reads the parent, and rewrites it"},
	{name: "remove, then a value below written", init: []string{"WRITE /a/b/c x"},
		txn: []string{"RM /a/b"}, other: []string{"WRITE /a/b/c y"}, want: "EAGAIN",
		why: "rm_node reads the whole subtree (walk_node_tree, read_node)"},
	{name: "remove of a missing node, then beside it", init: []string{"WRITE /a x"},
		txn: []string{"RM /a/b"}, other: []string{"WRITE /a/d x"}, want: "EAGAIN",
		why: "do_rm reads the missing node's parent"},
	{name: "read-only, then a write of the node read", init: []string{"WRITE /a x"},
		txn: []string{"READ /a", "READ /e"}, other: []string{"WRITE /a y"}, want: "EAGAIN",
		why: "finalize_transaction checks every node read, whatever the transaction wrote"},
}

// CConflictCases runs the named C xenstored conflict cases on a live C
// xenstored, each in a subtest, and compares each commit's outcome on
// the daemon with the model's C xenstored rule (and with the outcome C
// xenstored 4.17's source gives).
func CConflictCases(t *testing.T, dial Dialer) {
	u := newUniverse(t, CXenstored, 2)
	for _, cc := range conflictCases {
		t.Run(cc.name, func(t *testing.T) {
			e := newKnownEnv(t, dial, CXenstored)
			e.u = u
			e.st = u.sys.Initial()
			got, model := e.conflictCase(cc)
			if got != cc.want {
				t.Errorf("daemon: commit %q; C xenstored 4.17's source gives %q (%s)", got, cc.want, cc.why)
			}
			if model != got {
				t.Errorf("model: commit %q; daemon %q (%s)", model, got, cc.why)
			}
		})
	}
}

// conflictCase runs cc on the daemon and on the model; it returns both
// outcomes of the commit.
func (e *knownEnv) conflictCase(cc conflictCase) (daemon, modelOutcome string) {
	ctx, cancel := context.WithTimeout(e.ctx, 20*time.Second)
	defer cancel()
	u := e.u
	parse := func(r string) (kind, p, v string) {
		f := strings.Fields(r)
		kind, p = f[0], f[1]
		if len(f) > 2 {
			v = f[2]
		}
		return
	}
	plain := func(c *realxs.Client, r string) {
		kind, p, v := parse(r)
		if _, err := send(ctx, c, kind, e.path(p), v); err != nil {
			e.t.Fatalf("%s: %v", r, err)
		}
		u.sys.ApplyOp(e.st, u.op(kind, p, v))
	}
	for _, r := range cc.init {
		plain(e.o, r)
	}
	tx, err := e.c.StartTransaction(ctx)
	e.must(err)
	var probes []*probe
	for _, r := range cc.txn {
		kind, p, v := parse(r)
		pr := u.probes[probeKey{0, kind, p}]
		e.st = u.sys.Apply(e.st, pr.body)
		probes = append(probes, pr)
		_, err = send(ctx, tx, kind, e.path(p), v)
		if err != nil && !errors.Is(err, realxs.ENOENT) {
			e.t.Fatalf("%s in the transaction: %v", r, err)
		}
	}
	for _, r := range cc.other {
		plain(e.o, r)
	}
	for _, pr := range probes {
		if u.sys.Enabled(e.st, pr.eagain) {
			modelOutcome = "EAGAIN"
		}
		e.st = u.sys.Apply(e.st, pr.eagain)
	}
	err = tx.Commit(ctx)
	if err != nil && !errors.Is(err, realxs.EAGAIN) {
		e.t.Fatalf("commit: %v", err)
	}
	return errName(err), modelOutcome
}
