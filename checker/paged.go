package checker

// A pagedArray is an array that grows by whole pages: making room never
// copies what it holds. (The transitions that found the states were a
// slice grown by growTo, which copied all of it, serially, each time it
// ran out of room, and held the old and the new array at once: 30 to 90
// ms a run on the N=3 family, and at N=4 a 520 MB array copied into a
// 650 MB one.)
type pagedArray[T any] struct {
	pages [][]T
	n     int
}

const (
	pageShift = 14
	pageLen   = 1 << pageShift
)

func (a *pagedArray[T]) len() int { return a.n }

func (a *pagedArray[T]) at(i int) T { return a.pages[i>>pageShift][i&(pageLen-1)] }

// push appends v; the array must have room (reserve).
func (a *pagedArray[T]) push(v T) {
	a.pages[a.n>>pageShift][a.n&(pageLen-1)] = v
	a.n++
}

// put sets element i, which reserve made room for (concurrent puts of
// different elements are safe); setLen then counts it in.
func (a *pagedArray[T]) put(i int, v T) { a.pages[i>>pageShift][i&(pageLen-1)] = v }

// setLen sets the number of elements, within the room reserve made.
func (a *pagedArray[T]) setLen(n int) { a.n = n }

// add appends v, making room when it has none.
func (a *pagedArray[T]) add(v T) {
	if a.n == len(a.pages)*pageLen {
		a.reserve(1)
	}
	a.push(v)
}

// pagesFor is the number of pages extra more elements need.
func (a *pagedArray[T]) pagesFor(extra int) int {
	return max(0, (a.n+extra+pageLen-1)>>pageShift-len(a.pages))
}

// reserve makes room for extra more elements.
func (a *pagedArray[T]) reserve(extra int) {
	for range a.pagesFor(extra) {
		a.pages = append(a.pages, make([]T, pageLen))
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
