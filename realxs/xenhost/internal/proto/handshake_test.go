package proto

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
)

// The handshake, then yamux on the same connection, as on the serial
// port: junk and half a banner before, banners in flight after Go.
func TestHandshakeThenYamux(t *testing.T) {
	host, agent := net.Pipe()
	defer host.Close()
	defer agent.Close()
	agentErr := make(chan error, 1)
	go func() {
		// A stale half banner, as after a host reconnect.
		io.WriteString(agent, "garbage\nXBAGENT-HE")
		if err := AgentHandshake(agent, 5*time.Millisecond); err != nil {
			agentErr <- err
			return
		}
		sess, err := yamux.Server(agent, nil)
		if err != nil {
			agentErr <- err
			return
		}
		st, err := sess.Accept()
		if err != nil {
			agentErr <- err
			return
		}
		h, err := ReadHeader(st)
		if err != nil {
			agentErr <- err
			return
		}
		WriteFrame(st, FrameData, []byte(h.Kind+":"+h.Path))
		WriteExit(st, 0)
		agentErr <- nil
	}()
	// Let several banners pile up.
	time.Sleep(30 * time.Millisecond)
	done := make(chan error, 1)
	go func() { done <- HostHandshake(host) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("handshake hangs")
	}
	sess, err := yamux.Client(host, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	st, err := sess.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteHeader(st, Header{Kind: KindReadFile, Path: "/x"}); err != nil {
		t.Fatal(err)
	}
	typ, p, err := ReadFrame(st)
	if err != nil || typ != FrameData || string(p) != "readfile:/x" {
		t.Fatalf("reply %c %q %v", typ, p, err)
	}
	if typ, _, err := ReadFrame(st); err != nil || typ != FrameExit {
		t.Fatalf("end %c %v", typ, err)
	}
	if err := <-agentErr; err != nil {
		t.Fatal(err)
	}
}

// A port whose host side is not connected reads as EOF: the agent waits.
type eofThenPipe struct {
	eofs int
	net.Conn
}

func (e *eofThenPipe) Read(p []byte) (int, error) {
	if e.eofs > 0 {
		e.eofs--
		return 0, io.EOF
	}
	return e.Conn.Read(p)
}

func TestAgentHandshakeRetriesEOF(t *testing.T) {
	host, agent := net.Pipe()
	defer host.Close()
	defer agent.Close()
	errc := make(chan error, 1)
	go func() { errc <- AgentHandshake(&eofThenPipe{3, agent}, 5*time.Millisecond) }()
	if err := HostHandshake(host); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
