package realxs

import (
	"errors"
	"fmt"
	"strconv"
)

// An Access is the letter of a permission entry.
type Access byte

// The access letters of xenstore permissions.
const (
	AccessNone  Access = 'n'
	AccessRead  Access = 'r'
	AccessWrite Access = 'w'
	AccessBoth  Access = 'b' // read and write
)

// Valid reports whether a is one of the four access letters.
func (a Access) Valid() bool {
	switch a {
	case AccessNone, AccessRead, AccessWrite, AccessBoth:
		return true
	}
	return false
}

func (a Access) String() string {
	if a.Valid() {
		return string(rune(a))
	}
	return fmt.Sprintf("Access(%#x)", byte(a))
}

// A Perm is one permission entry, written on the wire as the access
// letter followed by the decimal domain id, such as "r5".
//
// In a node's list of permissions the first entry names the owner, and its
// access is what every domain not listed later gets; the owner itself
// always has full access. Later entries grant access to one domain each.
type Perm struct {
	Domid  uint32
	Access Access
}

// String formats p as it appears on the wire, such as "n0" or "b12".
func (p Perm) String() string {
	return string(rune(p.Access)) + strconv.FormatUint(uint64(p.Domid), 10)
}

var errBadPerm = errors.New("invalid permission")

// ParsePerm parses one permission entry such as "n0" or "r5": an access
// letter and a decimal domain id. Only plain decimal digits are accepted,
// although the daemons are laxer.
func ParsePerm(s string) (Perm, error) {
	if len(s) < 2 || !Access(s[0]).Valid() {
		return Perm{}, fmt.Errorf("%w %q", errBadPerm, s)
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return Perm{}, fmt.Errorf("%w %q", errBadPerm, s)
		}
	}
	d, err := strconv.ParseUint(s[1:], 10, 32)
	if err != nil {
		return Perm{}, fmt.Errorf("%w %q: domid out of range", errBadPerm, s)
	}
	return Perm{Domid: uint32(d), Access: Access(s[0])}, nil
}

// ParsePerms parses an XS_GET_PERMS reply payload: entries each followed
// by a NUL.
func ParsePerms(payload []byte) ([]Perm, error) {
	fields := splitStrings(payload)
	if len(fields) == 0 {
		return nil, fmt.Errorf("%w list: empty", errBadPerm)
	}
	perms := make([]Perm, 0, len(fields))
	for _, f := range fields {
		p, err := ParsePerm(f)
		if err != nil {
			return nil, err
		}
		perms = append(perms, p)
	}
	return perms, nil
}

// FormatPerms encodes perms as XS_SET_PERMS expects after the path: every
// entry, the last one included, followed by a NUL. (oxenstored silently
// drops a last entry that lacks its NUL.)
func FormatPerms(perms []Perm) []byte {
	var b []byte
	for _, p := range perms {
		b = append(b, byte(p.Access))
		b = strconv.AppendUint(b, uint64(p.Domid), 10)
		b = append(b, 0)
	}
	return b
}
