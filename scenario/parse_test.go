package scenario

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// wantRE matches the first line of a bad file: "# want: LINE: MESSAGE".
var wantRE = regexp.MustCompile(`^# want: (\d+): (.+)$`)

// TestBad parses every testdata/bad file and checks the error against the
// file's first line: the line must be exact, the message must contain the
// rest. Adding a case is adding a file.
func TestBad(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/bad/*.toml files")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".toml"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(data), "\n")
			m := wantRE.FindStringSubmatch(first)
			if m == nil {
				t.Fatalf("first line %q is not \"# want: LINE: MESSAGE\"", first)
			}
			wantLine, _ := strconv.Atoi(m[1])
			wantMsg := m[2]

			spec, err := Parse(file, data)
			if err == nil {
				t.Fatalf("Parse succeeded (%s), want error at line %d: %s", spec.Name, wantLine, wantMsg)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			checkOneLine(t, file, err)
			if e.File != file || e.Line != wantLine || !strings.Contains(e.Msg, wantMsg) {
				t.Errorf("got  %v\nwant %s:%d: ...%s...", err, file, wantLine, wantMsg)
			}
		})
	}
}

// checkOneLine checks that err reads "file:line: message" on one line.
func checkOneLine(t *testing.T, file string, err error) {
	t.Helper()
	s := err.Error()
	if strings.ContainsAny(s, "\r\n\v\f\u0085\u2028\u2029") {
		t.Errorf("error is not one line: %q", s)
	}
	if !strings.HasPrefix(s, file+":") {
		t.Errorf("error does not start with %q: %q", file+":", s)
	}
	if strings.Contains(s, "internal error") || strings.Contains(s, "goroutine ") {
		t.Errorf("error is a panic: %q", s)
	}
}

func intp(i int) *int       { return &i }
func strp(s string) *string { return &s }

// dom0 is the implicit dom0 Parse adds.
var dom0 = Domain{Name: "dom0", ID: intp(0), Kind: "dom0", State: "running"}

var specOpts = []cmp.Option{cmpopts.IgnoreUnexported(Spec{}), cmpopts.EquateEmpty()}

func TestGood(t *testing.T) {
	tests := map[string]*Spec{
		"seed1-backend-gone": {
			Name:        "seed1-backend-gone-4.10",
			Description: "libxl 4.10 removes a vif whose driver domain is gone",
			Reference:   "9eaaedfcdee5",
			Xenstored:   Xenstored{Conflict: "oxenstored", Version: "4.17"},
			Toolstack:   Toolstack{Kind: "libxl", Version: "4.10"},
			Domains: []Domain{
				dom0,
				{Name: "D", ID: intp(1), Kind: "driver", State: "dead", Home: "removed"},
				{Name: "G", ID: intp(2), Kind: "pv", State: "running"},
			},
			Devices: []Device{{
				Name: "vif0", Kind: "vif", Frontend: "G", Backend: "D", DevID: intp(0), State: "connected",
				FrontendDriver: "netfront", BackendDriver: "netback",
			}},
			Operations: []Operation{{Kind: "remove", Device: "vif0"}},
			Faults:     Faults{Allow: []string{"eagain"}},
			Check: Check{
				Properties: []string{"result-reflects-state", "no-resurrection"},
				Expect:     "violation", Violates: "result-reflects-state",
			},
		},
		"minimal": {
			Name:      "minimal",
			Xenstored: Xenstored{Conflict: "oxenstored", Version: "4.17"},
			Toolstack: Toolstack{Kind: "libxl", Version: "4.17"},
			Domains:   []Domain{dom0, {Name: "G", ID: intp(1), Kind: "hvm", State: "running"}},
			Devices: []Device{{
				Name: "disk", Kind: "qdisk", Frontend: "G", Backend: "dom0", DevID: intp(0), State: "connected",
				FrontendDriver: "blkfront", BackendDriver: "qemu", Qemu: "running",
			}},
			Operations: []Operation{{Kind: "destroy", Device: "disk"}},
			Check:      Check{Properties: []string{"operations-complete"}, Expect: "ok"},
		},
		"xend-create": {
			Name:        "xend create devices",
			Description: "xend 3.1 creates a guest's devices in the order\ngiven; the console \"vfb\" uses xenfb by default.\n",
			Xenstored:   Xenstored{Conflict: "cxenstored", Version: "4.14"},
			Toolstack:   Toolstack{Kind: "xend", Version: "3.1", DeviceOrder: []string{"vkbd0", "vfb0", "disk"}},
			Domains: []Domain{
				dom0,
				{Name: "G", ID: intp(7), Kind: "pv", State: "paused"},
			},
			Devices: []Device{
				{Name: "vfb0", Kind: "vfb", Frontend: "G", Backend: "dom0", DevID: intp(0), State: "absent", FrontendDriver: "fbfront", BackendDriver: "xenfb"},
				{Name: "vkbd0", Kind: "vkbd", Frontend: "G", Backend: "dom0", DevID: intp(0), State: "absent", FrontendDriver: "none", BackendDriver: "xenfb"},
				{Name: "disk", Kind: "vbd", Frontend: "G", Backend: "dom0", DevID: intp(51712), State: "absent", FrontendDriver: "blkfront", BackendDriver: "blkback"},
			},
			Operations: []Operation{{Kind: "create-devices", Domain: "G"}},
			Xenstore: []Node{
				{Path: "/local/domain/7/device/vfb/0/state", Remove: true},
				{Path: "/vm/uuid:1/name", Value: strp("G")},
			},
			Faults: Faults{Allow: []string{"hotplug-hang", "domain-crash:G"}},
			Timing: Timing{QemuExitWithin: "5s"},
			Check: Check{
				Properties: []string{"operations-complete", "devices-connected"},
				Expect:     "ok", MaxStates: 100000,
			},
		},
		"pci-stale": {
			Name:      "pci-stale",
			Xenstored: Xenstored{Conflict: "oxenstored", Version: "4.17"},
			Toolstack: Toolstack{Kind: "libxl", Version: "4.15"},
			Domains: []Domain{
				dom0,
				{Name: "drv", ID: intp(3), Kind: "driver", State: "dead", Home: "stale"},
				{Name: "G", ID: intp(4), Kind: "hvm", State: "running"},
			},
			Devices: []Device{
				{Name: "nic", Kind: "pci", Frontend: "G", Backend: "drv", DevID: intp(0), State: "absent", FrontendDriver: "pcifront", BackendDriver: "pciback"},
				{Name: "kbd", Kind: "vkbd", Frontend: "G", Backend: "dom0", DevID: intp(0), State: "closed", FrontendDriver: "kbdfront", BackendDriver: "qemu", Qemu: "sighup"},
			},
			Operations: []Operation{
				{Kind: "pci-attach", Device: "nic", Starting: true},
				{Kind: "safe-remove", Device: "kbd"},
				{Kind: "domain-destroy", Domain: "G"},
			},
			Faults: Faults{Allow: []string{"qemu-exit", "domain-destroy:drv"}},
			Check: Check{
				Properties: []string{"no-premature-teardown", "deadlock"},
				Expect:     "violation", Violates: "deadlock",
			},
		},
	}
	files, err := filepath.Glob("testdata/good/*.toml")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".toml")
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			got, err := ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			want, ok := tests[name]
			if !ok {
				return // parses; no expected Spec written down
			}
			want.File = file
			if diff := cmp.Diff(want, got, specOpts...); diff != "" {
				t.Errorf("Parse(%s) mismatch (-want +got):\n%s", file, diff)
			}
		})
	}
	for name := range tests {
		if !seen[name] {
			t.Errorf("testdata/good/%s.toml is missing", name)
		}
	}
}

func TestLine(t *testing.T) {
	spec, err := ParseFile("testdata/good/seed1-backend-gone.toml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		table string
		index int
		key   string
		want  int
	}{
		{"", -1, "name", 1},
		{"", -1, "reference", 3},
		{"toolstack", -1, "", 4},
		{"toolstack", -1, "version", 6},
		{"domain", 0, "name", 0}, // the implicit dom0
		{"domain", 1, "", 10},
		{"domain", 1, "home", 15},
		{"domain", 2, "kind", 19},
		{"device", 0, "backend", 24},
		{"operation", 0, "device", 29},
		{"faults", -1, "allow", 31},
		{"check", -1, "expect", 34},
		{"check", -1, "max-states", 0},
		{"device", 1, "name", 0},
		{"nosuch", -1, "x", 0},
	}
	for _, tt := range tests {
		if got := spec.Line(tt.table, tt.index, tt.key); got != tt.want {
			t.Errorf("Line(%q, %d, %q) = %d, want %d", tt.table, tt.index, tt.key, got, tt.want)
		}
	}
	if got := (&Spec{}).Line("", -1, "name"); got != 0 {
		t.Errorf("Line on a Spec not from a file = %d, want 0", got)
	}
}

// TestLineDom0Declared checks that Line's index counts Spec.Domains when
// dom0 is declared (nothing prepended).
func TestLineDom0Declared(t *testing.T) {
	spec, err := ParseFile("testdata/good/xend-create.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		index int
		key   string
		want  int
	}{{0, "name", 21}, {1, "state", 29}, {2, "name", 0}} {
		if got := spec.Line("domain", tt.index, tt.key); got != tt.want {
			t.Errorf("Line(domain, %d, %q) = %d, want %d", tt.index, tt.key, got, tt.want)
		}
	}
	if got := spec.Line("xenstore", 1, "value"); got != 61 {
		t.Errorf("Line(xenstore, 1, value) = %d, want 61", got)
	}
}

// TestPositions checks the position index on TOML the schema does not
// make easy: multi-line strings and arrays, comments, quoted and dotted
// keys, inline tables and arrays of inline tables.
func TestPositions(t *testing.T) {
	text := `# comment [[device]]
name = """
[[domain]]
kind = "x" \"""
"""
description = '''
[check]'''
"quoted key" = 1   # name = 2
toolstack.kind = "libxl"
arr = [
  "a", # [x]
  ["b", 'c]'],
]
device = [
  { name = "a", kind = "vif" },
  { name = "b",
    kind = "vbd" },
]

[ "check" ] # header
expect = "ok" # trailing
'max-states' = 3

[[operation]]
kind = "add"
[[operation]]

kind = "remove"
t = 1979-05-27 07:32:00Z
inline = { a = { b = 1 }, c = [1, 2] }
x.y.z = 1
`
	pos := scanPositions(text)
	want := map[posKey]int{
		{"", -1, "name"}:               2,
		{"", -1, "description"}:        6,
		{"", -1, "quoted key"}:         8,
		{"toolstack", -1, "kind"}:      9,
		{"", -1, "arr"}:                10,
		{"", -1, "device"}:             14,
		{"device", 0, ""}:              15,
		{"device", 0, "name"}:          15,
		{"device", 0, "kind"}:          15,
		{"device", 1, ""}:              16,
		{"device", 1, "name"}:          16,
		{"device", 1, "kind"}:          17,
		{"check", -1, ""}:              20,
		{"check", -1, "expect"}:        21,
		{"check", -1, "max-states"}:    22,
		{"operation", 0, ""}:           24,
		{"operation", 0, "kind"}:       25,
		{"operation", 1, ""}:           26,
		{"operation", 1, "kind"}:       28,
		{"operation", 1, "t"}:          29,
		{"operation", 1, "inline"}:     30,
		{"operation", 1, "inline.a"}:   30,
		{"operation", 1, "inline.a.b"}: 30,
		{"operation", 1, "inline.c"}:   30,
		{"operation", 1, "x.y.z"}:      31,
	}
	if diff := cmp.Diff(want, pos.lines, cmp.AllowUnexported(posKey{})); diff != "" {
		t.Errorf("positions mismatch (-want +got):\n%s", diff)
	}
}

// TestSyntaxErrorOneLine checks that a TOML syntax error is reported on
// one line, with the line of the error.
func TestSyntaxErrorOneLine(t *testing.T) {
	for _, text := range []string{
		"a = \"\n",
		"[toolstack]\nkind = \"libxl\"\n\n\nversion = 4.\n",
		"x = [1,\n2,\n",
		"a = '''\nnever ends",
		"\x00",
		"[a]\n[a]\n",
	} {
		_, err := Parse("t.toml", []byte(text))
		if err == nil {
			t.Errorf("Parse(%q) succeeded", text)
			continue
		}
		checkOneLine(t, "t.toml", err)
		if !strings.Contains(err.Error(), "TOML syntax") {
			t.Errorf("Parse(%q) = %v, want a TOML syntax error", text, err)
		}
	}
}

func TestParseFileMissing(t *testing.T) {
	_, err := ParseFile("testdata/no-such-file.toml")
	if err == nil {
		t.Fatal("ParseFile of a missing file succeeded")
	}
	checkOneLine(t, "testdata/no-such-file.toml", err)
}

// TestScenarios parses the project's scenario files.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("../scenarios/*.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("no ../scenarios/*.toml files yet")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			if _, err := ParseFile(file); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestCRLF checks that a file with CRLF line ends parses the same, with
// the same lines.
func TestCRLF(t *testing.T) {
	for _, name := range []string{"seed1-backend-gone", "xend-create"} {
		file := "testdata/good/" + name + ".toml"
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Parse(file, data)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Parse(file, []byte(strings.ReplaceAll(string(data), "\n", "\r\n")))
		if err != nil {
			t.Fatalf("%s with CRLF: %v", file, err)
		}
		// Multi-line strings keep their line ends.
		got.Description = strings.ReplaceAll(got.Description, "\r\n", "\n")
		for i := range got.Xenstore {
			if v := got.Xenstore[i].Value; v != nil {
				got.Xenstore[i].Value = strp(strings.ReplaceAll(*v, "\r\n", "\n"))
			}
		}
		if diff := cmp.Diff(want, got, specOpts...); diff != "" {
			t.Errorf("%s with CRLF (-LF +CRLF):\n%s", file, diff)
		}
		if diff := cmp.Diff(want.pos.lines, got.pos.lines, cmp.AllowUnexported(posKey{})); diff != "" {
			t.Errorf("%s with CRLF, lines (-LF +CRLF):\n%s", file, diff)
		}
	}
}
