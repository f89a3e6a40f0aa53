//go:build !linux

package checker

// A region is an arena's mapping: none here.
type region struct{}

func (r *region) unmap() {}

// mapArena maps nothing outside Linux: every block comes from the Go heap.
func mapArena(reserve int) ([]byte, *region) { return nil, nil }

func totalMemory() int64 { return 0 }

// collapseSmall does nothing: there is no mapping.
func collapseSmall(mem []byte) error { return nil }
