package realxs

import (
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
)

// An Op is a xenstore message type, the first field of the wire header
// (enum xsd_sockmsg_type in xs_wire.h).
type Op uint32

// The message types of xs_wire.h (Xen 4.17). Replies echo the request's
// type, except [OpError].
const (
	OpControl            Op = 0
	OpDirectory          Op = 1
	OpRead               Op = 2
	OpGetPerms           Op = 3
	OpWatch              Op = 4
	OpUnwatch            Op = 5
	OpTransactionStart   Op = 6
	OpTransactionEnd     Op = 7
	OpIntroduce          Op = 8
	OpRelease            Op = 9
	OpGetDomainPath      Op = 10
	OpWrite              Op = 11
	OpMkdir              Op = 12
	OpRm                 Op = 13
	OpSetPerms           Op = 14
	OpWatchEvent         Op = 15
	OpError              Op = 16
	OpIsDomainIntroduced Op = 17
	OpResume             Op = 18
	OpSetTarget          Op = 19
	OpResetWatches       Op = 21
	OpDirectoryPart      Op = 22
	OpInvalid            Op = 0xffff
)

var opNames = map[Op]string{
	OpControl:            "XS_CONTROL",
	OpDirectory:          "XS_DIRECTORY",
	OpRead:               "XS_READ",
	OpGetPerms:           "XS_GET_PERMS",
	OpWatch:              "XS_WATCH",
	OpUnwatch:            "XS_UNWATCH",
	OpTransactionStart:   "XS_TRANSACTION_START",
	OpTransactionEnd:     "XS_TRANSACTION_END",
	OpIntroduce:          "XS_INTRODUCE",
	OpRelease:            "XS_RELEASE",
	OpGetDomainPath:      "XS_GET_DOMAIN_PATH",
	OpWrite:              "XS_WRITE",
	OpMkdir:              "XS_MKDIR",
	OpRm:                 "XS_RM",
	OpSetPerms:           "XS_SET_PERMS",
	OpWatchEvent:         "XS_WATCH_EVENT",
	OpError:              "XS_ERROR",
	OpIsDomainIntroduced: "XS_IS_DOMAIN_INTRODUCED",
	OpResume:             "XS_RESUME",
	OpSetTarget:          "XS_SET_TARGET",
	OpResetWatches:       "XS_RESET_WATCHES",
	OpDirectoryPart:      "XS_DIRECTORY_PART",
	OpInvalid:            "XS_INVALID",
}

// String returns the name xs_wire.h gives the type, such as "XS_READ", or
// "XS_<n>" for a number it does not name.
func (op Op) String() string {
	if s, ok := opNames[op]; ok {
		return s
	}
	return "XS_" + strconv.FormatUint(uint64(op), 10)
}

// Protocol limits.
const (
	// HeaderSize is the size of struct xsd_sockmsg.
	HeaderSize = 16
	// PayloadMax is XENSTORE_PAYLOAD_MAX, the largest request payload
	// the daemons accept.
	PayloadMax = 4096
	// XenbusPayloadMax is the largest request payload the Linux xenbus
	// device accepts: its 4096-byte buffer also holds the header.
	XenbusPayloadMax = PayloadMax - HeaderSize
	// DefaultReplyMax is the largest reply payload a [Client] accepts by
	// default. oxenstored sends replies larger than [PayloadMax] on the
	// socket (a big DIRECTORY, for example).
	DefaultReplyMax = 1 << 20
)

// A Header is the fixed part of every message (struct xsd_sockmsg). All
// fields are little-endian on the wire, as on every host Xen runs on.
type Header struct {
	Type  Op
	ReqID uint32
	TxID  uint32
	Len   uint32
}

// A Msg is one message: a header and Len bytes of payload.
type Msg struct {
	Type    Op
	ReqID   uint32
	TxID    uint32
	Payload []byte
}

// AppendMsg appends the encoding of m (header and payload) to b and
// returns the extended buffer.
func AppendMsg(b []byte, m Msg) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(m.Type))
	b = binary.LittleEndian.AppendUint32(b, m.ReqID)
	b = binary.LittleEndian.AppendUint32(b, m.TxID)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(m.Payload)))
	return append(b, m.Payload...)
}

// ParseHeader decodes a header from the first [HeaderSize] bytes of b.
func ParseHeader(b []byte) Header {
	_ = b[HeaderSize-1]
	return Header{
		Type:  Op(binary.LittleEndian.Uint32(b[0:])),
		ReqID: binary.LittleEndian.Uint32(b[4:]),
		TxID:  binary.LittleEndian.Uint32(b[8:]),
		Len:   binary.LittleEndian.Uint32(b[12:]),
	}
}

// ReadMsg reads one message from r, which is treated as a byte stream:
// a message may arrive in pieces, and several may arrive together. A
// stream that ends between messages gives io.EOF. Every other failure is
// an error saying what was wrong: a payload longer than max (matching
// [ErrProtocol]; r is then at an unknown position), a stream that ends
// inside a message (matching io.ErrUnexpectedEOF), or the reader's own
// error, each naming the part of the message being read.
func ReadMsg(r io.Reader, max int) (Msg, error) {
	var hb [HeaderSize]byte
	if n, err := io.ReadFull(r, hb[:]); err != nil {
		switch {
		case err == io.EOF:
			return Msg{}, io.EOF
		case err == io.ErrUnexpectedEOF:
			return Msg{}, fmt.Errorf("stream ended %d bytes into a %d-byte message header: %w", n, HeaderSize, err)
		}
		return Msg{}, fmt.Errorf("reading a message header: %w", err)
	}
	h := ParseHeader(hb[:])
	if uint64(h.Len) > uint64(max) {
		return Msg{}, fmt.Errorf("%w: %v message (req_id %d) of %d bytes, over the limit of %d", ErrProtocol, h.Type, h.ReqID, h.Len, max)
	}
	m := Msg{Type: h.Type, ReqID: h.ReqID, TxID: h.TxID, Payload: make([]byte, h.Len)}
	if n, err := io.ReadFull(r, m.Payload); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return Msg{}, fmt.Errorf("stream ended %d bytes into the %d-byte payload of a %v message (req_id %d): %w", n, h.Len, h.Type, h.ReqID, io.ErrUnexpectedEOF)
		}
		return Msg{}, fmt.Errorf("reading the payload of a %v message (req_id %d): %w", h.Type, h.ReqID, err)
	}
	return m, nil
}

// splitStrings splits a payload of NUL-terminated strings. A final
// string without its NUL is kept. An empty payload gives an empty, non-nil
// slice.
func splitStrings(b []byte) []string {
	out := []string{}
	for len(b) > 0 {
		i := indexNUL(b)
		if i < 0 {
			out = append(out, string(b))
			break
		}
		out = append(out, string(b[:i]))
		b = b[i+1:]
	}
	return out
}

func indexNUL(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}

// joinStrings builds a payload in which every string is NUL-terminated.
func joinStrings(ss ...string) []byte {
	n := 0
	for _, s := range ss {
		n += len(s) + 1
	}
	b := make([]byte, 0, n)
	for _, s := range ss {
		b = append(b, s...)
		b = append(b, 0)
	}
	return b
}
