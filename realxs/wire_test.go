package realxs

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// Reference: xen/include/public/io/xs_wire.h, struct xsd_sockmsg.
func TestAppendMsgLayout(t *testing.T) {
	got := AppendMsg(nil, Msg{Type: OpWrite, ReqID: 0x01020304, TxID: 7, Payload: []byte("/a\x00v")})
	want := []byte{
		11, 0, 0, 0, // type XS_WRITE
		4, 3, 2, 1, // req_id, little-endian
		7, 0, 0, 0, // tx_id
		4, 0, 0, 0, // len
		'/', 'a', 0, 'v',
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AppendMsg mismatch (-want +got):\n%s", diff)
	}
	if h := ParseHeader(got); h != (Header{Type: OpWrite, ReqID: 0x01020304, TxID: 7, Len: 4}) {
		t.Errorf("ParseHeader = %+v", h)
	}
}

// ReadMsg treats its input as a stream: messages may arrive split into
// pieces or merged together.
func TestReadMsgStream(t *testing.T) {
	msgs := []Msg{
		{Type: OpRead, ReqID: 1, Payload: []byte("value")},
		{Type: OpDirectory, ReqID: 2, Payload: []byte{}},
		{Type: OpWatchEvent, Payload: []byte("/a\x00tok\x00")},
		{Type: OpError, ReqID: 3, TxID: 9, Payload: []byte("ENOENT\x00")},
		{Type: OpRead, ReqID: 4, Payload: bytes.Repeat([]byte{0}, 6000)}, // replies may exceed 4096
	}
	var stream []byte
	for _, m := range msgs {
		stream = AppendMsg(stream, m)
	}
	for name, r := range map[string]func() io.Reader{
		"whole":    func() io.Reader { return bytes.NewReader(stream) },
		"one-byte": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(stream)) },
		"half":     func() io.Reader { return iotest.HalfReader(bytes.NewReader(stream)) },
	} {
		t.Run(name, func(t *testing.T) {
			r := r()
			var got []Msg
			for {
				m, err := ReadMsg(r, DefaultReplyMax)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("ReadMsg: %v", err)
				}
				got = append(got, m)
			}
			if diff := cmp.Diff(msgs, got); diff != "" {
				t.Errorf("messages mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// ReadMsg's errors say where the stream broke.
func TestReadMsgErrors(t *testing.T) {
	full := AppendMsg(nil, Msg{Type: OpRead, ReqID: 1, Payload: []byte("abcdef")})
	tests := []struct {
		name  string
		input []byte
		max   int
		want  error
		text  string
	}{
		{"empty", nil, 100, io.EOF, "EOF"},
		{"short header", full[:10], 100, io.ErrUnexpectedEOF, "stream ended 10 bytes into a 16-byte message header"},
		{"short payload", full[:HeaderSize+3], 100, io.ErrUnexpectedEOF, "stream ended 3 bytes into the 6-byte payload of a XS_READ message (req_id 1)"},
		{"header only", full[:HeaderSize], 100, io.ErrUnexpectedEOF, "stream ended 0 bytes into the 6-byte payload"},
		{"over the limit", full, 5, ErrProtocol, "XS_READ message (req_id 1) of 6 bytes, over the limit of 5"},
		{"reader error", nil, 100, iotest.ErrTimeout, "reading a message header: timeout"},
	}
	for _, tt := range tests {
		var r io.Reader = bytes.NewReader(tt.input)
		if tt.want == iotest.ErrTimeout {
			r = iotest.TimeoutReader(bytes.NewReader(nil))
			r.Read(nil) // the second read times out
		}
		_, err := ReadMsg(r, tt.max)
		if !errors.Is(err, tt.want) || err == nil || !strings.Contains(err.Error(), tt.text) {
			t.Errorf("ReadMsg(%s) error = %v; want %v saying %q", tt.name, err, tt.want, tt.text)
		}
	}
}

func TestSplitJoinStrings(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", []string{}},
		{"\x00", []string{""}},
		{"a\x00", []string{"a"}},
		{"a\x00bc\x00", []string{"a", "bc"}},
		{"a\x00bc", []string{"a", "bc"}}, // a final string without its NUL is kept
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, splitStrings([]byte(tt.in))); diff != "" {
			t.Errorf("splitStrings(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
	if got := string(joinStrings("/p", "tok")); got != "/p\x00tok\x00" {
		t.Errorf("joinStrings = %q; want %q", got, "/p\x00tok\x00")
	}
}

func TestOpString(t *testing.T) {
	for op, want := range map[Op]string{
		OpRead:           "XS_READ",
		OpTransactionEnd: "XS_TRANSACTION_END",
		OpError:          "XS_ERROR",
		Op(20):           "XS_20",
		OpInvalid:        "XS_INVALID",
	} {
		if got := op.String(); got != want {
			t.Errorf("Op(%d).String() = %q; want %q", uint32(op), got, want)
		}
	}
}
