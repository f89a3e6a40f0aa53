package checker

import (
	"sync"
	"syscall"
)

// hugePage is the size of a transparent huge page on x86-64 and arm64
// with 4 KB pages: the arena's start is aligned to it.
const hugePage = 2 << 20

// madvHugepage is MADV_HUGEPAGE (linux/mman.h), which package syscall
// does not name.
const madvHugepage = 14

// A region is an arena's mapping, unmapped once.
type region struct {
	once sync.Once
	all  []byte // the whole mapping, alignment included
}

func (r *region) unmap() { r.once.Do(func() { syscall.Munmap(r.all) }) }

// mapArena reserves reserve bytes of address space (MAP_NORESERVE: no
// memory is committed until written), aligned to a huge page, and asks
// for huge pages there. It returns nil when the system refuses.
func mapArena(reserve int) ([]byte, *region) {
	all, err := syscall.Mmap(-1, 0, reserve+hugePage, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		return nil, nil
	}
	r := &region{all: all}
	skip := 0
	if rem := addrOf(all) % hugePage; rem != 0 {
		skip = int(hugePage - rem)
	}
	mem := all[skip : skip+reserve : skip+reserve]
	// Huge pages past the first smallArena bytes only: a small search
	// (most of a test suite's, a simulation's) writes little, and a huge
	// page's first fault clears 2 MB. Without transparent huge pages (or
	// with them off), the advice fails and changes nothing.
	if len(mem) > smallArena {
		_ = syscall.Madvise(mem[smallArena:], madvHugepage)
	}
	return mem, r
}

// madvCollapse is MADV_COLLAPSE (linux/mman.h, Linux 6.1).
const madvCollapse = 25

// collapseSmall is called once, when an arena mem first hands out memory
// past its first smallArena bytes: the search is not a small one, and
// what lives there would stay in 4 KB pages. They are asked to become
// huge pages too (MADV_HUGEPAGE) and are collapsed into them now
// (MADV_COLLAPSE: the kernel copies them into two huge pages, live
// writes waiting). Why: those 4 MB hold what the search allocated first,
// among it the seen set's segments that grew first and worker 0's
// slabs, accessed at random for many levels after; in 4 KB pages each
// access is a TLB miss, a costly one in a virtual machine (two-level
// page walks). On the N = 3 family with two workers, inserting took each
// worker 86 to 96 ms with the collapse, against 102 to 112 ms for the
// worker that inserts the upper half of the segments and 116 to 138 for
// the other without it, which then waited for it. The collapse itself
// took 0.9 to 5.4 ms there. Where the kernel does not know the advice
// (before 6.1), or has no transparent huge pages, nothing changes.
func collapseSmall(mem []byte) error {
	if len(mem) < smallArena {
		return nil
	}
	if err := syscall.Madvise(mem[:smallArena], madvHugepage); err != nil {
		return err
	}
	return syscall.Madvise(mem[:smallArena], madvCollapse)
}

// totalMemory is the machine's memory in bytes (0 when unknown).
func totalMemory() int64 {
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) != nil {
		return 0
	}
	return int64(si.Totalram) * int64(si.Unit)
}
