package main

import (
	"bytes"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/xbcheck/xbcheck/realxs/xenhost/internal/proto"
)

// collect reads frames until the end frame.
func collect(t *testing.T, c net.Conn) (stdout, stderr, data []byte, end byte, payload []byte) {
	t.Helper()
	for {
		typ, p, err := proto.ReadFrame(c)
		if err != nil {
			t.Fatalf("reading frames: %v", err)
		}
		switch typ {
		case proto.FrameStdout:
			stdout = append(stdout, p...)
		case proto.FrameStderr:
			stderr = append(stderr, p...)
		case proto.FrameData:
			data = append(data, p...)
		default:
			return stdout, stderr, data, typ, p
		}
	}
}

func TestServeExec(t *testing.T) {
	host, agent := net.Pipe()
	defer host.Close()
	go serveExec(agent, []string{"sh", "-c", "echo out; echo err >&2; exit 5"})
	out, errb, _, end, p := collect(t, host)
	e, _ := proto.ParseExit(p)
	if end != proto.FrameExit || e.Code != 5 || string(out) != "out\n" || string(errb) != "err\n" {
		t.Fatalf("got %q %q %c %+v", out, errb, end, e)
	}
}

func TestServeExecMissing(t *testing.T) {
	host, agent := net.Pipe()
	defer host.Close()
	go serveExec(agent, []string{"/nonexistent/cmd"})
	_, _, _, end, p := collect(t, host)
	if end != proto.FrameError || !errors.Is(proto.ParseError(p), os.ErrNotExist) {
		t.Fatalf("got %c %s", end, p)
	}
}

// Closing the host's side kills the command's process group.
func TestServeExecCancel(t *testing.T) {
	host, agent := net.Pipe()
	done := make(chan struct{})
	go func() { serveExec(agent, []string{"sh", "-c", "sleep 30 & sleep 30"}); close(done) }()
	time.Sleep(100 * time.Millisecond)
	host.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("command not killed")
	}
}

func TestServeFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "f")
	data := bytes.Repeat([]byte("0123456789"), 20000) // several frames
	host, agent := net.Pipe()
	go serveWriteFile(agent, path, 0o600)
	go func() {
		proto.WriteFrame(host, proto.FrameData, data[:150000])
		proto.WriteFrame(host, proto.FrameData, data[150000:])
		proto.WriteExit(host, 0)
	}()
	if _, _, _, end, p := collect(t, host); end != proto.FrameExit {
		t.Fatalf("writefile: %c %s", end, p)
	}
	host.Close()
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("written file: %v %v", st, err)
	}

	host, agent = net.Pipe()
	defer host.Close()
	go serveReadFile(agent, path)
	_, _, got, end, _ := collect(t, host)
	if end != proto.FrameExit || !bytes.Equal(got, data) {
		t.Fatalf("readfile: %c, %d bytes", end, len(got))
	}

	host2, agent2 := net.Pipe()
	defer host2.Close()
	go serveReadFile(agent2, path+".missing")
	if _, _, _, end, p := collect(t, host2); end != proto.FrameError || !errors.Is(proto.ParseError(p), os.ErrNotExist) {
		t.Fatalf("missing file: %c %s", end, p)
	}
}

func TestCapWriter(t *testing.T) {
	var w capWriter
	w.Write(make([]byte, proto.MaxGuestOutput-1))
	n, err := w.Write([]byte("abc"))
	if n != 3 || err != nil || !w.cut || w.buf.Len() != proto.MaxGuestOutput {
		t.Fatalf("n=%d err=%v cut=%v len=%d", n, err, w.cut, w.buf.Len())
	}
}
