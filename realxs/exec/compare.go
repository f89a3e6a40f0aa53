package exec

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/go-cmp/cmp"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/realxs"
	"github.com/xbcheck/xbcheck/realxs/conform"
)

// ReadStore reads the model's paths back from the backend.
func (r *Session) ReadStore(ctx context.Context) (map[string]string, error) {
	saved := r.strict
	r.strict = false
	defer func() { r.strict = saved }()
	return r.readStore(ctx)
}

// compare reads the store and the events back and compares them with the
// model's state r.st (the state after step n).
func (r *Session) compare(ctx context.Context, n int, pre model.State) error {
	sys := r.sys
	if err := r.b.Sync(ctx); err != nil {
		return err
	}
	for w, wt := range r.watchers {
		evs := wt.Drain()
		if len(evs) > 0 {
			r.pending[w] = true
			if r.cur.Events == nil {
				r.cur.Events = map[string]int{}
			}
			r.cur.Events[sys.Watches[w].Name] += len(evs)
		}
		if len(evs) > 1 || len(evs) == 1 && pre != nil && sys.WatchPending(pre, w) {
			r.rep.Known[EventMultiplicity]++
		}
	}
	if r.e.Observed != nil {
		return nil // the observer compares
	}
	got, err := r.readStore(ctx)
	if err != nil {
		return err
	}
	if d := cmp.Diff(sys.Store(r.st), got); d != "" {
		r.diverge(n, "store", "store below the root (-model +daemon):\n"+d)
		return nil
	}
	wantW, gotW := map[string]string{}, map[string]string{}
	for i := range sys.Watches {
		w := model.WatchID(i)
		state := func(reg, pend bool) string {
			switch {
			case !reg:
				return "off"
			case pend:
				return "pending"
			}
			return "on"
		}
		wantW[sys.Watches[i].Name] = state(sys.WatchRegistered(r.st, w), sys.WatchPending(r.st, w))
		gotW[sys.Watches[i].Name] = state(r.watchers[w] != nil, r.pending[w])
	}
	r.tolerate(n, pre, wantW, gotW)
	if d := cmp.Diff(wantW, gotW); d != "" {
		r.diverge(n, "watch", "watches (-model +daemon; pending: an event came that no handler took yet):\n"+d)
	}
	return nil
}

// readStore reads the store back: the whole subtree below the root, or
// (on a live host) the model's own paths.
func (r *Session) readStore(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	if !r.strict {
		for i := range r.sys.Paths {
			v, err := r.b.Read(ctx, r.mapPath(r.sys.Paths[i].Name))
			if errors.Is(err, realxs.ENOENT) {
				continue
			} else if err != nil {
				return nil, err
			}
			out[r.sys.Paths[i].Name] = string(v)
		}
		return out, nil
	}
	var walk func(p string) error
	walk = func(p string) error {
		v, err := r.b.Read(ctx, p)
		if errors.Is(err, realxs.ENOENT) {
			return nil
		} else if err != nil {
			return err
		}
		out[r.unmap(p)] = string(v)
		kids, err := r.b.Directory(ctx, p)
		if errors.Is(err, realxs.ENOENT) {
			return nil
		} else if err != nil {
			return err
		}
		for _, k := range kids {
			if err := walk(p + "/" + k); err != nil {
				return err
			}
		}
		return nil
	}
	return out, walk(r.root)
}

func (r *Session) checkRead(p model.PathID, v []byte, err error, cur model.State) error {
	sys := r.sys
	if err != nil && !errors.Is(err, realxs.ENOENT) {
		return err
	}
	got := "⊥"
	if err == nil {
		got = fmt.Sprintf("%q", v)
	}
	if r.opaque(p) && (err == nil) == sys.Exists(cur, p) {
		return nil
	}
	if want := sys.FormatValue(sys.Get(cur, p)); want != got {
		return &Divergence{What: "read", Diff: fmt.Sprintf("READ %s: model %s, daemon %s", sys.Paths[p].Name, want, got)}
	}
	return nil
}

// opaque reports whether p's value is compared by presence.
func (r *Session) opaque(p model.PathID) bool {
	return conform.IsOpaque(r.e.Opaque, r.sys.Paths[p].Name)
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
