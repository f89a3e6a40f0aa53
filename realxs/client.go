package realxs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Options tune a [Client] for its transport. The zero value suits the
// xenstored unix socket.
type Options struct {
	// MaxRequest is the largest request payload that is sent; larger
	// requests fail with [ErrTooLarge] without being sent. Zero means
	// [PayloadMax].
	MaxRequest int
	// MaxReply is the largest reply payload that is accepted; a larger
	// one breaks the connection. Zero means [DefaultReplyMax].
	MaxReply int
	// Device selects the behaviour of the Linux xenbus device: a failed
	// write is the answer to that one request (the kernel reports a
	// failed watch registration that way) rather than a broken
	// connection, and transaction starts are serialized (the kernel
	// tracks a start in flight under a shared placeholder id).
	Device bool
	_      struct{}
}

// A Client is a connection to a xenstore daemon. It is safe for
// concurrent use by multiple goroutines.
type Client struct {
	rwc  io.ReadWriteCloser
	opts Options

	wmu  sync.Mutex // serializes writes, one message per Write call
	wbuf []byte

	startMu sync.Mutex // serializes XS_TRANSACTION_START on the device

	mu        sync.Mutex
	nextID    uint32
	wrapped   bool // nextID has wrapped around: every req_id was sent
	pending   map[uint32]*pendingCall
	watches   map[string]*Watch
	nextToken uint64
	err       error         // why the client stopped working, once set
	done      chan struct{} // closed when err is set

	readerDone chan struct{}
}

type pendingCall struct {
	ch   chan Msg  // buffered; receives the reply
	late func(Msg) // set when the caller gave up; handles the reply instead
}

// NewClient starts a client on rwc, a byte stream to a xenstore daemon.
// The client owns rwc and closes it on [Client.Close] or when reading from
// it fails.
func NewClient(rwc io.ReadWriteCloser, opts Options) *Client {
	if opts.MaxRequest <= 0 {
		opts.MaxRequest = PayloadMax
	}
	if opts.MaxReply <= 0 {
		opts.MaxReply = DefaultReplyMax
	}
	c := &Client{
		rwc:        rwc,
		opts:       opts,
		pending:    make(map[uint32]*pendingCall),
		watches:    make(map[string]*Watch),
		done:       make(chan struct{}),
		readerDone: make(chan struct{}),
	}
	go c.readLoop()
	return c
}

// Close closes the connection. Pending calls fail with [ErrClosed], the
// channels of all watches are closed, and the daemon drops the
// connection's watches and open transactions. Closing a closed client
// does nothing.
func (c *Client) Close() error {
	c.mu.Lock()
	closed := errors.Is(c.err, ErrClosed)
	c.mu.Unlock()
	if closed {
		return nil
	}
	c.fail(ErrClosed)
	err := c.rwc.Close()
	<-c.readerDone
	c.mu.Lock()
	ws := c.watches
	c.watches = map[string]*Watch{}
	c.mu.Unlock()
	for _, w := range ws {
		w.stopNow()
	}
	return err
}

// Done returns a channel that is closed when the client stops working,
// after [Client.Close] or when the connection fails. [Client.Err] then
// says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns nil while the client works, and afterwards an error
// matching [ErrClosed] or [ErrConnLost].
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// fail records why the client stopped, once, and ends every watch so that
// its channel closes once the events already queued have been taken.
func (c *Client) fail(cause error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	if !errors.Is(cause, ErrClosed) {
		cause = fmt.Errorf("%w: %w", ErrConnLost, cause)
	}
	c.err = cause
	close(c.done)
	ws := make([]*Watch, 0, len(c.watches))
	for _, w := range c.watches {
		ws = append(ws, w)
	}
	c.mu.Unlock()
	for _, w := range ws {
		w.end(cause)
	}
	if !errors.Is(cause, ErrClosed) {
		c.rwc.Close()
	}
}

func (c *Client) readLoop() {
	defer close(c.readerDone)
	for {
		m, err := ReadMsg(c.rwc, c.opts.MaxReply)
		if err != nil {
			if err == io.EOF {
				err = errors.New("daemon closed the connection")
			}
			c.fail(err)
			return
		}
		if m.Type == OpWatchEvent {
			// Events are dispatched by type: their req_id and tx_id
			// mean nothing (the xenbus device leaves them uninitialized).
			if err := c.dispatchEvent(m.Payload); err != nil {
				c.fail(err)
				return
			}
			continue
		}
		c.mu.Lock()
		p := c.pending[m.ReqID]
		delete(c.pending, m.ReqID)
		sent := m.ReqID != 0 && (c.wrapped || m.ReqID <= c.nextID)
		c.mu.Unlock()
		switch {
		case p == nil && !sent:
			// The stream is not this client's: nothing it says can be
			// trusted any more.
			c.fail(fmt.Errorf("%w: %v reply to req_id %d, which this client never sent", ErrProtocol, m.Type, m.ReqID))
			return
		case p == nil:
			// A reply to a call whose caller gave up: dropped.
		case p.late != nil:
			go p.late(m)
		default:
			p.ch <- m
		}
	}
}

// register reserves a fresh, non-zero req_id.
func (c *Client) register() (uint32, *pendingCall, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, nil, c.err
	}
	for {
		c.nextID++
		if c.nextID == 0 {
			c.wrapped = true
			continue
		}
		if _, busy := c.pending[c.nextID]; !busy {
			break
		}
	}
	p := &pendingCall{ch: make(chan Msg, 1)}
	c.pending[c.nextID] = p
	return c.nextID, p, nil
}

// abandon detaches a call whose caller gave up. late, if not nil, is run
// on the reply when it comes.
func (c *Client) abandon(id uint32, p *pendingCall, late func(Msg)) {
	c.mu.Lock()
	if _, ok := c.pending[id]; ok {
		if late == nil {
			delete(c.pending, id)
		} else {
			p.late = late
		}
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	// The reader has taken the call off the map, so it delivers the
	// reply to p.ch (which is buffered), if it has not done so already.
	if late != nil {
		go func() { late(<-p.ch) }()
	}
}

// roundTrip sends one request and waits for its reply, which may be an
// XS_ERROR message. Errors are transport, context and client-side errors
// wrapped in an *Error.
func (c *Client) roundTrip(ctx context.Context, op Op, tx uint32, path string, payload []byte, late func(Msg)) (Msg, error) {
	wrap := func(err error) error { return &Error{Op: op.String(), Path: path, Err: err} }
	if len(payload) > c.opts.MaxRequest {
		return Msg{}, wrap(fmt.Errorf("%w (%d bytes, limit %d): %w", ErrTooLarge, len(payload), c.opts.MaxRequest, E2BIG))
	}
	if err := ctx.Err(); err != nil {
		return Msg{}, wrap(err)
	}
	id, p, err := c.register()
	if err != nil {
		return Msg{}, wrap(err)
	}
	c.wmu.Lock()
	c.wbuf = AppendMsg(c.wbuf[:0], Msg{Type: op, ReqID: id, TxID: tx, Payload: payload})
	_, err = c.rwc.Write(c.wbuf)
	if cap(c.wbuf) > 2*(HeaderSize+PayloadMax) {
		c.wbuf = nil
	}
	c.wmu.Unlock()
	if err != nil {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		var errno syscall.Errno
		if c.opts.Device && errors.As(err, &errno) {
			return Msg{}, wrap(errnoOf(errno))
		}
		c.fail(fmt.Errorf("write: %w", err))
		return Msg{}, wrap(c.Err())
	}
	select {
	case m := <-p.ch:
		return m, nil
	case <-ctx.Done():
		c.abandon(id, p, late)
		return Msg{}, wrap(ctx.Err())
	case <-c.done:
		select {
		case m := <-p.ch:
			return m, nil
		default:
		}
		return Msg{}, wrap(c.Err())
	}
}

// errnoName reports whether s has the shape of an error name: E and
// capital letters or digits, as the daemons send ("ENOENT", "EQUOTA").
func errnoName(s string) bool {
	if len(s) < 2 || s[0] != 'E' || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// quoteShort quotes b for an error message, cut to 64 bytes.
func quoteShort(b []byte) string {
	if len(b) > 64 {
		return fmt.Sprintf("%q... (%d bytes)", b[:64], len(b))
	}
	return fmt.Sprintf("%q", b)
}

// errnoOf turns an errno from the device into the Errno of that name.
func errnoOf(e syscall.Errno) error {
	for name, se := range sysErrnos {
		if se == e {
			return name
		}
	}
	return e
}

// call is roundTrip plus the decoding of XS_ERROR replies and a check of
// the reply's type.
func (c *Client) call(ctx context.Context, op Op, tx uint32, path string, payload []byte) ([]byte, error) {
	m, err := c.roundTrip(ctx, op, tx, path, payload, nil)
	if err != nil {
		return nil, err
	}
	return replyPayload(op, path, m)
}

func replyPayload(op Op, path string, m Msg) ([]byte, error) {
	switch m.Type {
	case op:
		return m.Payload, nil
	case OpError:
		name := string(m.Payload)
		if i := indexNUL(m.Payload); i >= 0 {
			name = string(m.Payload[:i])
		}
		if !errnoName(name) {
			return nil, &Error{Op: op.String(), Path: path, Err: fmt.Errorf("%w: XS_ERROR reply %s, not an error name", ErrProtocol, quoteShort(m.Payload))}
		}
		return nil, &Error{Op: op.String(), Path: path, Err: Errno(name)}
	default:
		return nil, &Error{Op: op.String(), Path: path, Err: fmt.Errorf("%w: reply of type %v", ErrProtocol, m.Type)}
	}
}

// Raw sends one request with the given type, transaction id and payload,
// exactly as given, and returns the reply, which may be an XS_ERROR
// message. It is an escape hatch for requests the Client has no method
// for and for negative tests. The payload limit still applies. Do not
// send a zero-length payload to oxenstored (it waits for more bytes
// before it answers), and do not send XS_WATCH through Raw: its events
// would be dropped.
func (c *Client) Raw(ctx context.Context, op Op, tx uint32, payload []byte) (Msg, error) {
	return c.roundTrip(ctx, op, tx, "", payload, nil)
}

// Read returns the value of a node. Values are raw bytes and may contain
// NULs.
func (c *Client) Read(ctx context.Context, path string) ([]byte, error) {
	return c.read(ctx, 0, path)
}

// Write sets the value of a node, creating it and any missing parents.
func (c *Client) Write(ctx context.Context, path string, value []byte) error {
	return c.write(ctx, 0, path, value)
}

// Mkdir creates a node with an empty value and any missing parents. An
// existing node is left as it is.
func (c *Client) Mkdir(ctx context.Context, path string) error {
	return c.simple(ctx, OpMkdir, 0, path)
}

// Rm removes a node and everything below it. Removing a missing node
// whose parent exists succeeds.
func (c *Client) Rm(ctx context.Context, path string) error {
	return c.simple(ctx, OpRm, 0, path)
}

// Directory returns the names of a node's children, in the daemon's
// order. A node without children gives an empty, non-nil slice.
func (c *Client) Directory(ctx context.Context, path string) ([]string, error) {
	return c.directory(ctx, 0, path)
}

// GetPerms returns a node's permissions; the first entry names the owner.
func (c *Client) GetPerms(ctx context.Context, path string) ([]Perm, error) {
	return c.getPerms(ctx, 0, path)
}

// SetPerms replaces a node's permissions; the first entry names the owner.
func (c *Client) SetPerms(ctx context.Context, path string, perms []Perm) error {
	return c.setPerms(ctx, 0, path, perms)
}

// GetDomainPath returns the home path of a domain, such as
// "/local/domain/5". The daemon does not check that the domain exists.
func (c *Client) GetDomainPath(ctx context.Context, domid uint32) (string, error) {
	b, err := c.call(ctx, OpGetDomainPath, 0, "", joinStrings(strconv.FormatUint(uint64(domid), 10)))
	if err != nil {
		return "", err
	}
	return string(trimNUL(b)), nil
}

// Sync returns once every watch event caused by a request that completed
// before Sync was called, on this or any other connection to the daemon,
// has been queued on its [Watch]. It is one round trip (XS_GET_DOMAIN_PATH
// for domain 0): the daemon answers in order, and the client's reader
// queues events before it hands over the reply that follows them. On the
// xenbus device the kernel delivers events from another thread, so there
// Sync gives no such guarantee.
func (c *Client) Sync(ctx context.Context) error {
	_, err := c.GetDomainPath(ctx, 0)
	return err
}

func trimNUL(b []byte) []byte {
	if i := indexNUL(b); i >= 0 {
		return b[:i]
	}
	return b
}

func (c *Client) read(ctx context.Context, tx uint32, path string) ([]byte, error) {
	b, err := c.call(ctx, OpRead, tx, path, joinStrings(path))
	if err != nil {
		return nil, err
	}
	return b, nil
}

func (c *Client) write(ctx context.Context, tx uint32, path string, value []byte) error {
	payload := make([]byte, 0, len(path)+1+len(value))
	payload = append(payload, path...)
	payload = append(payload, 0)
	payload = append(payload, value...)
	_, err := c.call(ctx, OpWrite, tx, path, payload)
	return err
}

func (c *Client) simple(ctx context.Context, op Op, tx uint32, path string) error {
	_, err := c.call(ctx, op, tx, path, joinStrings(path))
	return err
}

func (c *Client) directory(ctx context.Context, tx uint32, path string) ([]string, error) {
	b, err := c.call(ctx, OpDirectory, tx, path, joinStrings(path))
	if err != nil {
		return nil, err
	}
	return splitStrings(b), nil
}

func (c *Client) getPerms(ctx context.Context, tx uint32, path string) ([]Perm, error) {
	b, err := c.call(ctx, OpGetPerms, tx, path, joinStrings(path))
	if err != nil {
		return nil, err
	}
	perms, err := ParsePerms(b)
	if err != nil {
		return nil, &Error{Op: OpGetPerms.String(), Path: path, Err: fmt.Errorf("%w: %w", ErrProtocol, err)}
	}
	return perms, nil
}

func (c *Client) setPerms(ctx context.Context, tx uint32, path string, perms []Perm) error {
	payload := append(joinStrings(path), FormatPerms(perms)...)
	_, err := c.call(ctx, OpSetPerms, tx, path, payload)
	return err
}

// sleepCtx waits for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
