package exec

import (
	"context"

	"github.com/xbcheck/xbcheck/realxs"
)

// A Backend is the xenstore the executor drives: a live daemon through
// [Live], or the in-memory [ModelStore]. Its node operations are those of
// [realxs.Store], outside any transaction.
type Backend interface {
	realxs.Store
	// StartTransaction opens a transaction.
	StartTransaction(ctx context.Context) (Txn, error)
	// Transact runs fn in a transaction and commits it, running fn again
	// in a fresh transaction while the commit fails with EAGAIN.
	Transact(ctx context.Context, fn func(s realxs.Store) error) error
	// Watch registers a watch on path with token; its registration
	// event is queued at once.
	Watch(ctx context.Context, path, token string) (Watcher, error)
	// Sync returns once every event caused by an earlier request is
	// queued on its Watcher (see [realxs.Client.Sync]).
	Sync(ctx context.Context) error
}

// A Txn is an open transaction of a [Backend].
type Txn interface {
	realxs.Store
	Commit(ctx context.Context) error
	Abort(ctx context.Context) error
}

// A Watcher is a registered watch of a [Backend].
type Watcher interface {
	// Drain takes the events queued so far, without waiting.
	Drain() []realxs.Event
	Unwatch(ctx context.Context) error
}

// Live returns the Backend of a live daemon reached through c. The
// executor never closes c.
func Live(c *realxs.Client) Backend { return liveBackend{c} }

type liveBackend struct{ *realxs.Client }

func (b liveBackend) StartTransaction(ctx context.Context) (Txn, error) {
	tx, err := b.Client.StartTransaction(ctx)
	if err != nil {
		return nil, err
	}
	return tx, nil
}

func (b liveBackend) Transact(ctx context.Context, fn func(s realxs.Store) error) error {
	return b.Client.Transact(ctx, func(tx *realxs.Tx) error { return fn(tx) })
}

func (b liveBackend) Watch(ctx context.Context, path, token string) (Watcher, error) {
	w, err := b.Client.Watch(ctx, path, token)
	if err != nil {
		return nil, err
	}
	return w, nil
}
