package checker

import "testing"

// TestPagedArray: elements added across page boundaries read back in
// place, each gives them in order, and reserve allocates what growBytes
// says, only when the pages held have no room.
func TestPagedArray(t *testing.T) {
	var a pagedArray[int32]
	if got := a.growBytes(1, 4); got != pageLen*4 {
		t.Errorf("empty array: growBytes(1) = %d, want %d", got, pageLen*4)
	}
	n := 3*pageLen + 5
	for i := range n {
		a.reserve(1)
		a.put(i, int32(i))
		a.setLen(i + 1)
	}
	if a.len() != n || len(a.pages) != 4 {
		t.Fatalf("len %d in %d pages, want %d in 4", a.len(), len(a.pages), n)
	}
	for _, i := range []int{0, pageLen - 1, pageLen, 2*pageLen + 1, n - 1} {
		if a.at(i) != int32(i) {
			t.Errorf("at(%d) = %d", i, a.at(i))
		}
	}
	next := 0
	a.each(func(s []int32) {
		for _, v := range s {
			if v != int32(next) {
				t.Fatalf("each: element %d is %d", next, v)
			}
			next++
		}
	})
	if next != n {
		t.Errorf("each gave %d elements, want %d", next, n)
	}
	if got := a.growBytes(pageLen-5, 4); got != 0 {
		t.Errorf("growBytes(%d) = %d with room in the last page, want 0", pageLen-5, got)
	}
	if got := a.growBytes(pageLen-4, 4); got != pageLen*4 {
		t.Errorf("growBytes(%d) = %d, want a page (%d)", pageLen-4, got, pageLen*4)
	}
	a.reserve(2*pageLen - 4)
	if len(a.pages) != 6 {
		t.Errorf("reserve(%d) left %d pages, want 6", 2*pageLen-4, len(a.pages))
	}
}
