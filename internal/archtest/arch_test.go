package archtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const root = "../.."

// packages returns the directories under root holding non-test Go files.
func packages(t *testing.T) map[string][]string {
	t.Helper()
	pkgs := map[string][]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// Like go build, skip testdata and directories starting with . or _.
		if d.IsDir() && p != root && (strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
			pkgs[filepath.Dir(p)] = append(pkgs[filepath.Dir(p)], p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// TestPackageDocs: every package says what it is for.
func TestPackageDocs(t *testing.T) {
	for dir, files := range packages(t) {
		documented := false
		for _, f := range files {
			af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ParseComments|parser.PackageClauseOnly)
			if err != nil {
				t.Fatal(err)
			}
			if af.Doc != nil && strings.TrimSpace(af.Doc.Text()) != "" {
				documented = true
			}
		}
		if !documented {
			t.Errorf("package %s has no doc comment", dir)
		}
	}
}

// TestModelIsPure: model/ and its sub-packages do no I/O, start no
// goroutines, read no clock and use no randomness: effects are data.
// (What they may import of the module, TestLayers says.)
func TestModelIsPure(t *testing.T) {
	forbidden := []string{"os", "io", "io/fs", "net", "time", "sync", "math/rand", "math/rand/v2", "crypto/rand", "syscall", "os/exec", "unsafe"}
	for _, p := range importGraph(t) {
		if top(p.dir) != "model" {
			continue
		}
		for f, imports := range p.files {
			for _, path := range imports {
				if slices.Contains(forbidden, path) {
					t.Errorf("%s imports %s: the model must stay pure", f, path)
				}
			}
			src, _ := fsRead(f)
			if strings.Contains(src, "go func") {
				t.Errorf("%s starts a goroutine", f)
			}
		}
	}
}

// TestXenstoredSetupFailsUnderCI: tools/xenstored/setup.sh, which `make
// test` runs first, skips the daemon quietly on a developer's machine that
// cannot set it up, but fails under CI=true, so that CI cannot go green
// with the daemon tests skipped. The machine here has no apt-get (a PATH
// without it).
func TestXenstoredSetupFailsUnderCI(t *testing.T) {
	bin := t.TempDir()
	for _, tool := range []string{"mkdir", "dirname", "id", "cat", "date", "cp", "rm"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("%s not found", tool)
		}
		if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, ci := range []string{"", "true"} {
		cmd := exec.Command(sh, filepath.Join(root, "tools/xenstored/setup.sh"), t.TempDir())
		cmd.Env = []string{"PATH=" + bin, "CI=" + ci}
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if want := map[string]int{"": 0, "true": 1}[ci]; code != want {
			t.Errorf("CI=%q: setup.sh exit %d; want %d\n%s", ci, code, want, out)
		}
	}
}
