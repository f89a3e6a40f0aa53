//go:build !(amd64 || arm64)

package fingerprint

import (
	"encoding/binary"
	"unsafe"
)

// load64 is the little-endian 8-byte word at byte 8*j of b (p, its data,
// is for words_unaligned.go's version).
func load64(b []byte, p unsafe.Pointer, j int) uint64 {
	return binary.LittleEndian.Uint64(b[8*j:])
}
