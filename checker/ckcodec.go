package checker

import (
	"bufio"
	"encoding/binary"
	"errors"
	"hash"
	"io"
)

// The checkpoint's encoding (checkpoint.go has the layout): a writer and a
// reader of unsigned varints, byte strings and arrays of fixed-size
// elements, through a CRC-32C of everything, the reader bounded by the
// file's size and by a memory limit on what it decodes.

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
	arrayBody(w, s, elem, put)
}

// pagedArrayOut writes a as array writes a slice of its elements.
func pagedArrayOut[T arenaElem](w *ckWriter, a *pagedArray[T], elem int, put func(b []byte, v T)) {
	w.int(a.len())
	a.each(func(s []T) { arrayBody(w, s, elem, put) })
}

// arrayBody writes the elements of s.
func arrayBody[T any](w *ckWriter, s []T, elem int, put func(b []byte, v T)) {
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
	s := make([]T, r.length(int64(elem)))
	readInto(r, s, elem, get)
	return s
}

// readPagedArray reads what pagedArrayOut (or array) wrote into a
// pagedArray, page by page, without holding it twice.
func readPagedArray[T arenaElem](r *ckReader, elem int, get func(b []byte) T) pagedArray[T] {
	var a pagedArray[T]
	n := r.length(int64(elem))
	a.reserve(n)
	a.setLen(n)
	a.each(func(s []T) { readInto(r, s, elem, get) })
	return a
}

// readInto reads len(s) elements of elem bytes, decoded by get, into s.
func readInto[T any](r *ckReader, s []T, elem int, get func(b []byte) T) {
	if r.arr == nil {
		r.arr = make([]byte, 1<<16)
	}
	per := len(r.arr) / elem
	for i := 0; i < len(s) && r.err == nil; i += per {
		k := min(per, len(s)-i)
		r.raw(r.arr[:k*elem])
		for j := range k {
			s[i+j] = get(r.arr[j*elem:])
		}
	}
}

func getU64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }
func getU32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
func getU16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }
func getI32(b []byte) int32  { return int32(binary.LittleEndian.Uint32(b)) }
func getBool(b []byte) bool  { return b[0] != 0 }
