// Package proto is the protocol between realxs/xenhost (on the machine
// that runs QEMU) and xbagent (in the test host's dom0 and guests).
//
// # Host and dom0
//
// The host and the dom0 agent share one virtio-serial port. Before
// anything else the agent repeats [Banner] until the host answers [Go];
// the agent then stops repeating and sends [Ack], and from the byte after
// it both sides speak yamux (the host is the client). Bytes the host
// reads before the banner (a banner cut in half, a stale one) are
// skipped line by line.
//
// Every yamux stream starts with a [Header]: one line of JSON whose Kind
// says what the stream is. After it both sides exchange frames
// ([WriteFrame], [ReadFrame]): one type byte, a big-endian uint32 length,
// the payload. A request ends with a [FrameExit] (success, or the exit
// code of a command) or a [FrameError] (a [RemoteError]). The one
// exception is [KindXenstore]: after the agent's FrameExit the stream
// carries the raw xenstore wire protocol of a new connection to dom0's
// daemon.
//
// # dom0 and a guest
//
// A guest agent is reached through xenstore alone, under [AgentDir]: it
// writes "ready" when it serves, and runs the [GuestRequest] that dom0
// writes to cmd/<n>/req, answering with the chunks of its output under
// cmd/<n>/out/<i> and cmd/<n>/err/<i> ([Chunk]) and then cmd/<n>/result
// (a [GuestResult]).
package proto

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The handshake lines on the serial port (each ends with a newline).
const (
	Banner = "XBAGENT-HELLO 1"
	Go     = "XBAGENT-GO"
	Ack    = "XBAGENT-OK"
)

// The stream kinds.
const (
	KindXenstore  = "xenstore"  // a new connection to /run/xenstored/socket
	KindExec      = "exec"      // run Argv in dom0
	KindReadFile  = "readfile"  // the contents of Path
	KindWriteFile = "writefile" // data frames then an exit frame; written to Path with Mode
	KindInfo      = "info"      // an [Info] in a data frame
	KindShutdown  = "shutdown"  // power the machine off (QEMU exits)
)

// A Header is the first line of every stream.
type Header struct {
	Kind string   `json:"kind"`
	Argv []string `json:"argv,omitempty"`
	Path string   `json:"path,omitempty"`
	Mode uint32   `json:"mode,omitempty"`
}

// MaxHeader bounds the length of a header line.
const MaxHeader = 64 << 10

// WriteHeader writes h as one line of JSON.
func WriteHeader(w io.Writer, h Header) error {
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// ReadHeader reads one header line. It reads byte by byte, so that
// nothing after the newline is consumed.
func ReadHeader(r io.Reader) (Header, error) {
	var line []byte
	var b [1]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			if errors.Is(err, io.EOF) && len(line) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return Header{}, err
		}
		if b[0] == '\n' {
			break
		}
		if len(line) >= MaxHeader {
			return Header{}, fmt.Errorf("stream header longer than %d bytes", MaxHeader)
		}
		line = append(line, b[0])
	}
	var h Header
	if err := json.Unmarshal(line, &h); err != nil {
		return Header{}, fmt.Errorf("bad stream header: %w", err)
	}
	if h.Kind == "" {
		return Header{}, errors.New("bad stream header: no kind")
	}
	return h, nil
}

// The frame types.
const (
	FrameStdout byte = 'o' // a piece of a command's standard output
	FrameStderr byte = 'e' // a piece of its standard error
	FrameData   byte = 'd' // a piece of a file or of a reply
	FrameExit   byte = 'x' // the end: an [Exit]
	FrameError  byte = 'E' // the end: a [RemoteError]
)

// MaxFrame bounds a frame's payload.
const MaxFrame = 1 << 20

// WriteFrame writes one frame in a single Write.
func WriteFrame(w io.Writer, typ byte, payload []byte) error {
	if len(payload) > MaxFrame {
		return fmt.Errorf("frame of %d bytes exceeds %d", len(payload), MaxFrame)
	}
	b := make([]byte, 5+len(payload))
	b[0] = typ
	binary.BigEndian.PutUint32(b[1:5], uint32(len(payload)))
	copy(b[5:], payload)
	_, err := w.Write(b)
	return err
}

// ReadFrame reads one frame.
func ReadFrame(r io.Reader) (byte, []byte, error) {
	var h [5]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(h[1:])
	if n > MaxFrame {
		return 0, nil, fmt.Errorf("frame of %d bytes exceeds %d", n, MaxFrame)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	return h[0], p, nil
}

// An Exit is the payload of a [FrameExit].
type Exit struct {
	Code int `json:"code"`
}

// WriteExit writes a [FrameExit] with the given code.
func WriteExit(w io.Writer, code int) error {
	b, _ := json.Marshal(Exit{Code: code})
	return WriteFrame(w, FrameExit, b)
}

// A RemoteError is a failure in the agent, with the errno behind it when
// there is one (so that errors.Is(err, fs.ErrNotExist) works on the host).
type RemoteError struct {
	Op    string        `json:"op"`
	Path  string        `json:"path,omitempty"`
	Msg   string        `json:"msg"`
	Errno syscall.Errno `json:"errno,omitempty"`
}

func (e *RemoteError) Error() string {
	s := "xbagent: " + e.Op
	if e.Path != "" {
		s += " " + e.Path
	}
	return s + ": " + e.Msg
}

// Unwrap returns the errno, if any.
func (e *RemoteError) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return e.Errno
}

// NewRemoteError describes err, keeping its errno.
func NewRemoteError(op, path string, err error) *RemoteError {
	re := &RemoteError{Op: op, Path: path, Msg: err.Error()}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		re.Errno = errno
	}
	return re
}

// WriteError writes a [FrameError].
func WriteError(w io.Writer, e *RemoteError) error {
	b, _ := json.Marshal(e)
	return WriteFrame(w, FrameError, b)
}

// ParseError decodes a [FrameError]'s payload.
func ParseError(p []byte) *RemoteError {
	var e RemoteError
	if err := json.Unmarshal(p, &e); err != nil {
		return &RemoteError{Op: "?", Msg: fmt.Sprintf("undecodable error frame %q", p)}
	}
	return &e
}

// ParseExit decodes a [FrameExit]'s payload.
func ParseExit(p []byte) (Exit, error) {
	var e Exit
	if len(p) == 0 {
		return e, nil
	}
	err := json.Unmarshal(p, &e)
	return e, err
}

// Info is what the dom0 agent says about the host ([KindInfo]).
type Info struct {
	Xenstored string  `json:"xenstored"` // "cxenstored" or "oxenstored"
	Trace     string  `json:"trace"`     // the daemon's request trace in dom0
	Kernel    string  `json:"kernel"`
	Uptime    float64 `json:"uptime"` // dom0's, in seconds
}

// AgentDir is the xenstore folder where the guest agent of domid lives.
// A guest may write below its own data/ folder (libxl gives it write
// access there).
func AgentDir(domid int) string {
	return "/local/domain/" + strconv.Itoa(domid) + "/data/xbagent"
}

// A GuestRequest is what dom0 writes to cmd/<n>/req.
type GuestRequest struct {
	Argv  []string `json:"argv"`
	Spawn bool     `json:"spawn,omitempty"` // start and answer at once; the command runs on
	// TimeoutSec bounds a command that is waited for (0: 300 s).
	TimeoutSec int `json:"timeout,omitempty"`
}

// A GuestResult is what the guest agent writes to cmd/<n>/result, after
// the chunks of the output.
type GuestResult struct {
	Code   int    `json:"code"`
	Out    int    `json:"out"`           // number of stdout chunks
	Err    int    `json:"err"`           // number of stderr chunks
	Pid    int    `json:"pid,omitempty"` // of a spawned command
	Error  string `json:"error,omitempty"`
	Cut    bool   `json:"cut,omitempty"` // output beyond MaxGuestOutput was dropped
	Millis int64  `json:"ms"`
}

// ChunkRaw is how many bytes of output one chunk holds: 1368 bytes in
// base64. The wire allows values up to 4096 bytes, but the daemons' quotas
// on an unprivileged domain's nodes are tighter: oxenstored refuses
// values over 2048 bytes (quota-maxsize), and C xenstored counts the
// value, the permissions and the children's names of a node against its
// 2048-byte entry size (ENOSPC; a 2048-byte value was refused).
const ChunkRaw = 1024

// MaxGuestOutput bounds the output kept of one guest command, per stream.
const MaxGuestOutput = 512 << 10

// Chunk splits data into base64 values of at most 1368 bytes. Base64
// keeps arbitrary bytes (NULs too) intact in xenstore values.
func Chunk(data []byte) []string {
	var out []string
	for len(data) > 0 {
		n := min(len(data), ChunkRaw)
		out = append(out, base64.StdEncoding.EncodeToString(data[:n]))
		data = data[n:]
	}
	return out
}

// Unchunk joins the chunks made by [Chunk], in order.
func Unchunk(chunks []string) ([]byte, error) {
	var buf bytes.Buffer
	for i, c := range chunks {
		b, err := base64.StdEncoding.DecodeString(c)
		if err != nil {
			return nil, fmt.Errorf("chunk %d: %w", i, err)
		}
		buf.Write(b)
	}
	return buf.Bytes(), nil
}

// A lineBuf gathers the handshake's lines, read a byte at a time (so
// that nothing after the handshake is consumed); it keeps at most 256
// bytes of a line.
type lineBuf struct{ b []byte }

// add takes byte c; at the end of a line it returns the line, trimmed,
// and true.
func (l *lineBuf) add(c byte) (string, bool) {
	if c != '\n' {
		if len(l.b) < 256 {
			l.b = append(l.b, c)
		}
		return "", false
	}
	got := strings.TrimSpace(string(l.b))
	l.b = l.b[:0]
	return got, true
}

// AgentHandshake is the agent's side of the handshake on the serial port:
// it repeats [Banner] every interval until it reads a [Go] line, then
// stops repeating and writes [Ack]. A read that returns no bytes and EOF
// (a virtio port whose host side is not connected yet) is retried after a
// pause. Writes block while the host is not connected.
func AgentHandshake(rw io.ReadWriter, interval time.Duration) error {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var wmu sync.Mutex
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			wmu.Lock()
			_, err := io.WriteString(rw, Banner+"\n")
			wmu.Unlock()
			if err != nil {
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(interval):
			}
		}
	}()
	finish := func() { close(stop); wg.Wait() }
	var line lineBuf
	var b [1]byte
	for {
		n, err := rw.Read(b[:])
		if n == 0 {
			if err != nil && !errors.Is(err, io.EOF) {
				finish()
				return err
			}
			time.Sleep(interval / 5)
			continue
		}
		if got, ok := line.add(b[0]); ok && got == Go {
			break
		}
	}
	finish()
	_, err := io.WriteString(rw, Ack+"\n")
	return err
}

// HostHandshake is the host's side: it skips everything up to a [Banner]
// line, answers [Go], and returns once it has read the [Ack] line (banners
// still in flight are skipped). It reads byte by byte, so that nothing
// after the Ack is consumed.
func HostHandshake(rw io.ReadWriter) error {
	var line lineBuf
	var b [1]byte
	sentGo := false
	for {
		if _, err := io.ReadFull(rw, b[:]); err != nil {
			return err
		}
		got, ok := line.add(b[0])
		if !ok {
			continue
		}
		switch {
		case got == Banner && !sentGo:
			if _, err := io.WriteString(rw, Go+"\n"); err != nil {
				return err
			}
			sentGo = true
		case got == Ack && sentGo:
			return nil
		}
	}
}
