package checker

import (
	"encoding/binary"
	"math/bits"

	fp "github.com/xbcheck/xbcheck/internal/fingerprint"
)

// The breadth-first frontier, stored compactly. A level's states are kept
// in runs: each run a sequence of states, each but the first of every
// chunkStates coded as its difference from the state before it (a key
// state, every chunkStates-th, is stored whole, so a worker can decode a
// chunk of the frontier on its own). Successive states of a level are
// mostly siblings and cousins, which differ in a few bytes: a state of
// 136 bytes takes about 10 to 20. A level's runs are written in parallel,
// each from a series of chunks of the level before that one worker took
// one after the other (writeRuns), in frontier order.
//
// The candidates of a level (successors not yet known to be new) are kept
// the same way, each as its difference from its parent, which the expand
// phase has decoded and the assemble phase decodes again.

// A run is a sequence of delta-coded states.
type run struct {
	data []byte
	keys []uint32 // the byte offset of every chunkStates-th state, stored whole
	// fps, when not nil, is the fingerprint of every state as the seen
	// set holds it (nonzero): the expand phase updates a state's raw
	// fingerprint for each successor instead of computing it whole
	// (fingerprint.Table.UpdateDiff), and the raw one is this one except
	// when it is 0 (see parentFP).
	fps  []uint64
	n    int
	last []byte // the last state appended (the base of the next delta)
}

func (r *run) reset() {
	r.data, r.keys, r.n = r.data[:0], r.keys[:0], 0
}

// add appends st.
func (r *run) add(st []byte) {
	if r.n%chunkStates == 0 {
		r.keys = append(r.keys, uint32(len(r.data)))
		r.data = append(r.data, st...)
	} else {
		r.data = appendDelta(r.data, r.last, st)
	}
	r.last = append(r.last[:0], st...)
	r.n++
}

func (r *run) capBytes() int64 {
	return int64(cap(r.data)) + int64(cap(r.keys))*4 + int64(cap(r.fps))*8 + int64(cap(r.last))
}

// decode writes chunk j of r (states j*chunkStates on, at most
// chunkStates) into out, size bytes each, and returns their number.
func (r *run) decode(j, size int, out []byte) int {
	n := min(chunkStates, r.n-j*chunkStates)
	o := int(r.keys[j])
	copy(out[:size], r.data[o:o+size])
	o += size
	for i := 1; i < n; i++ {
		st := out[i*size : (i+1)*size]
		copy(st, out[(i-1)*size:i*size])
		o += applyDelta(st, r.data[o:])
	}
	return n
}

// A frontier is one level's states: its runs, cut into chunks of at most
// chunkStates states (a run's chunk j starts at its key j).
type frontier struct {
	runs   []*run
	chunks []frontierChunk
	n      int
}

// A frontierChunk is chunk j of run r, whose first state is the level's
// base-th.
type frontierChunk struct {
	r    *run
	j    int
	base int
}

// newFrontier indexes the chunks of runs (nil runs are skipped).
func newFrontier(runs []*run) *frontier { return newFrontierIn(runs, nil, nil) }

// newFrontierIn is newFrontier with the frontier's arrays of chunks and
// runs in those of chunks and rs (emptied), which must not be used after.
func newFrontierIn(runs []*run, chunks []frontierChunk, rs []*run) *frontier {
	f := &frontier{chunks: chunks[:0], runs: rs[:0]}
	for _, r := range runs {
		if r == nil || r.n == 0 {
			continue
		}
		f.runs = append(f.runs, r)
		for j := range r.keys {
			f.chunks = append(f.chunks, frontierChunk{r: r, j: j, base: f.n})
			f.n += min(chunkStates, r.n-j*chunkStates)
		}
	}
	return f
}

// frontierOf stores states, size bytes each, as a frontier of one run.
func frontierOf(states []byte, size int) *frontier {
	r := &run{}
	for o := 0; o < len(states); o += size {
		r.add(states[o : o+size])
	}
	r.last = nil
	return newFrontier([]*run{r})
}

// each calls f with every state in order, decoded into a scratch buffer.
func (f *frontier) each(size int, fn func(st []byte)) {
	buf := make([]byte, chunkStates*size)
	for _, c := range f.chunks {
		n := c.r.decode(c.j, size, buf)
		for i := 0; i < n; i++ {
			fn(buf[i*size : (i+1)*size])
		}
	}
}

// bytes is the frontier's memory by capacity.
func (f *frontier) bytes() int64 {
	var b int64
	for _, r := range f.runs {
		b += r.capBytes()
	}
	return b + int64(cap(f.chunks))*24
}

// appendDelta appends to dst the difference of x from base (of the same
// length): runs of differing bytes, each as the number of equal bytes
// before it and its length (unsigned varints) and its bytes, a zero
// length ending the list. States are compared 8 bytes at a time; a run
// spans the differing bytes of consecutive words that differ.
func appendDelta(dst, base, x []byte) []byte {
	if len(x) > 8*fp.MaxDiffWords {
		return appendDeltaWide(dst, base, x)
	}
	return appendDeltaWords(dst, base, x, fp.DiffWords(base, x))
}

// appendDeltaMask is appendDelta given the mask of the words in which
// base and x differ (fp.Table.UpdateDiff), all ones when it is not known
// (under symmetry, or for states wider than fp.MaxDiffWords words).
func appendDeltaMask(dst, base, x []byte, mask uint64) []byte {
	if mask == ^uint64(0) {
		return appendDelta(dst, base, x)
	}
	return appendDeltaWords(dst, base, x, mask)
}

// xorWord is the xor of word j of base and x, the bytes past their end
// zero.
func xorWord(base, x []byte, j int) uint64 {
	i := j * 8
	if i+8 <= len(x) {
		return binary.LittleEndian.Uint64(base[i:]) ^ binary.LittleEndian.Uint64(x[i:])
	}
	var w uint64
	for k := 0; i+k < len(x); k++ {
		w |= uint64(base[i+k]^x[i+k]) << (8 * k)
	}
	return w
}

// appendDeltaWords is appendDelta given the mask of the words in which
// base and x differ (a superset will do: a word that does not differ
// adds nothing).
func appendDeltaWords(dst, base, x []byte, mask uint64) []byte {
	last := 0
	for mask != 0 {
		j := bits.TrailingZeros64(mask)
		mask &= mask - 1
		w := xorWord(base, x, j)
		if w == 0 {
			continue
		}
		start := j*8 + bits.TrailingZeros64(w)/8
		end := j*8 + 8 - bits.LeadingZeros64(w)/8
		// Words that differ right after, from their first byte on,
		// extend the run.
		for end == (j+1)*8 && mask&(1<<(j+1)) != 0 {
			w = xorWord(base, x, j+1)
			if w&0xff == 0 {
				break
			}
			j++
			mask &= mask - 1
			end = j*8 + 8 - bits.LeadingZeros64(w)/8
		}
		dst = appendRun(dst, start-last, x[start:end])
		last = end
	}
	return append(dst, 0, 0)
}

// appendDeltaWide is appendDelta for states of more than
// fp.MaxDiffWords words.
func appendDeltaWide(dst, base, x []byte) []byte {
	n, i, last := len(x), 0, 0
	for i < n {
		if i+8 > n {
			// The tail, a byte at a time.
			if base[i] == x[i] {
				i++
				continue
			}
			start := i
			for i < n && base[i] != x[i] {
				i++
			}
			dst = appendRun(dst, start-last, x[start:i])
			last = i
			continue
		}
		w := binary.LittleEndian.Uint64(base[i:]) ^ binary.LittleEndian.Uint64(x[i:])
		if w == 0 {
			i += 8
			continue
		}
		start := i + bits.TrailingZeros64(w)/8
		end := i + 8 - bits.LeadingZeros64(w)/8
		i += 8
		// Words that differ right after extend the run.
		for i+8 <= n && end == i {
			w = binary.LittleEndian.Uint64(base[i:]) ^ binary.LittleEndian.Uint64(x[i:])
			if w == 0 || w&0xff == 0 {
				break
			}
			end = i + 8 - bits.LeadingZeros64(w)/8
			i += 8
		}
		dst = appendRun(dst, start-last, x[start:end])
		last, i = end, end
	}
	return append(dst, 0, 0)
}

// appendRun appends one run: skip equal bytes, then b.
func appendRun(dst []byte, skip int, b []byte) []byte {
	if skip < 0x80 && len(b) < 0x80 {
		dst = append(dst, byte(skip), byte(len(b)))
	} else {
		dst = binary.AppendUvarint(dst, uint64(skip))
		dst = binary.AppendUvarint(dst, uint64(len(b)))
	}
	return append(dst, b...)
}

// skipDelta returns the bytes of the difference at the start of enc.
func skipDelta(enc []byte) int {
	o := 0
	for {
		_, l, k := runHead(enc[o:])
		o += k
		if l == 0 {
			return o
		}
		o += l
	}
}

// runHead decodes a run's skip and length, and the bytes they took.
func runHead(enc []byte) (skip, l, k int) {
	if enc[0] < 0x80 && enc[1] < 0x80 {
		return int(enc[0]), int(enc[1]), 2
	}
	s, k1 := binary.Uvarint(enc)
	n, k2 := binary.Uvarint(enc[k1:])
	return int(s), int(n), k1 + k2
}

// applyDelta changes st, holding the base, into the state enc codes, and
// returns the bytes of enc it used.
func applyDelta(st, enc []byte) int {
	o, i := 0, 0
	for {
		skip, l, k := runHead(enc[o:])
		o += k
		if l == 0 {
			return o
		}
		i += skip
		copy(st[i:i+l], enc[o:o+l])
		i += l
		o += l
	}
}
