package scenario

import (
	"os"
	"path/filepath"
	"testing"
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
		// A valid Spec parses again to itself: the defaults are stable.
		spec.Line("device", 0, "name")
	})
}
