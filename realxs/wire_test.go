package realxs

import (
	"bytes"
	"errors"
	"io"
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

func TestReadMsgErrors(t *testing.T) {
	full := AppendMsg(nil, Msg{Type: OpRead, ReqID: 1, Payload: []byte("abcdef")})
	tests := []struct {
		name  string
		input []byte
		max   int
		want  error
	}{
		{"empty", nil, 100, io.EOF},
		{"short header", full[:10], 100, io.ErrUnexpectedEOF},
		{"short payload", full[:HeaderSize+3], 100, io.ErrUnexpectedEOF},
		{"header only", full[:HeaderSize], 100, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		_, err := ReadMsg(bytes.NewReader(tt.input), tt.max)
		if !errors.Is(err, tt.want) {
			t.Errorf("ReadMsg(%s) error = %v; want %v", tt.name, err, tt.want)
		}
	}
	if _, err := ReadMsg(bytes.NewReader(full), 5); err == nil {
		t.Errorf("ReadMsg with a payload over the limit: nil error")
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
