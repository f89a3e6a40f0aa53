package checker

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"os"
	"time"

	"github.com/xbcheck/xbcheck/internal/atomicfile"
)

// A checkpoint is the explorer's state at the start of a level (search):
// the seen set, the frontier, the parent links, the graph of the
// eventually-properties, the violations found so far and the counters.
// Resuming from it runs exactly the levels the interrupted search had
// left, so the verdict, the counts and the counterexamples are those of
// an uninterrupted run.
//
// The file is written through a temporary file, synced and renamed over
// the previous one, so a run killed at any point leaves the last complete
// checkpoint. Its layout (little-endian, unsigned varints for numbers):
//
//	magic "xbcheck checkpoint\n", format version
//	header: the program's version, the caller's identity (the scenario
//	  and its digest), the plan (exact, graph, symmetry, partial-order
//	  reduction, hash seed), the model (state size, transition-id width,
//	  initial state) and the properties (names and kinds)
//	body: counters, frontier, parent links, seen set, graph, violations
//	CRC-32C of everything before it
//
// A checkpoint whose format, version, identity, plan, model or properties
// differ from the check's is refused with one line saying which.

const (
	checkpointMagic  = "xbcheck checkpoint\n"
	checkpointFormat = 1
	// DefaultCheckpointEvery is how often a checkpoint is written when
	// Options.CheckpointEvery is 0.
	DefaultCheckpointEvery = 10 * time.Minute
)

// CheckpointInfo describes a checkpoint.
type CheckpointInfo struct {
	Path string `json:"path"`
	// Depth is the level the search resumes at, and States the states
	// found by then.
	Depth  int       `json:"depth"`
	States int       `json:"states"`
	Bytes  int64     `json:"bytes"`
	Time   time.Time `json:"time"`
}

// A CheckpointError is a checkpoint that could not be written, or read
// and used to resume.
type CheckpointError struct {
	Op   string // "write" or "resume"
	Path string
	Err  error
}

func (e *CheckpointError) Error() string {
	return fmt.Sprintf("checkpoint %s %s: %v", e.Op, e.Path, e.Err)
}

func (e *CheckpointError) Unwrap() error { return e.Err }

// ckHeader is what must match for a checkpoint to be resumed.
type ckHeader struct {
	version  string
	identity string
	exact    bool
	graph    bool
	symmetry bool
	ample    bool
	hashSeed uint64
	size     int
	wide     bool
	init     []byte
	props    []string // name and kind, "name/kind"
}

func newCkHeader(m Model, props []Property, opt Options, pl plan) ckHeader {
	h := ckHeader{
		version:  opt.Version,
		identity: opt.Identity,
		exact:    pl.exact,
		graph:    pl.graph,
		symmetry: pl.newCanon != nil,
		ample:    pl.reduces(),
		hashSeed: opt.HashSeed,
		size:     m.Size(),
		wide:     true,
		init:     m.InitialState(),
	}
	if nt, ok := m.(numTransitions); ok && nt.NumTransitions() < 1<<16 {
		h.wide = false
	}
	for _, p := range props {
		h.props = append(h.props, p.Name+"/"+string(p.Kind))
	}
	return h
}

// mismatch says how a checkpoint's header h differs from want, or "".
func (h ckHeader) mismatch(want ckHeader) string {
	onoff := func(b bool) string {
		if b {
			return "on"
		}
		return "off"
	}
	switch {
	case h.version != want.version:
		return fmt.Sprintf("written by xbcheck %s, this is %s", h.version, want.version)
	case h.identity != want.identity:
		return fmt.Sprintf("a checkpoint of %s, not of %s", h.identity, want.identity)
	case h.exact != want.exact:
		return fmt.Sprintf("made with exact states %s, this check has them %s", onoff(h.exact), onoff(want.exact))
	case h.symmetry != want.symmetry:
		return fmt.Sprintf("made with symmetry reduction %s, this check has it %s", onoff(h.symmetry), onoff(want.symmetry))
	case h.ample != want.ample:
		return fmt.Sprintf("made with partial-order reduction %s, this check has it %s", onoff(h.ample), onoff(want.ample))
	case h.hashSeed != want.hashSeed:
		return fmt.Sprintf("made with hash seed %d, this check has %d", h.hashSeed, want.hashSeed)
	case h.graph != want.graph || fmt.Sprint(h.props) != fmt.Sprint(want.props):
		return fmt.Sprintf("made for the properties %v, this check has %v", h.props, want.props)
	case h.size != want.size || h.wide != want.wide || string(h.init) != string(want.init):
		return "made for another model (state size, transitions or initial state differ)"
	}
	return ""
}

// checkpointer writes a check's checkpoints.
type checkpointer struct {
	path  string
	every time.Duration
	last  time.Time
	head  ckHeader
	prog  *progress
	info  *CheckpointInfo // the last written
}

func (c *checkpointer) due() bool { return time.Since(c.last) >= c.every }

// write saves s atomically.
func (c *checkpointer) write(s *search) error {
	var n int64
	err := atomicfile.WriteFunc(c.path, 0o644, func(w io.Writer) error {
		cw := &ckWriter{w: bufio.NewWriterSize(w, 1<<20), crc: crc32.New(crc32.MakeTable(crc32.Castagnoli))}
		cw.header(c.head)
		cw.search(s)
		if cw.err != nil {
			return cw.err
		}
		sum := cw.crc.Sum32()
		cw.u32(sum)
		if cw.err != nil {
			return cw.err
		}
		n = cw.n
		return cw.w.Flush()
	})
	c.last = time.Now()
	if err != nil {
		return &CheckpointError{Op: "write", Path: c.path, Err: err}
	}
	c.info = &CheckpointInfo{Path: c.path, Depth: s.depth, States: s.total, Bytes: n, Time: c.last}
	if c.prog != nil {
		c.prog.checkpoint(*c.info)
	}
	return nil
}

// ckWriter encodes a checkpoint, keeping the first error.
type ckWriter struct {
	w   *bufio.Writer
	crc hash.Hash32
	n   int64
	err error
	buf [binary.MaxVarintLen64]byte
	arr []byte
}

func (w *ckWriter) raw(b []byte) {
	if w.err != nil {
		return
	}
	w.crc.Write(b)
	_, w.err = w.w.Write(b)
	w.n += int64(len(b))
}

func (w *ckWriter) uint(v uint64) { w.raw(binary.AppendUvarint(w.buf[:0], v)) }
func (w *ckWriter) int(v int)     { w.uint(uint64(v)) }
func (w *ckWriter) bool(b bool)   { w.uint(uint64(b2i(b))) }
func (w *ckWriter) bytes(b []byte) {
	w.int(len(b))
	w.raw(b)
}
func (w *ckWriter) str(s string) { w.bytes([]byte(s)) }
func (w *ckWriter) u32(v uint32) {
	w.raw(binary.LittleEndian.AppendUint32(w.buf[:0], v))
}

// array writes a length and the elements, elem bytes each, encoded by put
// into a bounded scratch (never a copy of the whole array).
func array[T any](w *ckWriter, s []T, elem int, put func(b []byte, v T)) {
	w.int(len(s))
	if w.arr == nil {
		w.arr = make([]byte, 1<<16)
	}
	per := len(w.arr) / elem
	for len(s) > 0 && w.err == nil {
		k := min(per, len(s))
		for i, v := range s[:k] {
			put(w.arr[i*elem:], v)
		}
		w.raw(w.arr[:k*elem])
		s = s[k:]
	}
}

func putU64(b []byte, v uint64) { binary.LittleEndian.PutUint64(b, v) }
func putU32(b []byte, v uint32) { binary.LittleEndian.PutUint32(b, v) }
func putU16(b []byte, v uint16) { binary.LittleEndian.PutUint16(b, v) }
func putI32(b []byte, v int32)  { binary.LittleEndian.PutUint32(b, uint32(v)) }
func putBool(b []byte, v bool)  { b[0] = byte(b2i(v)) }

func (w *ckWriter) header(h ckHeader) {
	w.raw([]byte(checkpointMagic))
	w.int(checkpointFormat)
	w.str(h.version)
	w.str(h.identity)
	w.bool(h.exact)
	w.bool(h.graph)
	w.bool(h.symmetry)
	w.bool(h.ample)
	w.uint(h.hashSeed)
	w.int(h.size)
	w.bool(h.wide)
	w.bytes(h.init)
	w.int(len(h.props))
	for _, p := range h.props {
		w.str(p)
	}
}

func (w *ckWriter) search(s *search) {
	for _, v := range []int{s.depth, s.levelStart, s.total, s.curN, s.transitions, int(s.reduced)} {
		w.int(v)
	}
	for _, d := range []time.Duration{s.elapsed, s.expandT, s.insertT, s.assembleT} {
		w.int(int(d))
	}
	w.bytes(s.cur)
	if s.wide {
		array(w, s.via32, 4, putI32)
	} else {
		array(w, s.via16, 2, putU16)
	}
	w.int(s.parents.n)
	array(w, s.parents.words, 8, putU64)
	if s.sset != nil {
		ss := s.sset
		w.int(int(ss.n.Load()))
		array(w, ss.keys, 8, putU64)
		array(w, ss.vals, 4, putU32)
		w.int(ss.count)
		for i := 0; i < ss.count; i += pageStates {
			w.raw(ss.pages[i/pageStates])
		}
	} else {
		w.int(int(s.fset.n.Load()))
		array(w, s.fset.keys, 8, putU64)
	}
	w.bool(s.g != nil)
	if g := s.g; g != nil {
		array(w, g.edgeOff, 4, putU32)
		array(w, g.edgeDst, 4, putU32)
		array(w, g.edgeAct, 4, putI32)
		array(w, g.edgeID, 4, putI32)
		array(w, g.edgeFault, 1, putBool)
		array(w, g.enabled, 8, putU64)
	}
	w.int(len(s.found))
	for _, f := range s.found {
		w.bool(f != nil)
		if f != nil {
			array(w, f.Path, 4, putI32)
			w.int(f.Loop + 1)
		}
	}
}

// errDamaged is a checkpoint that does not decode.
var errDamaged = errors.New("damaged or incomplete (the file does not decode; was it written by a run killed before its first checkpoint completed?)")

// ckReader decodes a checkpoint, keeping the first error, and refuses
// lengths the rest of the file cannot hold, so that a damaged file never
// makes it allocate more than its own size.
type ckReader struct {
	r    *bufio.Reader
	crc  hash.Hash32
	left int64 // bytes of the file not read yet
	err  error
	arr  []byte
	// alloc counts what the decoded arrays take, against limit (0: none).
	alloc, limit int64
}

var errCkBudget = errors.New("over budget")

func (r *ckReader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *ckReader) raw(b []byte) {
	if r.err != nil {
		return
	}
	if int64(len(b)) > r.left {
		r.fail(errDamaged)
		return
	}
	if _, err := io.ReadFull(r.r, b); err != nil {
		r.fail(errDamaged)
		return
	}
	r.crc.Write(b)
	r.left -= int64(len(b))
}

func (r *ckReader) uint() uint64 {
	if r.err != nil {
		return 0
	}
	var v uint64
	var s uint
	for i := 0; i < binary.MaxVarintLen64; i++ {
		var b [1]byte
		r.raw(b[:])
		if r.err != nil {
			return 0
		}
		if b[0] < 0x80 {
			return v | uint64(b[0])<<s
		}
		v |= uint64(b[0]&0x7f) << s
		s += 7
	}
	r.fail(errDamaged)
	return 0
}

// int reads a number that must be at most max.
func (r *ckReader) int(max int64) int {
	v := r.uint()
	if v > uint64(max) {
		r.fail(errDamaged)
		return 0
	}
	return int(v)
}

func (r *ckReader) bool() bool { return r.int(1) == 1 }

// length reads an array length of elements of elem bytes that must fit
// in the rest of the file, and counts it against the budget.
func (r *ckReader) length(elem int64) int {
	n := r.int(r.left / elem)
	r.alloc += int64(n) * elem
	if r.limit > 0 && r.alloc > r.limit && r.err == nil {
		r.err = errCkBudget
	}
	if r.err != nil {
		return 0
	}
	return n
}

func (r *ckReader) bytes() []byte {
	n := r.length(1)
	b := make([]byte, n)
	r.raw(b)
	return b
}

func (r *ckReader) str() string { return string(r.bytes()) }

func (r *ckReader) u32() uint32 {
	var b [4]byte
	r.raw(b[:])
	return binary.LittleEndian.Uint32(b[:])
}

func readArray[T any](r *ckReader, elem int, get func(b []byte) T) []T {
	n := r.length(int64(elem))
	s := make([]T, n)
	if r.arr == nil {
		r.arr = make([]byte, 1<<16)
	}
	per := len(r.arr) / elem
	for i := 0; i < n && r.err == nil; i += per {
		k := min(per, n-i)
		r.raw(r.arr[:k*elem])
		for j := range k {
			s[i+j] = get(r.arr[j*elem:])
		}
	}
	return s
}

func getU64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }
func getU32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
func getU16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }
func getI32(b []byte) int32  { return int32(binary.LittleEndian.Uint32(b)) }
func getBool(b []byte) bool  { return b[0] != 0 }

func (r *ckReader) header() ckHeader {
	magic := make([]byte, len(checkpointMagic))
	r.raw(magic)
	if r.err != nil || string(magic) != checkpointMagic {
		r.err = errors.New("not an xbcheck checkpoint")
		return ckHeader{}
	}
	if f := r.uint(); r.err == nil && f != checkpointFormat {
		r.fail(fmt.Errorf("checkpoint format %d, this xbcheck reads format %d", f, checkpointFormat))
		return ckHeader{}
	}
	var h ckHeader
	h.version = r.str()
	h.identity = r.str()
	h.exact, h.graph, h.symmetry, h.ample = r.bool(), r.bool(), r.bool(), r.bool()
	h.hashSeed = r.uint()
	h.size = r.int(1 << 30)
	h.wide = r.bool()
	h.init = r.bytes()
	n := r.length(1)
	for i := 0; i < n && r.err == nil; i++ {
		h.props = append(h.props, r.str())
	}
	return h
}

// readSearch decodes the body into a search for model m.
func (r *ckReader) search(m Model, h ckHeader) *search {
	s := &search{wide: h.wide}
	const maxN = math.MaxUint32
	s.depth, s.levelStart, s.total, s.curN, s.transitions = r.int(maxN), r.int(maxN), r.int(maxN), r.int(maxN), r.int(math.MaxInt64>>1)
	s.reduced = int64(r.int(maxN))
	for _, d := range []*time.Duration{&s.elapsed, &s.expandT, &s.insertT, &s.assembleT} {
		*d = time.Duration(r.int(math.MaxInt64 >> 1))
	}
	s.cur = r.bytes()
	if r.err == nil && len(s.cur) != s.curN*h.size {
		r.fail(errDamaged)
	}
	if s.wide {
		s.via32 = readArray(r, 4, getI32)
	} else {
		s.via16 = readArray(r, 2, getU16)
	}
	s.parents.n = r.int(math.MaxInt64 >> 1)
	s.parents.words = readArray(r, 8, getU64)
	if h.exact {
		ss := newStateSet(h.size)
		n := r.int(maxN)
		ss.keys = readArray(r, 8, getU64)
		ss.vals = readArray(r, 4, getU32)
		ss.count = r.int(maxN)
		ss.n.Store(int64(n))
		pages := (ss.count + pageStates - 1) / pageStates
		r.alloc += int64(pages) * pageStates * int64(h.size)
		if r.limit > 0 && r.alloc > r.limit && r.err == nil {
			r.err = errCkBudget
		}
		if r.err == nil && int64(ss.count)*int64(h.size) > r.left {
			r.fail(errDamaged)
		}
		for i := 0; i < ss.count && r.err == nil; i += pageStates {
			k := min(pageStates, ss.count-i)
			p := make([]byte, k*h.size, pageStates*h.size)
			r.raw(p)
			ss.pages = append(ss.pages, p)
		}
		if r.err == nil && (len(ss.keys) != len(ss.vals) || len(ss.keys) == 0 || ss.count != s.total) {
			r.fail(errDamaged)
		}
		s.sset = ss
	} else {
		fs := &fpset{}
		n := r.int(maxN)
		fs.keys = readArray(r, 8, getU64)
		fs.n.Store(int64(n))
		if r.err == nil && len(fs.keys) == 0 {
			r.fail(errDamaged)
		}
		s.fset = fs
	}
	if hasGraph := r.bool(); hasGraph {
		g := newGraph(m)
		g.edgeOff = readArray(r, 4, getU32)
		g.edgeDst = readArray(r, 4, getU32)
		g.edgeAct = readArray(r, 4, getI32)
		g.edgeID = readArray(r, 4, getI32)
		g.edgeFault = readArray(r, 1, getBool)
		g.enabled = readArray(r, 8, getU64)
		s.g = g
	}
	nf := r.int(int64(len(h.props)))
	if r.err == nil && nf != len(h.props) {
		r.fail(errDamaged)
	}
	s.found = make([]*Counterexample, nf)
	for i := 0; i < nf && r.err == nil; i++ {
		if r.bool() {
			path := readArray(r, 4, getI32)
			loop := r.int(maxN) - 1
			s.found[i] = &Counterexample{Path: path, Loop: loop}
		}
	}
	if r.err == nil && (len(s.via16)+len(s.via32) != s.total || s.levelStart+s.curN != s.total) {
		r.fail(errDamaged)
	}
	return s
}

// readCheckpoint reads the checkpoint at path for a check of m under want,
// within limit bytes of decoded arrays (0: no limit). overBudget is true
// when the checkpoint does not fit.
func readCheckpoint(path string, m Model, props []Property, want ckHeader, limit int64) (s *search, overBudget bool, err error) {
	ckErr := func(err error) error { return &CheckpointError{Op: "resume", Path: path, Err: err} }
	f, err := os.Open(path)
	if err != nil {
		return nil, false, ckErr(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, false, ckErr(err)
	}
	r := &ckReader{r: bufio.NewReaderSize(f, 1<<20), crc: crc32.New(crc32.MakeTable(crc32.Castagnoli)), left: fi.Size() - 4, limit: limit}
	h := r.header()
	if r.err != nil {
		return nil, false, ckErr(r.err)
	}
	if why := h.mismatch(want); why != "" {
		return nil, false, ckErr(errors.New(why))
	}
	s = r.search(m, h)
	if r.err == errCkBudget {
		return nil, true, nil
	}
	if r.err == nil && r.left != 0 {
		r.fail(errDamaged)
	}
	if r.err != nil {
		return nil, false, ckErr(r.err)
	}
	sum := r.crc.Sum32()
	r.left = 4
	if got := r.u32(); r.err != nil || got != sum {
		return nil, false, ckErr(errDamaged)
	}
	for i, f := range s.found {
		if f != nil {
			f.Property, f.Kind = props[i].Name, props[i].Kind
		}
	}
	return s, false, nil
}
