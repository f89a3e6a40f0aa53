//go:build amd64 || arm64

package fingerprint

import "unsafe"

// load64 is the little-endian 8-byte word at byte 8*j of b, whose data p
// points to, and which holds at least 8*j+8 bytes.
//
// On little-endian machines that load unaligned words in one instruction
// it is loaded through p, without the bounds check that
// binary.LittleEndian costs in UpdateDiff's loop (where the checks were
// about 45% of its time; BenchmarkUpdateDiff). words_portable.go is the
// version for the others.
func load64(b []byte, p unsafe.Pointer, j int) uint64 {
	return *(*uint64)(unsafe.Add(p, 8*j))
}
