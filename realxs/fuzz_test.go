package realxs_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xbcheck/xbcheck/realxs"
	"github.com/xbcheck/xbcheck/realxs/xstest"
)

// The wire decoder fuzzed: whatever the daemon's end of the connection
// sends (malformed headers, lengths past the limit, unknown message types,
// replies to requests never sent, watch events with bad payloads, a close
// in the middle of a message), the frame reader and the client end in an
// error saying what was wrong, never in a panic or a hang.
//
// The seed corpus (testdata/fuzz/FuzzReadMsg, testdata/fuzz/FuzzClient) is
// real: the bytes a private oxenstored sent, and the client's own
// requests, in the exchange the client target makes, recorded by
//
//	go test ./realxs -run TestWireCorpus -update-corpus
//
// with a test daemon (make xenstored; see package xstest).

var updateCorpus = flag.Bool("update-corpus", false, "record the wire fuzz targets' seed corpus from a private oxenstored")

// maxReply is the reply limit of the fuzzed client and reader: above the
// largest reply of the seeds (a directory of 12 kB), far below the
// default, so that lengths past it are common.
const maxReply = 1 << 16

// FuzzReadMsg: any byte stream reads as whole messages, each re-encoding
// to exactly the bytes it was read from, up to io.EOF at a message
// boundary or an error that says what was wrong (one line, never a bare
// io error).
func FuzzReadMsg(f *testing.F) {
	for _, m := range []realxs.Msg{
		{Type: realxs.OpRead, ReqID: 1, Payload: []byte("value")},
		{Type: realxs.OpWatchEvent, Payload: []byte("/a\x00tok\x00")},
		{Type: 999, ReqID: 7, Payload: []byte("?")},
	} {
		f.Add(realxs.AppendMsg(nil, m))
	}
	f.Add([]byte{2, 0, 0, 0, 1})                                              // cut in the header
	f.Add(append(realxs.AppendMsg(nil, realxs.Msg{})[:12], 0xff, 0xff, 0, 0)) // length past the limit
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		off := 0
		for {
			m, err := realxs.ReadMsg(r, maxReply)
			if err == io.EOF {
				if off != len(data) {
					t.Fatalf("io.EOF after %d of %d bytes", off, len(data))
				}
				return
			}
			if err != nil {
				checkMessage(t, "ReadMsg", err)
				return
			}
			enc := realxs.AppendMsg(nil, m)
			if off+len(enc) > len(data) || !bytes.Equal(enc, data[off:off+len(enc)]) {
				t.Fatalf("message %+v does not re-encode to the %d bytes at %d", m, len(enc), off)
			}
			off += len(enc)
		}
	})
}

// checkMessage fails unless err's message is one line that says more than
// a bare io error: a stream cut short says where.
func checkMessage(t *testing.T, what string, err error) {
	t.Helper()
	msg := err.Error()
	if msg == "" || strings.ContainsAny(msg, "\n\r") {
		t.Fatalf("%s: error %q is not one line", what, msg)
	}
	if msg == io.EOF.Error() || strings.HasSuffix(msg, ": "+io.EOF.Error()) ||
		errors.Is(err, io.ErrUnexpectedEOF) && !strings.Contains(msg, "stream ended") {
		t.Fatalf("%s: error %q does not say what was wrong", what, msg)
	}
}

// session is the client's side of the exchange: seven requests, sent in
// this order with req_ids 1 to 7, whose replies the decoders take apart in
// every way the client has (a value, a directory, permissions, a watch
// and its events, a transaction id, a path, a bare OK).
type session struct {
	errs  [7]error
	watch *realxs.Watch
	tx    *realxs.Tx
}

// call makes request i (0 to 6) and records its outcome.
func (s *session) call(ctx context.Context, c *realxs.Client, i int) {
	var err error
	switch i {
	case 0:
		_, err = c.Read(ctx, "/r")
	case 1:
		_, err = c.Directory(ctx, "/d")
	case 2:
		_, err = c.GetPerms(ctx, "/p")
	case 3:
		s.watch, err = c.Watch(ctx, "/w", "tok")
	case 4:
		s.tx, err = c.StartTransaction(ctx)
	case 5:
		_, err = c.GetDomainPath(ctx, 1)
	case 6:
		err = c.Write(ctx, "/x", []byte("v"))
	}
	s.errs[i] = err
}

// FuzzClient: the client makes the session's requests over a net.Pipe,
// then the daemon's end sends the input and closes. Every call returns
// (none is left waiting), with its result or an error of one line saying
// what was wrong; the client ends with ErrConnLost and its cause; the
// watch's channel closes.
func FuzzClient(f *testing.F) {
	ok := func(id uint32, op realxs.Op, payload string) []byte {
		return realxs.AppendMsg(nil, realxs.Msg{Type: op, ReqID: id, Payload: []byte(payload)})
	}
	f.Add(bytes.Join([][]byte{
		ok(1, realxs.OpRead, "v"), ok(2, realxs.OpDirectory, "a\x00b\x00"), ok(3, realxs.OpGetPerms, "n0\x00r5\x00"),
		ok(4, realxs.OpWatch, "OK\x00"), ok(0, realxs.OpWatchEvent, "/w\x00tok\x00"), ok(5, realxs.OpTransactionStart, "3\x00"),
		ok(6, realxs.OpGetDomainPath, "/local/domain/1\x00"), ok(7, realxs.OpWrite, "OK\x00"),
	}, nil))
	f.Add(ok(9, realxs.OpRead, "stray"))                       // a reply to a request never sent
	f.Add(ok(0, realxs.OpWatchEvent, "no-token"))              // an event without a token
	f.Add(ok(1, 77, "?"))                                      // an unknown type
	f.Add(ok(1, realxs.OpError, ""))                           // an error without a name
	f.Add(ok(1, realxs.OpRead, "value")[:realxs.HeaderSize+2]) // closed mid-message
	f.Fuzz(func(t *testing.T, data []byte) {
		runClient(t, data)
	})
}

// hangAfter is how long a call may take once the daemon's end has closed:
// far more than any answer takes, so that only a hang reaches it.
const hangAfter = 10 * time.Second

// runClient plays data as the daemon's side of the session.
func runClient(t *testing.T, data []byte) *session {
	a, b := net.Pipe()
	c := realxs.NewClient(a, realxs.Options{MaxReply: maxReply})
	defer c.Close()
	sent := make(chan struct{}, 16)
	go func() {
		for {
			if _, err := realxs.ReadMsg(b, 1<<20); err != nil {
				return
			}
			sent <- struct{}{}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*hangAfter)
	defer cancel()
	s := &session{}
	var wg sync.WaitGroup
	for i := range s.errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.call(ctx, c, i)
		}()
		// One request at a time, so that they get req_ids 1 to 7.
		select {
		case <-sent:
		case <-time.After(hangAfter):
			t.Fatalf("request %d was not sent", i+1)
		}
	}
	b.Write(data) // fails once the client has given up on the connection
	b.Close()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(hangAfter):
		t.Fatalf("calls still waiting %v after the daemon's end closed: %v", hangAfter, s.errs)
	}
	for i, err := range s.errs {
		if err == nil {
			continue
		}
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("request %d: %v", i+1, err)
		}
		checkMessage(t, fmt.Sprintf("request %d", i+1), err)
	}
	select {
	case <-c.Done():
	case <-time.After(hangAfter):
		t.Fatal("the client still works after the daemon's end closed")
	}
	err := c.Err()
	if !errors.Is(err, realxs.ErrConnLost) {
		t.Fatalf("client error %v after the daemon's end closed; want ErrConnLost", err)
	}
	checkMessage(t, "client", err)
	if s.watch != nil {
		timeout := time.After(hangAfter)
		for open := true; open; {
			select {
			case _, open = <-s.watch.Events():
			case <-timeout:
				t.Fatal("the watch's channel is still open")
			}
		}
	}
	return s
}

// corpusFile writes data as a seed of the fuzz target in the format of
// go test's corpus files.
func corpusFile(t *testing.T, target, name string, data []byte) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// recorder keeps what a connection reads and writes.
type recorder struct {
	net.Conn
	mu      sync.Mutex
	in, out bytes.Buffer
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.mu.Lock()
	r.in.Write(p[:n])
	r.mu.Unlock()
	return n, err
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	r.out.Write(p)
	r.mu.Unlock()
	return r.Conn.Write(p)
}

// TestWireCorpus checks the seed corpus of the wire fuzz targets: every
// FuzzReadMsg seed reads as whole messages, and every FuzzClient seed (a
// real daemon's side of the session) completes the session (each call
// answered, the daemon's errors as such). With -update-corpus it first
// records the corpus from a private oxenstored, in several states of the
// store: empty, with the session's nodes, with large values and
// directories (replies over 4096 bytes), and with events for the watch.
func TestWireCorpus(t *testing.T) {
	if *updateCorpus {
		recordCorpus(t)
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzClient", "oxenstored-*"))
	if len(files) < 4 {
		t.Fatalf("%d recorded FuzzClient seeds; want 4 (record them with -update-corpus)", len(files))
	}
	for _, f := range files {
		data := readCorpusFile(t, f)
		s := runClient(t, data)
		for i, err := range s.errs {
			var e realxs.Errno
			if err != nil && !errors.As(err, &e) {
				t.Errorf("%s: request %d: %v; want the daemon's answer", f, i+1, err)
			}
		}
		if s.watch == nil || s.tx == nil {
			t.Errorf("%s: the session's watch or transaction failed", f)
		}
	}
	reads, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzReadMsg", "oxenstored-*"))
	if len(reads) < 8 {
		t.Fatalf("%d recorded FuzzReadMsg seeds; want 8", len(reads))
	}
	for _, f := range reads {
		r := bytes.NewReader(readCorpusFile(t, f))
		n := 0
		for {
			_, err := realxs.ReadMsg(r, realxs.DefaultReplyMax)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: message %d: %v", f, n+1, err)
			}
			n++
		}
		if n < 7 {
			t.Errorf("%s: %d messages; want the session's 7 or more", f, n)
		}
	}
}

func readCorpusFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s string
	if _, err := fmt.Sscanf(strings.TrimPrefix(string(b), "go test fuzz v1\n"), "[]byte(%q)", &s); err != nil {
		t.Fatalf("%s: not a corpus file of one []byte: %v", path, err)
	}
	return []byte(s)
}

// recordCorpus runs the session against a private oxenstored in each
// state and writes what the daemon sent (FuzzClient, FuzzReadMsg) and what
// the client sent (FuzzReadMsg).
func recordCorpus(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 120) // 1920 bytes, under the daemon's value quota
	for _, st := range []struct {
		name    string
		prepare func(ctx context.Context, o *realxs.Client) error
		between func(ctx context.Context, o *realxs.Client, i int) error
	}{
		{"empty", nil, nil},
		{"nodes", func(ctx context.Context, o *realxs.Client) error {
			for _, p := range []string{"/r", "/d/a", "/d/b", "/d/c", "/p", "/w"} {
				if err := o.Write(ctx, p, []byte("value")); err != nil {
					return err
				}
			}
			return o.SetPerms(ctx, "/p", []realxs.Perm{{Domid: 0, Access: realxs.AccessNone}, {Domid: 5, Access: realxs.AccessRead}})
		}, nil},
		{"large", func(ctx context.Context, o *realxs.Client) error {
			if err := o.Write(ctx, "/r", []byte(big)); err != nil {
				return err
			}
			for i := range 400 {
				if err := o.Write(ctx, fmt.Sprintf("/d/child-with-a-long-name-%03d", i), nil); err != nil {
					return err
				}
			}
			return o.Write(ctx, "/p", nil)
		}, nil},
		{"events", nil, func(ctx context.Context, o *realxs.Client, i int) error {
			if i != 3 { // after the watch
				return nil
			}
			for _, p := range []string{"/w/a", "/w/b/c", "/w"} {
				if err := o.Write(ctx, p, []byte("x")); err != nil {
					return err
				}
			}
			return o.Rm(ctx, "/w")
		}},
	} {
		d := xstest.Start(t, xstest.Options{})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		other := d.Dial(t)
		if st.prepare != nil {
			if err := st.prepare(ctx, other); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
		}
		conn, err := net.Dial("unix", d.SocketPath)
		if err != nil {
			t.Fatal(err)
		}
		rec := &recorder{Conn: conn}
		c := realxs.NewClient(rec, realxs.Options{})
		s := &session{}
		for i := range s.errs {
			s.call(ctx, c, i)
			if st.between != nil {
				if err := st.between(ctx, other, i); err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
			}
		}
		// The events of the last writes come before this reply.
		if err := other.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		c.Close()
		cancel()
		rec.mu.Lock()
		in, out := bytes.Clone(rec.in.Bytes()), bytes.Clone(rec.out.Bytes())
		rec.mu.Unlock()
		t.Logf("%s: %d bytes from the daemon, %d to it; errors %v", st.name, len(in), len(out), s.errs)
		corpusFile(t, "FuzzClient", "oxenstored-"+st.name, in)
		corpusFile(t, "FuzzReadMsg", "oxenstored-"+st.name+"-replies", in)
		corpusFile(t, "FuzzReadMsg", "oxenstored-"+st.name+"-requests", out)
	}
}
