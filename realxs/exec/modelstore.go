package exec

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/xbcheck/xbcheck/realxs"
)

// ModelStore is an in-memory xenstore with the model's semantics (see
// package model, "Xenstore semantics", and docs/model.md): WRITE creates
// missing parents without events of their own, MKDIR of an existing node
// does nothing, RM of a missing node is no error (even when its parent is
// missing: the model's simplification, see [RmMissingParent]), watches
// fire on the path, its descendants and the removal of an ancestor, and
// once on registration; transactions work on a snapshot and commit by
// oxenstored's replay rule: a transaction that writes nothing commits,
// otherwise every value and listing it read must be unchanged.
//
// The executor uses it when no daemon is given, so that a replay works
// anywhere; a replay against it never diverges from the model (a test
// keeps it so). It is safe for concurrent use.
type ModelStore struct {
	mu      sync.Mutex
	nodes   map[string]string
	watches map[string]*memWatch // by token
}

// NewModelStore returns a store holding only the root node.
func NewModelStore() *ModelStore {
	return &ModelStore{nodes: map[string]string{"/": ""}, watches: map[string]*memWatch{}}
}

var _ Backend = (*ModelStore)(nil)

type memWatch struct {
	s     *ModelStore
	path  string
	token string
	queue []realxs.Event
}

func memParent(p string) string {
	if p == "/" {
		return ""
	}
	i := strings.LastIndexByte(p, '/')
	if i == 0 {
		return "/"
	}
	return p[:i]
}

// below reports whether n is p or below it.
func below(n, p string) bool {
	return n == p || p == "/" || strings.HasPrefix(n, p+"/")
}

func memErr(op realxs.Op, path string, err error) error {
	return &realxs.Error{Op: op.String(), Path: path, Err: err}
}

// memTree is a tree of nodes with the store operations; the store and
// each transaction's snapshot are one.
type memTree map[string]string

func (t memTree) write(p, v string) {
	for q := memParent(p); q != "" && !t.has(q); q = memParent(q) {
		t[q] = ""
	}
	t[p] = v
}

func (t memTree) has(p string) bool { _, ok := t[p]; return ok }

// rm removes p and its subtree and reports whether it existed.
func (t memTree) rm(p string) bool {
	if !t.has(p) {
		return false
	}
	for n := range t {
		if below(n, p) {
			delete(t, n)
		}
	}
	if p == "/" {
		t["/"] = ""
	}
	return true
}

func (t memTree) children(p string) []string {
	var out []string
	for n := range t {
		if n != "/" && memParent(n) == p {
			out = append(out, n[strings.LastIndexByte(n, '/')+1:])
		}
	}
	slices.Sort(out)
	return out
}

func (s *ModelStore) fireWrite(p string) {
	for _, w := range s.watches {
		if below(p, w.path) {
			w.queue = append(w.queue, realxs.Event{Path: p, Token: w.token})
		}
	}
}

func (s *ModelStore) fireRm(p string) {
	for _, w := range s.watches {
		switch {
		case below(p, w.path):
			w.queue = append(w.queue, realxs.Event{Path: p, Token: w.token})
		case below(w.path, p):
			w.queue = append(w.queue, realxs.Event{Path: w.path, Token: w.token})
		}
	}
}

// Read implements [realxs.Store].
func (s *ModelStore) Read(_ context.Context, p string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.nodes[p]
	if !ok {
		return nil, memErr(realxs.OpRead, p, realxs.ENOENT)
	}
	return []byte(v), nil
}

// Write implements [realxs.Store].
func (s *ModelStore) Write(_ context.Context, p string, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	memTree(s.nodes).write(p, string(v))
	s.fireWrite(p)
	return nil
}

// Mkdir implements [realxs.Store].
func (s *ModelStore) Mkdir(_ context.Context, p string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !memTree(s.nodes).has(p) {
		memTree(s.nodes).write(p, "")
		s.fireWrite(p)
	}
	return nil
}

// Rm implements [realxs.Store].
func (s *ModelStore) Rm(_ context.Context, p string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if memTree(s.nodes).rm(p) {
		s.fireRm(p)
	}
	return nil
}

// Directory implements [realxs.Store].
func (s *ModelStore) Directory(_ context.Context, p string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !memTree(s.nodes).has(p) {
		return nil, memErr(realxs.OpDirectory, p, realxs.ENOENT)
	}
	return append([]string{}, memTree(s.nodes).children(p)...), nil
}

// GetPerms implements [realxs.Store]: every node belongs to dom0 (the
// model does not check permissions).
func (s *ModelStore) GetPerms(_ context.Context, p string) ([]realxs.Perm, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !memTree(s.nodes).has(p) {
		return nil, memErr(realxs.OpGetPerms, p, realxs.ENOENT)
	}
	return []realxs.Perm{{Domid: 0, Access: realxs.AccessNone}}, nil
}

// SetPerms implements [realxs.Store]: it only fires the watches.
func (s *ModelStore) SetPerms(_ context.Context, p string, _ []realxs.Perm) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !memTree(s.nodes).has(p) {
		return memErr(realxs.OpSetPerms, p, realxs.ENOENT)
	}
	s.fireWrite(p)
	return nil
}

// Sync implements [Backend]: events are queued as they happen.
func (s *ModelStore) Sync(context.Context) error { return nil }

// Watch implements [Backend].
func (s *ModelStore) Watch(_ context.Context, p, token string) (Watcher, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.watches[token]; dup {
		return nil, memErr(realxs.OpWatch, p, realxs.EEXIST)
	}
	w := &memWatch{s: s, path: p, token: token, queue: []realxs.Event{{Path: p, Token: token}}}
	s.watches[token] = w
	return w, nil
}

func (w *memWatch) Drain() []realxs.Event {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	q := w.queue
	w.queue = nil
	return q
}

func (w *memWatch) Unwatch(context.Context) error {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	if w.s.watches[w.token] != w {
		return memErr(realxs.OpUnwatch, w.path, realxs.ENOENT)
	}
	delete(w.s.watches, w.token)
	w.queue = nil
	return nil
}

// memTxn is a transaction: a snapshot, and the log of its requests (reads
// with what they saw, and writes) for the replay at commit.
type memTxn struct {
	s      *ModelStore
	snap   memTree
	log    []memReq
	writes bool
	ended  bool
}

// A memReq is one logged request: a read (key "v<path>" or "d<path>" and
// what it saw) or a write.
type memReq struct {
	key, saw string
	write    func(t memTree, fire bool)
}

// StartTransaction implements [Backend].
func (s *ModelStore) StartTransaction(context.Context) (Txn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &memTxn{s: s, snap: maps.Clone(s.nodes)}, nil
}

// Transact implements [Backend].
func (s *ModelStore) Transact(ctx context.Context, fn func(realxs.Store) error) error {
	for {
		tx, _ := s.StartTransaction(ctx)
		err := fn(tx)
		if err == nil {
			err = tx.Commit(ctx)
		} else {
			tx.Abort(ctx)
		}
		if !errors.Is(err, realxs.EAGAIN) {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// look is what a read of key sees in t.
func look(t memTree, key string) string {
	p := key[1:]
	if !t.has(p) {
		return "⊥"
	}
	if key[0] == 'v' {
		return "v:" + t[p]
	}
	return "d:" + strings.Join(t.children(p), "/")
}

func (tx *memTxn) done(op realxs.Op, p string) error {
	if tx.ended {
		return memErr(op, p, realxs.ErrTxDone)
	}
	return nil
}

func (tx *memTxn) Read(_ context.Context, p string) ([]byte, error) {
	if err := tx.done(realxs.OpRead, p); err != nil {
		return nil, err
	}
	saw := look(tx.snap, "v"+p)
	tx.log = append(tx.log, memReq{key: "v" + p, saw: saw})
	if saw == "⊥" {
		return nil, memErr(realxs.OpRead, p, realxs.ENOENT)
	}
	return []byte(tx.snap[p]), nil
}

func (tx *memTxn) Directory(_ context.Context, p string) ([]string, error) {
	if err := tx.done(realxs.OpDirectory, p); err != nil {
		return nil, err
	}
	saw := look(tx.snap, "d"+p)
	tx.log = append(tx.log, memReq{key: "d" + p, saw: saw})
	if saw == "⊥" {
		return nil, memErr(realxs.OpDirectory, p, realxs.ENOENT)
	}
	return append([]string{}, tx.snap.children(p)...), nil
}

func (tx *memTxn) GetPerms(ctx context.Context, p string) ([]realxs.Perm, error) {
	if _, err := tx.Read(ctx, p); err != nil {
		return nil, memErr(realxs.OpGetPerms, p, realxs.ENOENT)
	}
	return []realxs.Perm{{Domid: 0, Access: realxs.AccessNone}}, nil
}

func (tx *memTxn) defer_(f func(t memTree, fire bool)) {
	f(tx.snap, false)
	tx.writes = true
	tx.log = append(tx.log, memReq{write: f})
}

func (tx *memTxn) Write(_ context.Context, p string, v []byte) error {
	if err := tx.done(realxs.OpWrite, p); err != nil {
		return err
	}
	val := string(v)
	tx.defer_(func(t memTree, fire bool) {
		t.write(p, val)
		if fire {
			tx.s.fireWrite(p)
		}
	})
	return nil
}

func (tx *memTxn) Mkdir(_ context.Context, p string) error {
	if err := tx.done(realxs.OpMkdir, p); err != nil {
		return err
	}
	tx.defer_(func(t memTree, fire bool) {
		if !t.has(p) {
			t.write(p, "")
			if fire {
				tx.s.fireWrite(p)
			}
		}
	})
	return nil
}

func (tx *memTxn) Rm(_ context.Context, p string) error {
	if err := tx.done(realxs.OpRm, p); err != nil {
		return err
	}
	tx.defer_(func(t memTree, fire bool) {
		if t.rm(p) && fire {
			tx.s.fireRm(p)
		}
	})
	return nil
}

func (tx *memTxn) SetPerms(_ context.Context, p string, _ []realxs.Perm) error {
	if err := tx.done(realxs.OpSetPerms, p); err != nil {
		return err
	}
	if !tx.snap.has(p) {
		return memErr(realxs.OpSetPerms, p, realxs.ENOENT)
	}
	tx.defer_(func(t memTree, fire bool) {
		if t.has(p) && fire {
			tx.s.fireWrite(p)
		}
	})
	return nil
}

// Commit applies the oxenstored replay rule: a transaction that writes
// nothing commits; otherwise its requests are replayed in order on a
// copy of the current store, and it commits only if every read sees what
// it saw in the snapshot.
func (tx *memTxn) Commit(context.Context) error {
	if err := tx.done(realxs.OpTransactionEnd, ""); err != nil {
		return err
	}
	tx.ended = true
	s := tx.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if !tx.writes {
		return nil
	}
	cp := maps.Clone(memTree(s.nodes))
	for _, q := range tx.log {
		if q.write != nil {
			q.write(cp, false)
		} else if look(cp, q.key) != q.saw {
			return memErr(realxs.OpTransactionEnd, "", realxs.EAGAIN)
		}
	}
	for _, q := range tx.log {
		if q.write != nil {
			q.write(s.nodes, true)
		}
	}
	return nil
}

func (tx *memTxn) Abort(context.Context) error {
	if err := tx.done(realxs.OpTransactionEnd, ""); err != nil {
		return err
	}
	tx.ended = true
	return nil
}
