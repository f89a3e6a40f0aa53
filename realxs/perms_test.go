package realxs

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// Reference: xenstore-wire.md, section 1.5; docs/misc/xenstore.txt,
// "Permissions".
func TestParsePerm(t *testing.T) {
	good := []struct {
		in   string
		want Perm
	}{
		{"n0", Perm{0, AccessNone}},
		{"r5", Perm{5, AccessRead}},
		{"w12", Perm{12, AccessWrite}},
		{"b32752", Perm{32752, AccessBoth}},
		{"r007", Perm{7, AccessRead}},
		{"n4294967295", Perm{4294967295, AccessNone}},
	}
	for _, tt := range good {
		got, err := ParsePerm(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParsePerm(%q) = %v, %v; want %v, nil", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "n", "0", "x5", "R5", "r-1", "r+1", "r0x10", "r 1", "r1 ", "n4294967296"} {
		if got, err := ParsePerm(in); err == nil {
			t.Errorf("ParsePerm(%q) = %v, nil; want an error", in, got)
		}
	}
}

func TestPermsWire(t *testing.T) {
	perms := []Perm{{0, AccessNone}, {5, AccessRead}, {7, AccessBoth}}
	// Every entry is NUL-terminated, the last one too.
	if got, want := string(FormatPerms(perms)), "n0\x00r5\x00b7\x00"; got != want {
		t.Errorf("FormatPerms = %q; want %q", got, want)
	}
	got, err := ParsePerms([]byte("n0\x00r5\x00b7\x00"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(perms, got); diff != "" {
		t.Errorf("ParsePerms mismatch (-want +got):\n%s", diff)
	}
	for _, in := range []string{"", "n0\x00q1\x00", "n0\x00\x00"} {
		if _, err := ParsePerms([]byte(in)); err == nil {
			t.Errorf("ParsePerms(%q): nil error; want one", in)
		}
	}
}

func permGen() *rapid.Generator[Perm] {
	return rapid.Custom(func(t *rapid.T) Perm {
		return Perm{
			Domid:  rapid.Uint32().Draw(t, "domid"),
			Access: rapid.SampledFrom([]Access{AccessNone, AccessRead, AccessWrite, AccessBoth}).Draw(t, "access"),
		}
	})
}

// Formatting then parsing gives back the same permissions, and parsing a
// canonical string then formatting gives back the same string.
func TestPermsRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		perms := rapid.SliceOfN(permGen(), 1, 8).Draw(t, "perms")
		got, err := ParsePerms(FormatPerms(perms))
		if err != nil {
			t.Fatalf("ParsePerms(FormatPerms(%v)): %v", perms, err)
		}
		if diff := cmp.Diff(perms, got); diff != "" {
			t.Fatalf("round trip mismatch (-want +got):\n%s", diff)
		}
		for _, p := range perms {
			q, err := ParsePerm(p.String())
			if err != nil || q != p || q.String() != p.String() {
				t.Fatalf("ParsePerm(%q) = %v, %v; want %v", p.String(), q, err, p)
			}
		}
	})
}

// ParsePerm never panics, and whatever it accepts formats to a string that
// parses to the same value.
func TestParsePermArbitrary(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.OneOf(
			rapid.String(),
			rapid.StringMatching(`[nrwbx][0-9]{0,12}`),
		).Draw(t, "s")
		p, err := ParsePerm(s)
		if err != nil {
			return
		}
		if q, err := ParsePerm(p.String()); err != nil || q != p {
			t.Fatalf("ParsePerm(%q) = %v; reparse of %q = %v, %v", s, p, p.String(), q, err)
		}
	})
}
