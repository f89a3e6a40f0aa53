package proto

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func TestHeaderRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	in := Header{Kind: KindExec, Argv: []string{"sh", "-c", "echo 'a\nb'"}}
	if err := WriteHeader(&buf, in); err != nil {
		t.Fatal(err)
	}
	buf.WriteString("rest")
	out, err := ReadHeader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if out.Kind != in.Kind || !slices.Equal(out.Argv, in.Argv) {
		t.Fatalf("got %+v, want %+v", out, in)
	}
	// Nothing after the newline is consumed.
	if buf.String() != "rest" {
		t.Fatalf("left %q, want %q", buf.String(), "rest")
	}
}

func TestHeaderErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "EOF"},
		{`{"kind":"exec"`, "unexpected EOF"},
		{"not json\n", "bad stream header"},
		{"{}\n", "no kind"},
		{strings.Repeat("x", MaxHeader+1) + "\n", "longer than"},
	} {
		_, err := ReadHeader(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ReadHeader(%.20q) = %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestFrames(t *testing.T) {
	var buf bytes.Buffer
	WriteFrame(&buf, FrameStdout, []byte("out"))
	WriteFrame(&buf, FrameStderr, nil)
	WriteExit(&buf, 3)
	WriteError(&buf, NewRemoteError("readfile", "/x", &fs.PathError{Op: "open", Path: "/x", Err: syscall.ENOENT}))
	typ, p, err := ReadFrame(&buf)
	if err != nil || typ != FrameStdout || string(p) != "out" {
		t.Fatalf("frame 1: %c %q %v", typ, p, err)
	}
	typ, p, err = ReadFrame(&buf)
	if err != nil || typ != FrameStderr || len(p) != 0 {
		t.Fatalf("frame 2: %c %q %v", typ, p, err)
	}
	typ, p, err = ReadFrame(&buf)
	e, perr := ParseExit(p)
	if err != nil || typ != FrameExit || perr != nil || e.Code != 3 {
		t.Fatalf("frame 3: %c %q %v %v", typ, p, err, perr)
	}
	typ, p, err = ReadFrame(&buf)
	if err != nil || typ != FrameError {
		t.Fatalf("frame 4: %c %q %v", typ, p, err)
	}
	re := ParseError(p)
	if !errors.Is(re, os.ErrNotExist) || re.Path != "/x" {
		t.Fatalf("remote error %v (errno %d) does not match fs.ErrNotExist", re, re.Errno)
	}
	if _, _, err := ReadFrame(&buf); err != io.EOF {
		t.Fatalf("at the end: %v", err)
	}
	// A cut frame.
	WriteFrame(&buf, FrameData, []byte("abcdef"))
	buf.Truncate(buf.Len() - 2)
	if _, _, err := ReadFrame(&buf); err != io.ErrUnexpectedEOF {
		t.Fatalf("cut frame: %v", err)
	}
	if err := WriteFrame(io.Discard, FrameData, make([]byte, MaxFrame+1)); err == nil {
		t.Fatal("oversized frame written")
	}
}

func TestChunk(t *testing.T) {
	for _, n := range []int{0, 1, ChunkRaw - 1, ChunkRaw, ChunkRaw + 1, 5*ChunkRaw + 17} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i * 7) // NULs and high bytes too
		}
		chunks := Chunk(data)
		if want := (n + ChunkRaw - 1) / ChunkRaw; len(chunks) != want {
			t.Fatalf("%d bytes: %d chunks, want %d", n, len(chunks), want)
		}
		for _, c := range chunks {
			// Under the daemons' quotas on a guest's values (see ChunkRaw).
			if len(c) > 1400 {
				t.Fatalf("chunk of %d bytes", len(c))
			}
		}
		back, err := Unchunk(chunks)
		if err != nil || !bytes.Equal(back, data) {
			t.Fatalf("%d bytes: round trip failed: %v", n, err)
		}
	}
	if _, err := Unchunk([]string{"!!"}); err == nil {
		t.Fatal("bad chunk accepted")
	}
}

func TestAgentDir(t *testing.T) {
	if got := AgentDir(7); got != "/local/domain/7/data/xbagent" {
		t.Fatal(got)
	}
}
