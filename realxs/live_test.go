package realxs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/xbcheck/xbcheck/realxs"
	"github.com/xbcheck/xbcheck/realxs/xstest"
)

// These tests run against a private oxenstored (see package xstest) and
// skip without one. References are to shared/docs/xenstore-wire.md.

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func startClient(t testing.TB, opts xstest.Options) (*xstest.Daemon, *realxs.Client) {
	t.Helper()
	d := xstest.Start(t, opts)
	return d, d.Dial(t)
}

func TestLiveReadWrite(t *testing.T) {
	_, c := startClient(t, xstest.Options{})
	ctx := testCtx(t)

	// Values are raw bytes: NULs and an empty value survive.
	for _, v := range [][]byte{[]byte("hello"), {}, []byte("a\x00b\x00"), bytes.Repeat([]byte{0xff}, 2048)} {
		if err := c.Write(ctx, "/rw/a/b", v); err != nil {
			t.Fatalf("Write(/rw/a/b, %d bytes): %v", len(v), err)
		}
		got, err := c.Read(ctx, "/rw/a/b")
		if err != nil {
			t.Fatalf("Read(/rw/a/b): %v", err)
		}
		if !bytes.Equal(got, v) {
			t.Errorf("Read(/rw/a/b) = %q; want %q", got, v)
		}
	}
	// WRITE creates missing parents with empty values.
	got, err := c.Read(ctx, "/rw/a")
	if err != nil || len(got) != 0 {
		t.Errorf("Read(/rw/a) = %q, %v; want \"\", nil", got, err)
	}

	_, err = c.Read(ctx, "/rw/missing")
	var xe *realxs.Error
	if !errors.As(err, &xe) || xe.Op != "XS_READ" || xe.Path != "/rw/missing" || xe.Err != realxs.ENOENT {
		t.Errorf("Read(/rw/missing) error = %#v; want *Error{XS_READ /rw/missing ENOENT}", err)
	}
	if !errors.Is(err, realxs.ENOENT) || !errors.Is(err, syscall.ENOENT) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(%v, ENOENT/syscall.ENOENT/fs.ErrNotExist) = false; want true", err)
	}
	if got, want := err.Error(), "XS_READ /rw/missing: ENOENT"; got != want {
		t.Errorf("error text = %q; want %q", got, want)
	}

	// Section 1.3: values over quota-maxsize (2048) give E2BIG, dom0 too.
	err = c.Write(ctx, "/rw/big", bytes.Repeat([]byte("x"), 2049))
	if !errors.Is(err, realxs.E2BIG) || errors.Is(err, realxs.ErrTooLarge) {
		t.Errorf("Write of 2049 bytes: %v; want the daemon's E2BIG", err)
	}
	// Section 1.4: bad paths give EINVAL.
	for _, p := range []string{"/rw/bad!char", "/rw/trailing/", "/rw//double", ""} {
		if err := c.Write(ctx, p, []byte("x")); !errors.Is(err, realxs.EINVAL) {
			t.Errorf("Write(%q): %v; want EINVAL", p, err)
		}
	}
	// Relative paths resolve against /local/domain/0 on the socket.
	if err := c.Write(ctx, "rel/x", []byte("r")); err != nil {
		t.Fatalf("Write(rel/x): %v", err)
	}
	if got, err := c.Read(ctx, "/local/domain/0/rel/x"); err != nil || string(got) != "r" {
		t.Errorf("Read(/local/domain/0/rel/x) = %q, %v; want \"r\", nil", got, err)
	}
}

func TestLiveMkdirRmDirectory(t *testing.T) {
	_, c := startClient(t, xstest.Options{})
	ctx := testCtx(t)

	if err := c.Mkdir(ctx, "/d/x/y"); err != nil {
		t.Fatalf("Mkdir: %v", err)
	}
	if err := c.Mkdir(ctx, "/d/x/y"); err != nil {
		t.Errorf("Mkdir of an existing node: %v; want nil", err)
	}
	for _, n := range []string{"c", "a", "b"} {
		if err := c.Write(ctx, "/d/x/"+n, []byte(n)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.Directory(ctx, "/d/x")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "b", "c", "y"}, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("Directory(/d/x) mismatch (-want +got):\n%s", diff)
	}
	got, err = c.Directory(ctx, "/d/x/y")
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("Directory(/d/x/y) = %#v, %v; want []string{}, nil", got, err)
	}
	if _, err := c.Directory(ctx, "/d/none"); !errors.Is(err, realxs.ENOENT) {
		t.Errorf("Directory(/d/none): %v; want ENOENT", err)
	}

	// Section 1.1: oxenstored answers a DIRECTORY larger than 4096 bytes
	// on the socket.
	for i := range 300 {
		if err := c.Mkdir(ctx, fmt.Sprintf("/d/many/child-%04d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := c.Directory(ctx, "/d/many"); err != nil || len(got) != 300 {
		t.Errorf("Directory(/d/many) = %d names, %v; want 300, nil", len(got), err)
	}

	if err := c.Rm(ctx, "/d/x"); err != nil {
		t.Fatalf("Rm(/d/x): %v", err)
	}
	if _, err := c.Read(ctx, "/d/x/y"); !errors.Is(err, realxs.ENOENT) {
		t.Errorf("Read(/d/x/y) after Rm(/d/x): %v; want ENOENT", err)
	}
	// Section 1.2: RM of a missing node with an existing parent is OK; a
	// missing parent is ENOENT.
	if err := c.Rm(ctx, "/d/x"); err != nil {
		t.Errorf("Rm of a missing node: %v; want nil", err)
	}
	if err := c.Rm(ctx, "/d/x/y/z"); !errors.Is(err, realxs.ENOENT) {
		t.Errorf("Rm with a missing parent: %v; want ENOENT", err)
	}
}

func TestLivePerms(t *testing.T) {
	_, c := startClient(t, xstest.Options{})
	ctx := testCtx(t)

	if err := c.Write(ctx, "/p/a", nil); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetPerms(ctx, "/p/a")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]realxs.Perm{{Domid: 0, Access: realxs.AccessNone}}, got); diff != "" {
		t.Errorf("GetPerms of a new node mismatch (-want +got):\n%s", diff)
	}
	want := []realxs.Perm{
		{Domid: 5, Access: realxs.AccessNone},
		{Domid: 7, Access: realxs.AccessRead},
		{Domid: 9, Access: realxs.AccessWrite},
		{Domid: 32752, Access: realxs.AccessBoth},
	}
	if err := c.SetPerms(ctx, "/p/a", want); err != nil {
		t.Fatal(err)
	}
	got, err = c.GetPerms(ctx, "/p/a")
	if err != nil {
		t.Fatal(err)
	}
	// Section 1.5: the last entry is kept because it is NUL-terminated.
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetPerms after SetPerms mismatch (-want +got):\n%s", diff)
	}
	// oxenstored: new children inherit the parent's perms verbatim.
	if err := c.Write(ctx, "/p/a/child", nil); err != nil {
		t.Fatal(err)
	}
	if got, err := c.GetPerms(ctx, "/p/a/child"); err != nil || !cmp.Equal(want, got) {
		t.Errorf("GetPerms(/p/a/child) = %v, %v; want %v", got, err, want)
	}
	if err := c.SetPerms(ctx, "/p/a", nil); !errors.Is(err, realxs.EINVAL) {
		t.Errorf("SetPerms with no entries: %v; want EINVAL", err)
	}
	if _, err := c.GetPerms(ctx, "/p/none"); !errors.Is(err, realxs.ENOENT) {
		t.Errorf("GetPerms(/p/none): %v; want ENOENT", err)
	}
}

func TestLiveDomainPathAndRaw(t *testing.T) {
	_, c := startClient(t, xstest.Options{})
	ctx := testCtx(t)

	if got, err := c.GetDomainPath(ctx, 5); err != nil || got != "/local/domain/5" {
		t.Errorf("GetDomainPath(5) = %q, %v; want /local/domain/5", got, err)
	}
	// Section 1.2: removed or unknown types get ENOSYS.
	m, err := c.Raw(ctx, realxs.Op(20), 0, []byte("\x00"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Type != realxs.OpError || string(m.Payload) != "ENOSYS\x00" {
		t.Errorf("Raw(XS_20) = %v %q; want XS_ERROR \"ENOSYS\\x00\"", m.Type, m.Payload)
	}
	m, err = c.Raw(ctx, realxs.OpIsDomainIntroduced, 0, []byte("32752\x00"))
	if err != nil || m.Type != realxs.OpIsDomainIntroduced || string(m.Payload) != "T\x00" {
		t.Errorf("Raw(XS_IS_DOMAIN_INTRODUCED 32752) = %v %q, %v; want T", m.Type, m.Payload, err)
	}
}

// recv waits for one event on w.
func recv(t *testing.T, w *realxs.Watch) realxs.Event {
	t.Helper()
	select {
	case ev, ok := <-w.Events():
		if !ok {
			t.Fatalf("watch %s closed: %v", w.Token(), w.Err())
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatalf("no event for watch %s within 10s", w.Token())
	}
	panic("unreachable")
}

// drain returns the events queued on w, after a Sync.
func drain(t *testing.T, c *realxs.Client, w *realxs.Watch) []realxs.Event {
	t.Helper()
	if err := c.Sync(testCtx(t)); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	return w.Drain()
}

// Reference: xenstore-wire.md, section 1.6.
func TestLiveWatch(t *testing.T) {
	d, c := startClient(t, xstest.Options{})
	ctx := testCtx(t)
	other := d.Dial(t)

	w, err := c.Watch(ctx, "/w/a", "tok")
	if err != nil {
		t.Fatal(err)
	}
	// The registration event comes even though /w/a does not exist.
	if diff := cmp.Diff(realxs.Event{Path: "/w/a", Token: "tok"}, recv(t, w)); diff != "" {
		t.Errorf("registration event mismatch (-want +got):\n%s", diff)
	}
	if _, err := c.Watch(ctx, "/w/other", "tok"); !errors.Is(err, realxs.ErrTokenInUse) {
		t.Errorf("Watch with a used token: %v; want ErrTokenInUse", err)
	}

	// Changes at and below the path fire, from any connection; changes
	// elsewhere do not.
	for _, op := range []func() error{
		func() error { return other.Write(ctx, "/w/a", []byte("1")) },
		func() error { return other.Write(ctx, "/w/a/b/c", []byte("2")) },
		func() error { return other.Write(ctx, "/w/ab", []byte("no")) },
		func() error { return other.Write(ctx, "/w/zzz", []byte("no")) },
		func() error { return other.Mkdir(ctx, "/w/a/d") },
		func() error { return other.Mkdir(ctx, "/w/a/d") }, // exists: no event
		func() error {
			return other.SetPerms(ctx, "/w/a/d", []realxs.Perm{{Domid: 1, Access: realxs.AccessRead}})
		},
		func() error { return other.Rm(ctx, "/w/a/b/c") },
		func() error { return other.Rm(ctx, "/w/a/b/c") }, // missing: no event
	} {
		if err := op(); err != nil {
			t.Fatal(err)
		}
	}
	want := []realxs.Event{
		{"/w/a", "tok"}, {"/w/a/b/c", "tok"}, {"/w/a/d", "tok"}, {"/w/a/d", "tok"}, {"/w/a/b/c", "tok"},
	}
	if diff := cmp.Diff(want, drain(t, c, w)); diff != "" {
		t.Errorf("events mismatch (-want +got):\n%s", diff)
	}

	// Removing an ancestor fires each watch below it with its own path.
	deep, err := c.Watch(ctx, "/w/a/b", "deep")
	if err != nil {
		t.Fatal(err)
	}
	recv(t, deep)
	if err := other.Rm(ctx, "/w"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]realxs.Event{{"/w/a", "tok"}}, drain(t, c, w)); diff != "" {
		t.Errorf("events on ancestor removal, watch /w/a (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]realxs.Event{{"/w/a/b", "deep"}}, drain(t, c, deep)); diff != "" {
		t.Errorf("events on ancestor removal, watch /w/a/b (-want +got):\n%s", diff)
	}

	// After Unwatch the channel closes and no event is routed to it; the
	// token can be used again.
	if err := w.Unwatch(ctx); err != nil {
		t.Fatalf("Unwatch: %v", err)
	}
	if _, ok := <-w.Events(); ok {
		t.Errorf("event after Unwatch; want a closed channel")
	}
	if err := w.Unwatch(ctx); !errors.Is(err, realxs.ENOENT) {
		t.Errorf("second Unwatch: %v; want ENOENT", err)
	}
	w2, err := c.Watch(ctx, "/w2", "tok")
	if err != nil {
		t.Fatalf("Watch reusing a freed token: %v", err)
	}
	recv(t, w2)
	if err := other.Write(ctx, "/w/a", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if got := drain(t, c, w2); len(got) != 0 {
		t.Errorf("events for /w2 after a write to /w/a: %v; want none", got)
	}

	// An empty token is replaced by a fresh one.
	w3, err := c.Watch(ctx, "/w3", "")
	if err != nil {
		t.Fatal(err)
	}
	if ev := recv(t, w3); ev.Token == "" || ev.Token != w3.Token() || ev.Path != "/w3" {
		t.Errorf("registration event %v; want path /w3 and token %q", ev, w3.Token())
	}
}

// A slow consumer of one watch blocks neither other calls nor other
// watches: queues are unbounded.
func TestLiveWatchSlowConsumer(t *testing.T) {
	_, c := startClient(t, xstest.Options{})
	ctx := testCtx(t)

	slow, err := c.Watch(ctx, "/slow", "slow")
	if err != nil {
		t.Fatal(err)
	}
	fast, err := c.Watch(ctx, "/fast", "fast")
	if err != nil {
		t.Fatal(err)
	}
	recv(t, fast)
	const n = 500
	for i := range n {
		if err := c.Write(ctx, "/slow", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Write(ctx, "/fast", nil); err != nil {
		t.Fatal(err)
	}
	if ev := recv(t, fast); ev.Path != "/fast" {
		t.Errorf("fast event = %v; want /fast", ev)
	}
	if got := len(drain(t, c, slow)); got != n+1 {
		t.Errorf("slow watch got %d events; want %d", got, n+1)
	}
}

// Reference: xenstore-wire.md, section 1.7.
func TestLiveTransaction(t *testing.T) {
	_, c := startClient(t, xstest.Options{})
	ctx := testCtx(t)
	w, err := c.Watch(ctx, "/t", "t")
	if err != nil {
		t.Fatal(err)
	}
	recv(t, w)

	tx, err := c.StartTransaction(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tx.ID() == 0 {
		t.Errorf("transaction id 0")
	}
	if err := tx.Write(ctx, "/t/a", []byte("in-tx")); err != nil {
		t.Fatal(err)
	}
	if err := tx.Mkdir(ctx, "/t/dir"); err != nil {
		t.Fatal(err)
	}
	if got, err := tx.Read(ctx, "/t/a"); err != nil || string(got) != "in-tx" {
		t.Errorf("tx.Read(/t/a) = %q, %v; want in-tx", got, err)
	}
	if got, err := tx.Directory(ctx, "/t"); err != nil || !cmp.Equal([]string{"a", "dir"}, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })) {
		t.Errorf("tx.Directory(/t) = %v, %v; want [a dir]", got, err)
	}
	if err := tx.SetPerms(ctx, "/t/a", []realxs.Perm{{Domid: 3, Access: realxs.AccessRead}}); err != nil {
		t.Fatal(err)
	}
	if got, err := tx.GetPerms(ctx, "/t/a"); err != nil || !cmp.Equal([]realxs.Perm{{3, realxs.AccessRead}}, got) {
		t.Errorf("tx.GetPerms(/t/a) = %v, %v; want [r3]", got, err)
	}
	// Not visible outside, and no events, before the commit.
	if _, err := c.Read(ctx, "/t/a"); !errors.Is(err, realxs.ENOENT) {
		t.Errorf("Read outside the transaction: %v; want ENOENT", err)
	}
	if got := drain(t, c, w); len(got) != 0 {
		t.Errorf("events before commit: %v; want none", got)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if got, err := c.Read(ctx, "/t/a"); err != nil || string(got) != "in-tx" {
		t.Errorf("Read after commit = %q, %v; want in-tx", got, err)
	}
	if got := drain(t, c, w); len(got) == 0 {
		t.Errorf("no events after commit; want at least one")
	}
	if err := tx.Write(ctx, "/t/a", nil); !errors.Is(err, realxs.ErrTxDone) {
		t.Errorf("Write after Commit: %v; want ErrTxDone", err)
	}
	if err := tx.Commit(ctx); !errors.Is(err, realxs.ErrTxDone) {
		t.Errorf("second Commit: %v; want ErrTxDone", err)
	}

	// Abort drops the changes.
	tx, err = c.StartTransaction(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Write(ctx, "/t/a", []byte("aborted")); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rm(ctx, "/t/dir"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Abort(ctx); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	if got, err := c.Read(ctx, "/t/a"); err != nil || string(got) != "in-tx" {
		t.Errorf("Read after abort = %q, %v; want in-tx", got, err)
	}
	if _, err := c.Read(ctx, "/t/dir"); err != nil {
		t.Errorf("Read(/t/dir) after aborted Rm: %v", err)
	}

	// A conflicting write makes the commit fail with EAGAIN (oxenstored:
	// a different value written to a node the transaction read).
	tx, err = c.StartTransaction(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Read(ctx, "/t/a"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Write(ctx, "/t/b", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := c.Write(ctx, "/t/a", []byte("conflict")); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); !errors.Is(err, realxs.EAGAIN) || !errors.Is(err, syscall.EAGAIN) {
		t.Errorf("Commit after a conflicting write: %v; want EAGAIN", err)
	}
	if _, err := c.Read(ctx, "/t/b"); !errors.Is(err, realxs.ENOENT) {
		t.Errorf("Read(/t/b) after a failed commit: %v; want ENOENT", err)
	}

	// Section 1.3: oxenstored answers a stale transaction id with EIO.
	if _, err := c.Raw(ctx, realxs.OpRead, tx.ID(), []byte("/t/a\x00")); err != nil {
		t.Fatal(err)
	}
	m, _ := c.Raw(ctx, realxs.OpRead, tx.ID(), []byte("/t/a\x00"))
	if m.Type != realxs.OpError || string(m.Payload) != "EIO\x00" {
		t.Errorf("READ with a stale tx id = %v %q; want XS_ERROR EIO", m.Type, m.Payload)
	}
}

// Transact reruns the body until it commits. A second client keeps
// changing the node the body reads, so some attempts conflict.
func TestLiveTransactRetry(t *testing.T) {
	d, c := startClient(t, xstest.Options{})
	ctx := testCtx(t)
	other := d.Dial(t)
	if err := c.Write(ctx, "/tr/n", []byte("0")); err != nil {
		t.Fatal(err)
	}
	attempts := 0
	err := c.Transact(ctx, func(tx *realxs.Tx) error {
		attempts++
		v, err := tx.Read(ctx, "/tr/n")
		if err != nil {
			return err
		}
		if attempts <= 3 {
			if err := other.Write(ctx, "/tr/n", []byte(fmt.Sprint(attempts))); err != nil {
				return err
			}
		}
		return tx.Write(ctx, "/tr/copy", v)
	})
	if err != nil {
		t.Fatalf("Transact: %v", err)
	}
	if attempts != 4 {
		t.Errorf("Transact ran the body %d times; want 4", attempts)
	}
	if got, err := c.Read(ctx, "/tr/copy"); err != nil || string(got) != "3" {
		t.Errorf("Read(/tr/copy) = %q, %v; want 3", got, err)
	}

	// A body that fails aborts the transaction and returns its error.
	boom := errors.New("boom")
	err = c.Transact(ctx, func(tx *realxs.Tx) error {
		if err := tx.Write(ctx, "/tr/never", nil); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("Transact with a failing body: %v; want boom", err)
	}
	if _, err := c.Read(ctx, "/tr/never"); !errors.Is(err, realxs.ENOENT) {
		t.Errorf("Read(/tr/never): %v; want ENOENT", err)
	}
}

// With test-eagain on, about one commit in three fails at random; every
// Transact still commits, exactly once.
func TestLiveTransactTestEAGAIN(t *testing.T) {
	_, c := startClient(t, xstest.Options{TestEAGAIN: true})
	ctx := testCtx(t)

	// The daemon really does fail commits.
	fails := 0
	for range 60 {
		tx, err := c.StartTransaction(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Write(ctx, "/e/raw", nil); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); errors.Is(err, realxs.EAGAIN) {
			fails++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if fails == 0 {
		t.Errorf("no EAGAIN in 60 commits with test-eagain = true")
	}
	t.Logf("test-eagain: %d of 60 plain commits failed", fails)

	const n = 100
	attempts := 0
	for i := range n {
		err := c.Transact(ctx, func(tx *realxs.Tx) error {
			attempts++
			v, err := tx.Read(ctx, "/e/counter")
			if err != nil && !errors.Is(err, realxs.ENOENT) {
				return err
			}
			var k int
			fmt.Sscan(string(v), &k)
			return tx.Write(ctx, "/e/counter", []byte(fmt.Sprint(k+1)))
		})
		if err != nil {
			t.Fatalf("Transact %d: %v", i, err)
		}
	}
	if got, err := c.Read(ctx, "/e/counter"); err != nil || string(got) != fmt.Sprint(n) {
		t.Errorf("counter = %q, %v; want %d", got, err, n)
	}
	if attempts <= n {
		t.Errorf("%d attempts for %d transactions; want retries", attempts, n)
	}
	t.Logf("test-eagain: %d attempts for %d transactions", attempts, n)
}

// Many goroutines share one client, and several clients share the daemon;
// concurrent increments through Transact lose no update.
func TestLiveConcurrent(t *testing.T) {
	d, c := startClient(t, xstest.Options{})
	ctx := testCtx(t)

	const goroutines, perG = 16, 50
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*2)
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				p := fmt.Sprintf("/c/g%d/k%d", g, i)
				v := []byte(fmt.Sprintf("v%d-%d", g, i))
				if err := c.Write(ctx, p, v); err != nil {
					errs <- err
					return
				}
				got, err := c.Read(ctx, p)
				if err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(got, v) {
					errs <- fmt.Errorf("Read(%s) = %q; want %q", p, got, v)
					return
				}
			}
		})
	}
	// Concurrent transactions on shared clients, half of them on a
	// second connection.
	c2 := d.Dial(t)
	for g := range goroutines {
		cl := c
		if g%2 == 1 {
			cl = c2
		}
		wg.Go(func() {
			for range 10 {
				err := cl.Transact(ctx, func(tx *realxs.Tx) error {
					v, err := tx.Read(ctx, "/c/counter")
					if err != nil && !errors.Is(err, realxs.ENOENT) {
						return err
					}
					var k int
					fmt.Sscan(string(v), &k)
					return tx.Write(ctx, "/c/counter", []byte(fmt.Sprint(k+1)))
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got, err := c.Read(ctx, "/c/counter"); err != nil || string(got) != fmt.Sprint(goroutines*10) {
		t.Errorf("counter = %q, %v; want %d", got, err, goroutines*10)
	}
	for g := range goroutines {
		names, err := c.Directory(ctx, fmt.Sprintf("/c/g%d", g))
		if err != nil || len(names) != perG {
			t.Errorf("Directory(/c/g%d) = %d names, %v; want %d", g, len(names), err, perG)
		}
	}
}

// Section 1.1: a request over 4096 bytes is refused before it is sent,
// and the connection stays usable (oxenstored would desynchronise).
func TestLiveOversizedRefused(t *testing.T) {
	_, c := startClient(t, xstest.Options{})
	ctx := testCtx(t)

	err := c.Write(ctx, "/big", bytes.Repeat([]byte("x"), realxs.PayloadMax))
	if !errors.Is(err, realxs.ErrTooLarge) || !errors.Is(err, realxs.E2BIG) {
		t.Errorf("Write of an oversized request: %v; want ErrTooLarge and E2BIG", err)
	}
	if _, err := c.Read(ctx, "/"+strings.Repeat("a", realxs.PayloadMax)); !errors.Is(err, realxs.ErrTooLarge) {
		t.Errorf("Read of an oversized path: %v; want ErrTooLarge", err)
	}
	// Exactly at the limit it is sent (and the daemon answers E2BIG for
	// the value size, which shows the stream is still in step).
	path := "/big"
	value := bytes.Repeat([]byte("x"), realxs.PayloadMax-len(path)-1)
	if err := c.Write(ctx, path, value); !errors.Is(err, realxs.E2BIG) || errors.Is(err, realxs.ErrTooLarge) {
		t.Errorf("Write at the limit: %v; want the daemon's E2BIG", err)
	}
	if err := c.Write(ctx, "/after", []byte("ok")); err != nil {
		t.Errorf("Write after the refusal: %v", err)
	}
	if got, err := c.Read(ctx, "/after"); err != nil || string(got) != "ok" {
		t.Errorf("Read(/after) = %q, %v; want ok", got, err)
	}
}

// When the daemon dies, pending and later calls fail promptly with
// ErrConnLost and watch channels close.
func TestLiveDaemonKilled(t *testing.T) {
	d, c := startClient(t, xstest.Options{})
	ctx := testCtx(t)
	w, err := c.Watch(ctx, "/k", "k")
	if err != nil {
		t.Fatal(err)
	}
	recv(t, w)

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for {
				if err := c.Write(ctx, "/k/x", []byte("x")); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	d.Kill()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("calls still blocked 5s after the daemon was killed")
	}
	close(errs)
	for err := range errs {
		if !errors.Is(err, realxs.ErrConnLost) {
			t.Errorf("error after kill: %v; want ErrConnLost", err)
		}
	}
	for range w.Events() {
	}
	if !errors.Is(w.Err(), realxs.ErrConnLost) {
		t.Errorf("watch Err = %v; want ErrConnLost", w.Err())
	}
	start := time.Now()
	_, err = c.Read(ctx, "/k")
	if !errors.Is(err, realxs.ErrConnLost) || time.Since(start) > time.Second {
		t.Errorf("Read after kill: %v after %v; want ErrConnLost at once", err, time.Since(start))
	}
	t.Logf("error after kill: %v", err)
	select {
	case <-c.Done():
	default:
		t.Errorf("Done not closed after the connection died")
	}
}

// A cancelled call returns at once, and the connection stays usable.
func TestLiveContext(t *testing.T) {
	_, c := startClient(t, xstest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Write(ctx, "/ctx", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Write with a cancelled context: %v; want context.Canceled", err)
	}
	if _, err := c.StartTransaction(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("StartTransaction with a cancelled context: %v; want context.Canceled", err)
	}
	if err := c.Write(testCtx(t), "/ctx", []byte("ok")); err != nil {
		t.Errorf("Write after cancellations: %v", err)
	}
}

func TestLiveClose(t *testing.T) {
	_, c := startClient(t, xstest.Options{})
	ctx := testCtx(t)
	w, err := c.Watch(ctx, "/cl", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	for range w.Events() {
	}
	if _, err := c.Read(ctx, "/cl"); !errors.Is(err, realxs.ErrClosed) {
		t.Errorf("Read after Close: %v; want ErrClosed", err)
	}
}

// Section 1.10: oxenstored listens with a backlog of 1, so many
// simultaneous connects see EAGAIN; Dial retries them.
func TestLiveDialConcurrent(t *testing.T) {
	d := xstest.Start(t, xstest.Options{})
	ctx := testCtx(t)
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			c, err := realxs.Dial(ctx, d.SocketPath)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			if err := c.Write(ctx, fmt.Sprintf("/dial/%d", i), nil); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	c := d.Dial(t)
	if names, err := c.Directory(ctx, "/dial"); err != nil || len(names) != n {
		t.Errorf("Directory(/dial) = %d names, %v; want %d", len(names), err, n)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v; want nil", err)
	}
}
