package realxs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// A Tx is an open xenstore transaction. Its operations see the
// transaction's view of the store, and its changes become visible (and
// fire watches) only when [Tx.Commit] succeeds. Operations may be issued
// from several goroutines. After Commit or Abort, whatever the outcome,
// the transaction is gone and its methods fail with [ErrTxDone].
type Tx struct {
	c  *Client
	id uint32

	mu    sync.Mutex
	ended bool
}

// ID returns the transaction id the daemon assigned.
func (tx *Tx) ID() uint32 { return tx.id }

// StartTransaction opens a transaction (XS_TRANSACTION_START).
func (c *Client) StartTransaction(ctx context.Context) (*Tx, error) {
	if c.opts.Device {
		c.startMu.Lock()
		defer c.startMu.Unlock()
	}
	op := OpTransactionStart
	m, err := c.roundTrip(ctx, op, 0, "", []byte{0}, func(m Msg) {
		// The caller gave up; abort a transaction that was opened.
		if id, err := parseTxID(m); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c.call(ctx, OpTransactionEnd, id, "", []byte("F\x00"))
		}
	})
	if err != nil {
		return nil, err
	}
	if _, err := replyPayload(op, "", m); err != nil {
		return nil, err
	}
	id, err := parseTxID(m)
	if err != nil {
		return nil, &Error{Op: op.String(), Err: fmt.Errorf("%w: %w", ErrProtocol, err)}
	}
	return &Tx{c: c, id: id}, nil
}

func parseTxID(m Msg) (uint32, error) {
	if m.Type != OpTransactionStart {
		return 0, errors.New("not a transaction start reply")
	}
	s := string(trimNUL(m.Payload))
	id, err := strconv.ParseUint(s, 10, 32)
	if err != nil || id == 0 {
		return 0, fmt.Errorf("bad transaction id %q", s)
	}
	return uint32(id), nil
}

func (tx *Tx) check(op Op, path string) error {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.ended {
		return &Error{Op: op.String(), Path: path, Err: ErrTxDone}
	}
	return nil
}

// Read returns the value of a node as the transaction sees it.
func (tx *Tx) Read(ctx context.Context, path string) ([]byte, error) {
	if err := tx.check(OpRead, path); err != nil {
		return nil, err
	}
	return tx.c.read(ctx, tx.id, path)
}

// Write sets the value of a node, creating it and any missing parents.
func (tx *Tx) Write(ctx context.Context, path string, value []byte) error {
	if err := tx.check(OpWrite, path); err != nil {
		return err
	}
	return tx.c.write(ctx, tx.id, path, value)
}

// Mkdir creates a node with an empty value and any missing parents.
func (tx *Tx) Mkdir(ctx context.Context, path string) error {
	if err := tx.check(OpMkdir, path); err != nil {
		return err
	}
	return tx.c.simple(ctx, OpMkdir, tx.id, path)
}

// Rm removes a node and everything below it.
func (tx *Tx) Rm(ctx context.Context, path string) error {
	if err := tx.check(OpRm, path); err != nil {
		return err
	}
	return tx.c.simple(ctx, OpRm, tx.id, path)
}

// Directory returns the names of a node's children.
func (tx *Tx) Directory(ctx context.Context, path string) ([]string, error) {
	if err := tx.check(OpDirectory, path); err != nil {
		return nil, err
	}
	return tx.c.directory(ctx, tx.id, path)
}

// GetPerms returns a node's permissions.
func (tx *Tx) GetPerms(ctx context.Context, path string) ([]Perm, error) {
	if err := tx.check(OpGetPerms, path); err != nil {
		return nil, err
	}
	return tx.c.getPerms(ctx, tx.id, path)
}

// SetPerms replaces a node's permissions.
func (tx *Tx) SetPerms(ctx context.Context, path string, perms []Perm) error {
	if err := tx.check(OpSetPerms, path); err != nil {
		return err
	}
	return tx.c.setPerms(ctx, tx.id, path, perms)
}

// Commit ends the transaction and applies its changes. An error matching
// [EAGAIN] means a conflicting change was made meanwhile; nothing was
// applied, and the whole transaction must be run again.
func (tx *Tx) Commit(ctx context.Context) error {
	return tx.end(ctx, "T")
}

// Abort ends the transaction and drops its changes.
func (tx *Tx) Abort(ctx context.Context) error {
	return tx.end(ctx, "F")
}

func (tx *Tx) end(ctx context.Context, arg string) error {
	tx.mu.Lock()
	if tx.ended {
		tx.mu.Unlock()
		return &Error{Op: OpTransactionEnd.String(), Err: ErrTxDone}
	}
	tx.ended = true
	tx.mu.Unlock()
	_, err := tx.c.call(ctx, OpTransactionEnd, tx.id, "", joinStrings(arg))
	return err
}

// Transact runs fn in a new transaction and commits it. When the commit,
// or fn itself, fails with [EAGAIN], the transaction is dropped and fn is
// run again in a fresh one, until it commits, fails otherwise, or ctx is
// done. fn must not keep tx, and should not have effects outside the
// transaction that cannot be repeated. When fn returns another error, the
// transaction is aborted and that error is returned.
func (c *Client) Transact(ctx context.Context, fn func(tx *Tx) error) error {
	for attempt := 0; ; attempt++ {
		tx, err := c.StartTransaction(ctx)
		if err != nil {
			return err
		}
		if err = fn(tx); err == nil {
			err = tx.Commit(ctx)
		} else {
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			tx.Abort(actx)
			cancel()
		}
		if !errors.Is(err, EAGAIN) {
			return err
		}
		if attempt > 0 {
			// Back off a little, growing, so that busy writers let
			// the conflicting party finish.
			d := time.Duration(min(attempt, 50)) * 100 * time.Microsecond
			if err := sleepCtx(ctx, d); err != nil {
				return &Error{Op: OpTransactionStart.String(), Err: err}
			}
		}
	}
}

// Store is the set of node operations that both a [Client] and a [Tx]
// offer, so that code can run inside or outside a transaction.
type Store interface {
	Read(ctx context.Context, path string) ([]byte, error)
	Write(ctx context.Context, path string, value []byte) error
	Mkdir(ctx context.Context, path string) error
	Rm(ctx context.Context, path string) error
	Directory(ctx context.Context, path string) ([]string, error)
	GetPerms(ctx context.Context, path string) ([]Perm, error)
	SetPerms(ctx context.Context, path string, perms []Perm) error
}

var (
	_ Store = (*Client)(nil)
	_ Store = (*Tx)(nil)
)
