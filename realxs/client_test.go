package realxs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// A fakeServer is the daemon's end of an in-memory connection; tests
// script its replies to check the client's side of the protocol.
type fakeServer struct {
	t    *testing.T
	conn net.Conn
	reqs chan Msg
}

func newFake(t *testing.T, opts Options) (*Client, *fakeServer) {
	t.Helper()
	a, b := net.Pipe()
	s := &fakeServer{t: t, conn: b, reqs: make(chan Msg, 100)}
	go func() {
		defer close(s.reqs)
		for {
			m, err := ReadMsg(b, 1<<20)
			if err != nil {
				return
			}
			s.reqs <- m
		}
	}()
	c := NewClient(a, opts)
	t.Cleanup(func() { c.Close(); b.Close() })
	return c, s
}

// next returns the next request the client sent.
func (s *fakeServer) next() Msg {
	s.t.Helper()
	select {
	case m, ok := <-s.reqs:
		if !ok {
			s.t.Fatal("fake server: connection closed")
		}
		return m
	case <-time.After(5 * time.Second):
		s.t.Fatal("fake server: no request within 5s")
	}
	panic("unreachable")
}

func (s *fakeServer) send(m Msg) {
	s.t.Helper()
	if _, err := s.conn.Write(AppendMsg(nil, m)); err != nil {
		s.t.Fatalf("fake server: write: %v", err)
	}
}

func (s *fakeServer) reply(req Msg, payload string) {
	s.t.Helper()
	s.send(Msg{Type: req.Type, ReqID: req.ReqID, TxID: req.TxID, Payload: []byte(payload)})
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Replies are matched by req_id, whatever their order.
// Reference: xenstore-wire.md, section 1.1.
func TestClientMultiplexOutOfOrder(t *testing.T) {
	c, s := newFake(t, Options{})
	ctx := ctxT(t)
	const n = 5
	got := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			v, err := c.Read(ctx, fmt.Sprintf("/k%d", i))
			if err != nil {
				t.Errorf("Read(/k%d): %v", i, err)
			}
			got[i] = string(v)
		})
	}
	var reqs []Msg
	ids := map[uint32]bool{}
	for range n {
		m := s.next()
		if m.ReqID == 0 || ids[m.ReqID] {
			t.Errorf("req_id %d is zero or reused", m.ReqID)
		}
		ids[m.ReqID] = true
		reqs = append(reqs, m)
	}
	for i := len(reqs) - 1; i >= 0; i-- {
		// Echo the path back as the value; tx_id is not checked.
		path := string(reqs[i].Payload[:len(reqs[i].Payload)-1])
		s.send(Msg{Type: OpRead, ReqID: reqs[i].ReqID, TxID: 77, Payload: []byte(path)})
	}
	wg.Wait()
	if diff := cmp.Diff([]string{"/k0", "/k1", "/k2", "/k3", "/k4"}, got); diff != "" {
		t.Errorf("values mismatch (-want +got):\n%s", diff)
	}
}

// Requests are encoded as xs_wire.h says, and never with an empty
// payload. Reference: xenstore-wire.md, sections 1.1, 1.2 and 1.5.
func TestClientRequestEncoding(t *testing.T) {
	c, s := newFake(t, Options{})
	ctx := ctxT(t)
	type req struct {
		Type    Op
		TxID    uint32
		Payload string
	}
	tests := []struct {
		call  func() error
		want  req
		reply string
	}{
		{func() error { _, err := c.Read(ctx, "/a"); return err }, req{OpRead, 0, "/a\x00"}, "v"},
		{func() error { return c.Write(ctx, "/a", []byte("v\x00w")) }, req{OpWrite, 0, "/a\x00v\x00w"}, "OK\x00"},
		{func() error { return c.Write(ctx, "/a", nil) }, req{OpWrite, 0, "/a\x00"}, "OK\x00"},
		{func() error { return c.Mkdir(ctx, "/a") }, req{OpMkdir, 0, "/a\x00"}, "OK\x00"},
		{func() error { return c.Rm(ctx, "/a") }, req{OpRm, 0, "/a\x00"}, "OK\x00"},
		{func() error { _, err := c.Directory(ctx, "/a"); return err }, req{OpDirectory, 0, "/a\x00"}, ""},
		{func() error { _, err := c.GetPerms(ctx, "/a"); return err }, req{OpGetPerms, 0, "/a\x00"}, "n0\x00"},
		{func() error {
			return c.SetPerms(ctx, "/a", []Perm{{0, AccessNone}, {5, AccessRead}})
		}, req{OpSetPerms, 0, "/a\x00n0\x00r5\x00"}, "OK\x00"},
		{func() error { return c.Sync(ctx) }, req{OpGetDomainPath, 0, "0\x00"}, "/local/domain/0\x00"},
		{func() error { _, err := c.StartTransaction(ctx); return err }, req{OpTransactionStart, 0, "\x00"}, "3\x00"},
	}
	for _, tt := range tests {
		errc := make(chan error, 1)
		go func() { errc <- tt.call() }()
		m := s.next()
		if diff := cmp.Diff(tt.want, req{m.Type, m.TxID, string(m.Payload)}); diff != "" {
			t.Errorf("request mismatch (-want +got):\n%s", diff)
		}
		s.reply(m, tt.reply)
		if err := <-errc; err != nil {
			t.Errorf("%v: %v", tt.want.Type, err)
		}
	}

	// Operations in a transaction carry its id; commit and abort send
	// "T" and "F".
	errc := make(chan error, 1)
	var tx *Tx
	go func() {
		var err error
		tx, err = c.StartTransaction(ctx)
		errc <- err
	}()
	s.reply(s.next(), "42\x00")
	if err := <-errc; err != nil || tx.ID() != 42 {
		t.Fatalf("StartTransaction = %v, %v; want id 42", tx, err)
	}
	go func() { errc <- tx.Write(ctx, "/t", []byte("x")) }()
	m := s.next()
	if m.Type != OpWrite || m.TxID != 42 {
		t.Errorf("write in transaction: type %v tx %d; want XS_WRITE tx 42", m.Type, m.TxID)
	}
	s.reply(m, "OK\x00")
	<-errc
	go func() { errc <- tx.Commit(ctx) }()
	m = s.next()
	if m.Type != OpTransactionEnd || m.TxID != 42 || string(m.Payload) != "T\x00" {
		t.Errorf("commit = %v tx %d %q; want XS_TRANSACTION_END tx 42 \"T\\x00\"", m.Type, m.TxID, m.Payload)
	}
	s.reply(m, "OK\x00")
	if err := <-errc; err != nil {
		t.Errorf("Commit: %v", err)
	}
}

// Events are dispatched by type and token, never by req_id; the
// registration event may even come before the reply (xenbus device).
// Reference: xenstore-wire.md, sections 1.6 and 1.9.
func TestClientWatchRouting(t *testing.T) {
	c, s := newFake(t, Options{})
	ctx := ctxT(t)
	type result struct {
		w   *Watch
		err error
	}
	res := make(chan result, 1)
	go func() {
		w, err := c.Watch(ctx, "/a", "A")
		res <- result{w, err}
	}()
	m := s.next()
	if string(m.Payload) != "/a\x00A\x00" {
		t.Errorf("WATCH payload %q; want \"/a\\x00A\\x00\"", m.Payload)
	}
	// Garbage req_id and tx_id on the event, as the device sends.
	s.send(Msg{Type: OpWatchEvent, ReqID: 0xdeadbeef, TxID: 0x1234, Payload: []byte("/a\x00A\x00")})
	s.reply(m, "OK\x00")
	r := <-res
	if r.err != nil {
		t.Fatal(r.err)
	}
	go func() {
		w, err := c.Watch(ctx, "/b", "B")
		res <- result{w, err}
	}()
	m = s.next()
	s.reply(m, "OK\x00")
	rb := <-res
	if rb.err != nil {
		t.Fatal(rb.err)
	}
	// An event for no watch is dropped.
	for _, p := range []string{"/a/x\x00A\x00", "/zz\x00unknown\x00", "/b\x00B\x00", "/a/y\x00A\x00"} {
		s.send(Msg{Type: OpWatchEvent, Payload: []byte(p)})
	}
	errc := make(chan error, 1)
	go func() { errc <- c.Sync(ctx) }()
	s.reply(s.next(), "/local/domain/0\x00")
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Event{{"/a", "A"}, {"/a/x", "A"}, {"/a/y", "A"}}, r.w.Drain()); diff != "" {
		t.Errorf("events of A mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Event{{"/b", "B"}}, rb.w.Drain()); diff != "" {
		t.Errorf("events of B mismatch (-want +got):\n%s", diff)
	}
	if got := r.w.Drain(); got != nil {
		t.Errorf("second Drain = %v; want nil", got)
	}
}

// A failed WATCH leaves no watch behind.
func TestClientWatchError(t *testing.T) {
	c, s := newFake(t, Options{})
	ctx := ctxT(t)
	errc := make(chan error, 1)
	go func() { _, err := c.Watch(ctx, "/a", "A"); errc <- err }()
	s.send(Msg{Type: OpError, ReqID: s.next().ReqID, Payload: []byte("EEXIST\x00")})
	if err := <-errc; !errors.Is(err, EEXIST) {
		t.Errorf("Watch: %v; want EEXIST", err)
	}
	go func() { _, err := c.Watch(ctx, "/a", "A"); errc <- err }()
	s.reply(s.next(), "OK\x00")
	if err := <-errc; err != nil {
		t.Errorf("Watch with the token again: %v", err)
	}
}

// The xenbus device answers a failed watch registration with a failed
// write(), not a reply; that fails the one call, not the connection.
// Reference: xenstore-wire.md, section 1.9.
func TestClientDeviceWriteError(t *testing.T) {
	a, b := net.Pipe()
	dev := &failingWriter{Conn: a, failType: OpWatch, err: syscall.ENOSPC}
	c := NewClient(dev, Options{MaxRequest: XenbusPayloadMax, Device: true})
	t.Cleanup(func() { c.Close(); b.Close() })
	s := &fakeServer{t: t, conn: b, reqs: make(chan Msg, 10)}
	go func() {
		for {
			m, err := ReadMsg(b, 1<<20)
			if err != nil {
				return
			}
			s.reqs <- m
		}
	}()
	ctx := ctxT(t)
	if _, err := c.Watch(ctx, "/a", "A"); !errors.Is(err, ENOSPC) {
		t.Errorf("Watch through a failing device write: %v; want ENOSPC", err)
	}
	errc := make(chan error, 1)
	go func() { errc <- c.Mkdir(ctx, "/a") }()
	s.reply(s.next(), "OK\x00")
	if err := <-errc; err != nil {
		t.Errorf("Mkdir after the failed write: %v", err)
	}
	// The device's payload limit is 4080.
	if err := c.Write(ctx, "/a", make([]byte, XenbusPayloadMax-2)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Write of 4081 bytes on the device: %v; want ErrTooLarge", err)
	}
}

type failingWriter struct {
	net.Conn
	failType Op
	err      error
}

func (f *failingWriter) Write(p []byte) (int, error) {
	if len(p) >= HeaderSize && ParseHeader(p).Type == f.failType {
		return 0, f.err
	}
	return f.Conn.Write(p)
}

// Oversized requests are refused without a byte being sent.
func TestClientOversizedNotSent(t *testing.T) {
	c, s := newFake(t, Options{})
	ctx := ctxT(t)
	err := c.Write(ctx, "/a", make([]byte, PayloadMax))
	var xe *Error
	if !errors.As(err, &xe) || xe.Op != "XS_WRITE" || xe.Path != "/a" || !errors.Is(err, ErrTooLarge) || !errors.Is(err, E2BIG) {
		t.Errorf("oversized Write: %v; want *Error XS_WRITE /a matching ErrTooLarge and E2BIG", err)
	}
	errc := make(chan error, 1)
	go func() { errc <- c.Mkdir(ctx, "/next") }()
	m := s.next()
	if m.Type != OpMkdir {
		t.Errorf("first request the server saw: %v; want XS_MKDIR (nothing of the refused one)", m.Type)
	}
	s.reply(m, "OK\x00")
	if err := <-errc; err != nil {
		t.Error(err)
	}
}

// When the connection dies, pending calls fail at once, and so does every
// later call.
func TestClientConnectionLost(t *testing.T) {
	c, s := newFake(t, Options{})
	ctx := ctxT(t)
	w, err := func() (*Watch, error) {
		res := make(chan error, 1)
		var w *Watch
		go func() { var err error; w, err = c.Watch(ctx, "/a", "A"); res <- err }()
		m := s.next()
		s.reply(m, "OK\x00")
		s.send(Msg{Type: OpWatchEvent, Payload: []byte("/a\x00A\x00")})
		return w, <-res
	}()
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 3)
	for range 3 {
		go func() { _, err := c.Read(ctx, "/a"); errc <- err }()
	}
	for range 3 {
		s.next()
	}
	s.conn.Close()
	for range 3 {
		select {
		case err := <-errc:
			if !errors.Is(err, ErrConnLost) {
				t.Errorf("pending Read: %v; want ErrConnLost", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("pending Read still blocked 5s after the connection died")
		}
	}
	if _, err := c.Read(ctx, "/a"); !errors.Is(err, ErrConnLost) {
		t.Errorf("Read after the loss: %v; want ErrConnLost", err)
	}
	// The event queued before the loss is still delivered, then the
	// channel closes.
	var evs []Event
	for ev := range w.Events() {
		evs = append(evs, ev)
	}
	if diff := cmp.Diff([]Event{{"/a", "A"}}, evs); diff != "" {
		t.Errorf("events mismatch (-want +got):\n%s", diff)
	}
	if !errors.Is(w.Err(), ErrConnLost) || !errors.Is(c.Err(), ErrConnLost) {
		t.Errorf("Watch.Err = %v, Client.Err = %v; want ErrConnLost", w.Err(), c.Err())
	}
}

// A reply over the limit, or one that ends mid-message, breaks the
// connection with a clear error.
func TestClientBadReplies(t *testing.T) {
	t.Run("too big", func(t *testing.T) {
		c, s := newFake(t, Options{MaxReply: 100})
		errc := make(chan error, 1)
		go func() { _, err := c.Read(ctxT(t), "/a"); errc <- err }()
		m := s.next()
		// The client stops reading after the header; the rest of the
		// write fails.
		s.conn.Write(AppendMsg(nil, Msg{Type: OpRead, ReqID: m.ReqID, Payload: make([]byte, 101)}))
		if err := <-errc; !errors.Is(err, ErrConnLost) {
			t.Errorf("Read: %v; want ErrConnLost", err)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		c, s := newFake(t, Options{})
		errc := make(chan error, 1)
		go func() { _, err := c.Read(ctxT(t), "/a"); errc <- err }()
		m := s.next()
		b := AppendMsg(nil, Msg{Type: OpRead, ReqID: m.ReqID, Payload: []byte("abcdef")})
		s.conn.Write(b[:HeaderSize+2])
		s.conn.Close()
		if err := <-errc; !errors.Is(err, ErrConnLost) || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("Read: %v; want ErrConnLost and io.ErrUnexpectedEOF", err)
		}
	})
	t.Run("wrong type", func(t *testing.T) {
		c, s := newFake(t, Options{})
		errc := make(chan error, 1)
		go func() { _, err := c.Read(ctxT(t), "/a"); errc <- err }()
		m := s.next()
		s.send(Msg{Type: OpWrite, ReqID: m.ReqID, Payload: []byte("OK\x00")})
		if err := <-errc; !errors.Is(err, ErrProtocol) {
			t.Errorf("Read: %v; want ErrProtocol", err)
		}
	})
}

// What breaks the protocol breaks the connection, with an error naming
// it: a watch event that is not a path and a token, and a reply to a
// req_id the client never sent. A reply to a call whose caller gave up is
// dropped, and an XS_ERROR without an error name is the call's protocol
// error.
func TestClientProtocolErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  Msg
		want string
	}{
		{"event without token", Msg{Type: OpWatchEvent, Payload: []byte("malformed")}, `XS_WATCH_EVENT payload "malformed" is not a path and a token`},
		{"event without path", Msg{Type: OpWatchEvent, Payload: []byte("\x00tok\x00")}, `XS_WATCH_EVENT payload "\x00tok\x00" is not a path and a token`},
		{"stray reply", Msg{Type: OpRead, ReqID: 9999, Payload: []byte("stray")}, "XS_READ reply to req_id 9999, which this client never sent"},
		{"reply to id 0", Msg{Type: OpWrite, Payload: []byte("OK\x00")}, "XS_WRITE reply to req_id 0, which this client never sent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, s := newFake(t, Options{})
			errc := make(chan error, 1)
			go func() { _, err := c.Read(ctxT(t), "/a"); errc <- err }()
			s.next()
			s.send(tc.msg)
			err := <-errc
			if !errors.Is(err, ErrConnLost) || !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("pending Read: %v; want ErrConnLost, ErrProtocol and %q", err, tc.want)
			}
		})
	}
	t.Run("late reply", func(t *testing.T) {
		c, s := newFake(t, Options{})
		ctx, cancel := context.WithCancel(ctxT(t))
		errc := make(chan error, 1)
		go func() { _, err := c.Read(ctx, "/a"); errc <- err }()
		m := s.next()
		cancel()
		<-errc
		s.reply(m, "late")
		go func() { _, err := c.Read(ctxT(t), "/b"); errc <- err }()
		s.reply(s.next(), "b")
		if err := <-errc; err != nil || c.Err() != nil {
			t.Errorf("Read after a late reply: %v (client %v); want it to work", err, c.Err())
		}
	})
	t.Run("error without a name", func(t *testing.T) {
		c, s := newFake(t, Options{})
		for _, payload := range []string{"", "\x00", "enoent\x00", "ENO ENT\x00"} {
			errc := make(chan error, 1)
			go func() { _, err := c.Read(ctxT(t), "/a"); errc <- err }()
			m := s.next()
			s.send(Msg{Type: OpError, ReqID: m.ReqID, Payload: []byte(payload)})
			if err := <-errc; !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "not an error name") {
				t.Errorf("XS_ERROR %q: %v; want a protocol error", payload, err)
			}
		}
		if c.Err() != nil {
			t.Errorf("client failed: %v; a bad error reply is the call's", c.Err())
		}
	})
}

// A transaction start whose caller gave up is aborted when its reply
// comes, so the daemon is not left with an open transaction.
func TestClientCancelledStartIsAborted(t *testing.T) {
	c, s := newFake(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := c.StartTransaction(ctx); errc <- err }()
	m := s.next()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("StartTransaction: %v; want context.Canceled", err)
	}
	s.reply(m, "9\x00")
	end := s.next()
	if end.Type != OpTransactionEnd || end.TxID != 9 || string(end.Payload) != "F\x00" {
		t.Errorf("after a late start reply: %v tx %d %q; want XS_TRANSACTION_END tx 9 \"F\\x00\"", end.Type, end.TxID, end.Payload)
	}
	s.reply(end, "OK\x00")
}

// A watch whose caller gave up is removed again when its OK comes.
func TestClientCancelledWatchIsRemoved(t *testing.T) {
	c, s := newFake(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := c.Watch(ctx, "/a", "A"); errc <- err }()
	m := s.next()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Watch: %v; want context.Canceled", err)
	}
	s.reply(m, "OK\x00")
	un := s.next()
	if un.Type != OpUnwatch || string(un.Payload) != "/a\x00A\x00" {
		t.Errorf("after a late watch reply: %v %q; want XS_UNWATCH \"/a\\x00A\\x00\"", un.Type, un.Payload)
	}
	s.reply(un, "OK\x00")
}

// Transact reruns the body after EAGAIN from the commit, and aborts on
// the body's own error.
func TestClientTransactRetries(t *testing.T) {
	c, s := newFake(t, Options{})
	ctx := ctxT(t)
	runs := 0
	errc := make(chan error, 1)
	go func() {
		errc <- c.Transact(ctx, func(tx *Tx) error {
			runs++
			return nil
		})
	}()
	for i, commit := range []string{"EAGAIN", "EAGAIN", "OK"} {
		start := s.next()
		s.reply(start, fmt.Sprintf("%d\x00", i+1))
		end := s.next()
		if end.Type != OpTransactionEnd || string(end.Payload) != "T\x00" || end.TxID != uint32(i+1) {
			t.Fatalf("attempt %d: %v tx %d %q; want a commit of tx %d", i, end.Type, end.TxID, end.Payload, i+1)
		}
		if commit == "OK" {
			s.reply(end, "OK\x00")
		} else {
			s.send(Msg{Type: OpError, ReqID: end.ReqID, Payload: []byte(commit + "\x00")})
		}
	}
	if err := <-errc; err != nil || runs != 3 {
		t.Errorf("Transact = %v after %d runs; want nil after 3", err, runs)
	}

	boom := errors.New("boom")
	go func() { errc <- c.Transact(ctx, func(tx *Tx) error { return boom }) }()
	s.reply(s.next(), "4\x00")
	end := s.next()
	if string(end.Payload) != "F\x00" || end.TxID != 4 {
		t.Errorf("after a failing body: %v tx %d %q; want an abort of tx 4", end.Type, end.TxID, end.Payload)
	}
	s.reply(end, "OK\x00")
	if err := <-errc; !errors.Is(err, boom) {
		t.Errorf("Transact = %v; want boom", err)
	}
}

func TestDialErrors(t *testing.T) {
	ctx := ctxT(t)
	_, err := Dial(ctx, t.TempDir()+"/no-socket")
	var xe *Error
	if !errors.As(err, &xe) || xe.Op != "dial" || !errors.Is(err, syscall.ENOENT) {
		t.Errorf("Dial of a missing socket: %v; want *Error dial ... ENOENT", err)
	}
	if _, err := DialXenbus(ctx, t.TempDir()+"/no-device"); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("DialXenbus of a missing device: %v; want ENOENT", err)
	}
}

func TestDefaultSocketPath(t *testing.T) {
	t.Setenv("XENSTORED_PATH", "")
	t.Setenv("XENSTORED_RUNDIR", "")
	if got := DefaultSocketPath(); got != "/var/run/xenstored/socket" {
		t.Errorf("DefaultSocketPath() = %q; want /var/run/xenstored/socket", got)
	}
	t.Setenv("XENSTORED_RUNDIR", "/tmp/xs")
	if got := DefaultSocketPath(); got != "/tmp/xs/socket" {
		t.Errorf("with XENSTORED_RUNDIR: %q; want /tmp/xs/socket", got)
	}
	t.Setenv("XENSTORED_PATH", "/x/sock")
	if got := DefaultSocketPath(); got != "/x/sock" {
		t.Errorf("with XENSTORED_PATH: %q; want /x/sock", got)
	}
}
