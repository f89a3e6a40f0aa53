package scenario

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// FuzzParse checks that Parse never panics and that its error is always
// one line starting with the file name. It is seeded with the good and
// bad test files.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"testdata/good", "testdata/bad"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.toml"))
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkPositions(t, data)
		spec, err := Parse("fuzz.toml", data)
		if err != nil {
			if spec != nil {
				t.Errorf("Parse returned a Spec and an error %v", err)
			}
			if _, ok := err.(*Error); !ok {
				t.Errorf("error %T is not an *Error: %v", err, err)
			}
			checkOneLine(t, "fuzz.toml", err)
			return
		}
		if spec == nil {
			t.Fatal("Parse returned neither a Spec nor an error")
		}
		if spec.Toolstack.Kind == "" || len(spec.Operations) == 0 || spec.Line("toolstack", -1, "kind") == 0 {
			t.Errorf("Parse accepted a scenario without toolstack.kind, operations or the line of the kind")
		}
	})
}

// checkPositions checks the position index against the TOML parser: every
// key the parser reports (down to two levels) has a line in the index.
func checkPositions(t *testing.T, data []byte) {
	md, err := toml.Decode(string(data), new(map[string]any))
	if err != nil {
		return
	}
	pos := scanPositions(string(data))
	for _, k := range md.Keys() {
		if len(k) > 2 {
			continue
		}
		found := false
		for pk := range pos.lines {
			if len(k) == 1 {
				found = pk.table == "" && pk.key == k[0] || pk.table == k[0]
			} else {
				found = pk.table == k[0] && (pk.key == k[1] || strings.HasPrefix(pk.key, k[1]+"."))
			}
			if found {
				break
			}
		}
		if !found {
			t.Errorf("key %q has no line in the index %v", k, pos.lines)
		}
	}
}
