package checker

// A pagedArray is an array that grows by whole pages: making room never
// copies what it holds. (The transitions that found the states were a
// slice grown by growTo, which copied all of it, serially, each time it
// ran out of room, and held the old and the new array at once: 30 to 90
// ms a run on the N=3 family, and at N=4 a 520 MB array copied into a
// 650 MB one.)
type pagedArray[T arenaElem] struct {
	pages [][]T
	n     int
	mem   *arena // where the pages come from (nil: the Go heap)
}

const (
	pageShift = 14
	pageLen   = 1 << pageShift
)

func (a *pagedArray[T]) len() int { return a.n }

func (a *pagedArray[T]) at(i int) T { return a.pages[i>>pageShift][i&(pageLen-1)] }

// put sets element i, which reserve made room for (concurrent puts of
// different elements are safe); setLen then counts it in.
func (a *pagedArray[T]) put(i int, v T) { a.pages[i>>pageShift][i&(pageLen-1)] = v }

// setLen sets the number of elements, within the room reserve made.
func (a *pagedArray[T]) setLen(n int) { a.n = n }

// pagesFor is the number of pages extra more elements need.
func (a *pagedArray[T]) pagesFor(extra int) int {
	return max(0, (a.n+extra+pageLen-1)>>pageShift-len(a.pages))
}

// reserve makes room for extra more elements.
func (a *pagedArray[T]) reserve(extra int) {
	for range a.pagesFor(extra) {
		a.pages = append(a.pages, arenaMake[T](a.mem, pageLen))
	}
}

// growBytes is what reserve(extra) allocates, for elements of elem bytes.
func (a *pagedArray[T]) growBytes(extra int, elem int64) int64 {
	return int64(a.pagesFor(extra)) * pageLen * elem
}

// capBytes is what the array holds, for elements of elem bytes.
func (a *pagedArray[T]) capBytes(elem int64) int64 {
	return int64(len(a.pages))*pageLen*elem + int64(cap(a.pages))*24
}

// each calls f with the array's elements, a page at a time.
func (a *pagedArray[T]) each(f func([]T)) {
	for i, left := 0, a.n; left > 0; i, left = i+1, left-pageLen {
		f(a.pages[i][:min(left, pageLen)])
	}
}

// vias is the transition that found each state (-1 for the initial
// state), by state index: in 16 bits when the model's ids fit (wide is
// false), in 32 otherwise.
type vias struct {
	wide bool
	v16  pagedArray[uint16]
	v32  pagedArray[int32]
}

// setArena makes the next pages come from mem.
func (v *vias) setArena(mem *arena) { v.v16.mem, v.v32.mem = mem, mem }

func (v *vias) len() int { return v.v16.len() + v.v32.len() }

func (v *vias) at(g int) int32 {
	if v.wide {
		return v.v32.at(g)
	}
	return int32(v.v16.at(g))
}

// put sets the transition of state g, which reserve made room for
// (concurrent puts of different states are safe); setLen counts it in.
func (v *vias) put(g int, id int32) {
	if v.wide {
		v.v32.put(g, id)
	} else {
		v.v16.put(g, uint16(id))
	}
}

func (v *vias) setLen(n int) {
	if v.wide {
		v.v32.setLen(n)
	} else {
		v.v16.setLen(n)
	}
}

// reserve makes room for extra more states.
func (v *vias) reserve(extra int) {
	if v.wide {
		v.v32.reserve(extra)
	} else {
		v.v16.reserve(extra)
	}
}

// add appends the transition of the next state.
func (v *vias) add(id int32) {
	n := v.len()
	v.reserve(1)
	v.put(n, id)
	v.setLen(n + 1)
}

// growBytes is what reserve(extra) allocates.
func (v *vias) growBytes(extra int) int64 {
	if v.wide {
		return v.v32.growBytes(extra, 4)
	}
	return v.v16.growBytes(extra, 2)
}

// capBytes is what the array holds; lenBytes what its states use.
func (v *vias) capBytes() int64 { return v.v16.capBytes(2) + v.v32.capBytes(4) }

func (v *vias) lenBytes() int64 { return int64(v.v16.len())*2 + int64(v.v32.len())*4 }
