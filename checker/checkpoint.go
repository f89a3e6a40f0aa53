package checker

import (
	"bufio"
	"errors"
	"fmt"
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
	checkpointFormat = 4 // 2: the fingerprint set by segment; 3: fingerprints by tabulation (fp.Table); 4: the reduced states' edges (cycle.go)
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
	// cycleCheck: the reduction's cycle proviso is checked after the
	// search (the body holds the reduced states' edges), not applied as
	// it goes.
	cycleCheck bool
	hashSeed   uint64
	size       int
	wide       bool
	init       []byte
	props      []string // name and kind, "name/kind"
}

func newCkHeader(m Model, props []Property, opt Options, pl plan) ckHeader {
	h := ckHeader{
		version:    opt.Version,
		identity:   opt.Identity,
		exact:      pl.exact,
		graph:      pl.graph,
		symmetry:   pl.newCanon != nil,
		ample:      pl.reduces(),
		cycleCheck: pl.checksCycles(),
		hashSeed:   opt.HashSeed,
		size:       m.Size(),
		wide:       !narrowIDs(m),
		init:       m.InitialState(),
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
	case h.cycleCheck != want.cycleCheck:
		return fmt.Sprintf("made with the breadth-first cycle proviso %s, this check has it %s", onoff(!h.cycleCheck), onoff(!want.cycleCheck))
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
		cw.search(s, c.head.size)
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

func (w *ckWriter) header(h ckHeader) {
	w.raw([]byte(checkpointMagic))
	w.int(checkpointFormat)
	w.str(h.version)
	w.str(h.identity)
	w.bool(h.exact)
	w.bool(h.graph)
	w.bool(h.symmetry)
	w.bool(h.ample)
	w.bool(h.cycleCheck)
	w.uint(h.hashSeed)
	w.int(h.size)
	w.bool(h.wide)
	w.bytes(h.init)
	w.int(len(h.props))
	for _, p := range h.props {
		w.str(p)
	}
}

func (w *ckWriter) search(s *search, size int) {
	for _, v := range []int{s.depth, s.levelStart, s.total, s.curN, s.transitions, int(s.reduced)} {
		w.int(v)
	}
	for _, d := range []time.Duration{s.elapsed, s.expandT, s.insertT, s.assembleT} {
		w.int(int(d))
	}
	// The frontier's states, whole.
	w.int(s.curN * size)
	s.front.each(size, w.raw)
	if s.via.wide {
		pagedArrayOut(w, &s.via.v32, 4, putI32)
	} else {
		pagedArrayOut(w, &s.via.v16, 2, putU16)
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
		w.int(s.fset.len())
		w.int(fpSegs)
		for i := range s.fset.segs {
			array(w, s.fset.segs[i].keys, 8, putU64)
		}
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
	w.int(len(s.cyc.blocks))
	for _, b := range s.cyc.blocks {
		array(w, b, 8, putU64)
	}
	w.int(int(s.cyc.back))
	w.int(len(s.found))
	for _, f := range s.found {
		w.bool(f != nil)
		if f != nil {
			array(w, f.Path, 4, putI32)
			w.int(f.Loop + 1)
		}
	}
}

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
	h.exact, h.graph, h.symmetry, h.ample, h.cycleCheck = r.bool(), r.bool(), r.bool(), r.bool(), r.bool()
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
	s := &search{via: vias{wide: h.wide}}
	const maxN = math.MaxUint32
	s.depth, s.levelStart, s.total, s.curN, s.transitions = r.int(maxN), r.int(maxN), r.int(maxN), r.int(maxN), r.int(math.MaxInt64>>1)
	s.reduced = int64(r.int(maxN))
	for _, d := range []*time.Duration{&s.elapsed, &s.expandT, &s.insertT, &s.assembleT} {
		*d = time.Duration(r.int(math.MaxInt64 >> 1))
	}
	s.front = r.frontier(s.curN, h.size)
	if s.via.wide {
		s.via.v32 = readPagedArray(r, 4, getI32)
	} else {
		s.via.v16 = readPagedArray(r, 2, getU16)
	}
	s.setArena(newArena(searchArenaBytes())) // (what was read is the Go heap's)
	s.parents.n = r.int(math.MaxInt64 >> 1)
	s.parents.words = readArray(r, 8, getU64)
	if r.err == nil && (s.parents.n > len(s.parents.words)*64 || len(s.parents.words) > s.parents.n/64+1) {
		r.fail(errDamaged)
	}
	s.parents.reindex()
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
		fs := &fpset{mem: s.mem}
		n := r.int(maxN)
		if segs := r.int(fpSegs); r.err == nil && segs != fpSegs {
			r.fail(errDamaged)
		}
		stored := 0
		for i := 0; i < fpSegs && r.err == nil; i++ {
			g := &fs.segs[i]
			keys := readArray(r, 8, getU64)
			if r.err == nil && len(keys) == 0 {
				r.fail(errDamaged)
			}
			if r.err != nil {
				break
			}
			g.rebuild(keys, fs.mem)
			stored += g.n
		}
		if r.err == nil && stored != n {
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
	nb := r.length(1)
	for i := 0; i < nb && r.err == nil; i++ {
		b := readArray(r, 8, getU64)
		if len(b) == 0 || len(b) > cycleBlock || len(b)%2 != 0 || i < nb-1 && len(b) != cycleBlock {
			r.fail(errDamaged)
		}
		s.cyc.blocks = append(s.cyc.blocks, b)
	}
	s.cyc.back = int64(r.int(math.MaxInt64 >> 1))
	if r.err == nil && (s.cyc.back > int64(s.cyc.n()) || !h.cycleCheck && nb > 0) {
		r.fail(errDamaged)
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
	if r.err == nil && (s.via.len() != s.total || s.levelStart+s.curN != s.total) {
		r.fail(errDamaged)
	}
	return s
}

// frontier reads n states of size bytes, whole, into a frontier, a state
// at a time.
func (r *ckReader) frontier(n, size int) *frontier {
	if l := r.length(1); r.err == nil && l != n*size {
		r.fail(errDamaged)
	}
	ru := &run{}
	st := make([]byte, size)
	for i := 0; i < n && r.err == nil; i++ {
		r.raw(st)
		ru.add(st)
	}
	ru.last = nil
	return newFrontier([]*run{ru})
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
