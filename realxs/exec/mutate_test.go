package exec_test

import (
	"context"
	"strings"
	"testing"

	"github.com/xbcheck/xbcheck/realxs"
	"github.com/xbcheck/xbcheck/realxs/exec"
)

// A wrongStore is a ModelStore with one deliberate error, to check that
// the executor notices: a replay that can never fail proves nothing.
type wrongStore struct {
	*exec.ModelStore
	mut string
}

func (s wrongStore) Write(ctx context.Context, p string, v []byte) error {
	if s.mut == "write-wrong-value" && len(v) == 1 && v[0] >= '1' && v[0] <= '8' {
		v = []byte{v[0] - 1}
	}
	return s.ModelStore.Write(ctx, p, v)
}

func (s wrongStore) Rm(ctx context.Context, p string) error {
	if s.mut == "rm-keeps-node" {
		return s.ModelStore.Write(ctx, p, nil)
	}
	return s.ModelStore.Rm(ctx, p)
}

func (s wrongStore) Watch(ctx context.Context, p, token string) (exec.Watcher, error) {
	w, err := s.ModelStore.Watch(ctx, p, token)
	if s.mut == "no-events" && err == nil {
		return deafWatcher{w}, nil
	}
	return w, err
}

func (s wrongStore) StartTransaction(ctx context.Context) (exec.Txn, error) {
	tx, err := s.ModelStore.StartTransaction(ctx)
	if err != nil || s.mut != "rm-keeps-node" {
		return tx, err
	}
	return rmKeepsTxn{tx}, nil
}

func (s wrongStore) Transact(ctx context.Context, fn func(realxs.Store) error) error {
	return s.ModelStore.Transact(ctx, func(tx realxs.Store) error {
		if s.mut == "rm-keeps-node" {
			tx = rmKeepsTxn{tx.(exec.Txn)}
		}
		return fn(tx)
	})
}

type rmKeepsTxn struct{ exec.Txn }

func (tx rmKeepsTxn) Rm(ctx context.Context, p string) error { return tx.Write(ctx, p, nil) }

type deafWatcher struct{ exec.Watcher }

func (deafWatcher) Drain() []realxs.Event { return nil }

func TestReplayCatchesWrongStores(t *testing.T) {
	for _, mut := range []string{"write-wrong-value", "rm-keeps-node", "no-events"} {
		t.Run(mut, func(t *testing.T) {
			caught := 0
			for _, c := range seedCounterexamples(t) {
				rep, err := exec.Replay(testCtx(t), wrongStore{exec.NewModelStore(), mut}, "/run", c.sys, c.ids)
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				if d := rep.Divergence; d != nil {
					caught++
					if d.Step > len(rep.Steps) || !strings.Contains(d.Error(), "divergence at") {
						t.Errorf("%s: bad divergence %v (after %d steps)", c.name, d, len(rep.Steps))
					}
				}
			}
			if caught == 0 {
				t.Errorf("no replay noticed the store's error %q", mut)
			}
			t.Logf("%s: caught in %d of %d replays", mut, caught, len(seedCounterexamples(t)))
		})
	}
}
