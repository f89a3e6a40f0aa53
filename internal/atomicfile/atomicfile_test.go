package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteFuncAllOrNothing: a write that fails half-way leaves the old
// content and no temporary file; one that succeeds replaces it whole.
func TestWriteFuncAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := Write(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk full")
	err := WriteFunc(p, 0o644, func(w io.Writer) error {
		w.Write([]byte("new, half"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("WriteFunc: %v; want the fill's error", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Errorf("after a failed write: %q; want the old content", b)
	}
	if es, _ := os.ReadDir(dir); len(es) != 1 {
		t.Errorf("after a failed write the folder holds %d files; want only the old one", len(es))
	}
	if err := WriteFunc(p, 0o600, func(w io.Writer) error { _, err := w.Write([]byte("new")); return err }); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	if b, _ := os.ReadFile(p); string(b) != "new" || fi.Mode().Perm() != 0o600 {
		t.Errorf("after a write: %q mode %v; want \"new\" 0600", b, fi.Mode().Perm())
	}
}
