package realxs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// An Event is one XS_WATCH_EVENT: the path that changed (or, for the
// registration event and for the removal of an ancestor, the watched
// path itself) and the token of the watch it is for.
type Event struct {
	Path  string
	Token string
}

// A Watch is a registered xenstore watch. Its events arrive on the
// channel returned by [Watch.Events], in the order the daemon sent them,
// through an unbounded queue.
type Watch struct {
	c     *Client
	path  string
	token string
	out   chan Event

	mu       sync.Mutex
	queue    []Event
	ended    bool  // no more events will be queued
	err      error // why the watch ended
	wake     chan struct{}
	stop     chan struct{} // closed to stop the pump at once
	stopMu   sync.Once
	drain    chan chan []Event
	pumpDone chan struct{}
}

// Path returns the watched path, as given to [Client.Watch].
func (w *Watch) Path() string { return w.path }

// Token returns the watch's token.
func (w *Watch) Token() string { return w.token }

// Events returns the channel on which the watch's events arrive. The first
// is the registration event that the daemon sends for every new watch.
// The channel is closed after [Watch.Unwatch] or [Client.Close] (events
// still queued are dropped), or when the connection fails (after the
// events already queued). [Watch.Err] then says why.
func (w *Watch) Events() <-chan Event { return w.out }

// Err returns nil while the watch is active, and afterwards why it ended.
func (w *Watch) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Watch registers a watch on path (and everything below it) with the given
// token. An empty token asks for a fresh one, unique within the client.
// Events are routed by token, so a token may name only one of the
// client's watches at a time; reusing one fails with [ErrTokenInUse].
func (c *Client) Watch(ctx context.Context, path, token string) (*Watch, error) {
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, &Error{Op: OpWatch.String(), Path: path, Err: err}
	}
	if token == "" {
		for {
			c.nextToken++
			token = "realxs-" + strconv.FormatUint(c.nextToken, 10)
			if _, busy := c.watches[token]; !busy {
				break
			}
		}
	} else if _, busy := c.watches[token]; busy {
		c.mu.Unlock()
		return nil, &Error{Op: OpWatch.String(), Path: path, Err: ErrTokenInUse}
	}
	w := &Watch{
		c:        c,
		path:     path,
		token:    token,
		out:      make(chan Event),
		wake:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		drain:    make(chan chan []Event),
		pumpDone: make(chan struct{}),
	}
	// The watch is in place before the request goes out: the
	// registration event may come before the reply (on the device).
	c.watches[token] = w
	c.mu.Unlock()
	go w.pump()

	payload := joinStrings(path, token)
	m, err := c.roundTrip(ctx, OpWatch, 0, path, payload, func(m Msg) {
		// The caller gave up; undo a registration that succeeded.
		if m.Type == OpWatch {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c.call(ctx, OpUnwatch, 0, path, payload)
		}
	})
	if err == nil {
		_, err = replyPayload(OpWatch, path, m)
	}
	if err != nil {
		c.removeWatch(w)
		w.endNow(err)
		return nil, err
	}
	return w, nil
}

// Unwatch removes the watch from the daemon and closes its channel;
// events still queued are dropped. The watch is gone from the client even
// when the request fails.
func (w *Watch) Unwatch(ctx context.Context) error {
	c := w.c
	c.mu.Lock()
	registered := c.watches[w.token] == w
	c.mu.Unlock()
	if !registered {
		return &Error{Op: OpUnwatch.String(), Path: w.path, Err: ENOENT}
	}
	_, err := c.call(ctx, OpUnwatch, 0, w.path, joinStrings(w.path, w.token))
	c.removeWatch(w)
	w.endNow(errUnwatched)
	return err
}

var errUnwatched = errors.New("watch removed by Unwatch")

func (c *Client) removeWatch(w *Watch) {
	c.mu.Lock()
	if c.watches[w.token] == w {
		delete(c.watches, w.token)
	}
	c.mu.Unlock()
}

// dispatchEvent queues an XS_WATCH_EVENT on the watch of its token (an
// event for no watch, one removed already, is dropped). A payload that is
// not a path and a token, NUL-separated as the daemons and the kernel send
// them, is an error: the connection's stream cannot be trusted.
func (c *Client) dispatchEvent(payload []byte) error {
	f := splitStrings(payload)
	if len(f) < 2 || f[0] == "" {
		return fmt.Errorf("%w: XS_WATCH_EVENT payload %s is not a path and a token", ErrProtocol, quoteShort(payload))
	}
	ev := Event{Path: f[0], Token: f[1]}
	c.mu.Lock()
	w := c.watches[ev.Token]
	c.mu.Unlock()
	if w != nil {
		w.push(ev)
	}
	return nil
}

func (w *Watch) push(ev Event) {
	w.mu.Lock()
	if w.ended {
		w.mu.Unlock()
		return
	}
	w.queue = append(w.queue, ev)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// end stops queueing; the channel closes once the queue is empty.
func (w *Watch) end(err error) {
	w.mu.Lock()
	if !w.ended {
		w.ended = true
		w.err = err
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// endNow stops queueing and closes the channel at once.
func (w *Watch) endNow(err error) {
	w.end(err)
	w.stopNow()
}

func (w *Watch) stopNow() {
	w.stopMu.Do(func() { close(w.stop) })
}

// Drain takes every event queued on the watch without waiting, oldest
// first, and returns nil when there is none. After [Client.Sync], it
// returns exactly the events caused by the requests that completed before
// Sync, less those already received from [Watch.Events]. Events are never
// both drained and sent on the channel.
func (w *Watch) Drain() []Event {
	r := make(chan []Event, 1)
	select {
	case w.drain <- r:
		return <-r
	case <-w.pumpDone:
		return nil
	}
}

// pump moves events from the queue to the channel, one at a time, and
// serves Drain. It is the only sender on w.out.
func (w *Watch) pump() {
	defer close(w.pumpDone)
	defer close(w.out)
	var (
		ev   Event
		have bool // ev is taken from the queue and not yet delivered
	)
	takeAll := func() []Event {
		w.mu.Lock()
		defer w.mu.Unlock()
		var evs []Event
		if have {
			evs = append(evs, ev)
			have = false
		}
		evs = append(evs, w.queue...)
		w.queue = nil
		return evs
	}
	for {
		if !have {
			w.mu.Lock()
			if len(w.queue) > 0 {
				ev, have = w.queue[0], true
				w.queue[0] = Event{}
				w.queue = w.queue[1:]
			} else if w.ended {
				w.mu.Unlock()
				return
			}
			w.mu.Unlock()
		}
		if have {
			select {
			case w.out <- ev:
				have = false
			case r := <-w.drain:
				r <- takeAll()
			case <-w.stop:
				return
			}
			continue
		}
		select {
		case <-w.wake:
		case r := <-w.drain:
			r <- takeAll()
		case <-w.stop:
			return
		}
	}
}
