package coverage

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/scenario"
)

// scenariosReport runs the coverage of every scenario in dir as
// `xbcheck --coverage` does (cmd/xbcheck run.go): each explored in full
// with the scenario's state bound and symmetry, the toolstack's kind and
// version as the version of its Toolstack actors.
func scenariosReport(t *testing.T, dir string) Report {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.toml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios in %s: %v", dir, err)
	}
	col := NewCollector()
	for _, f := range files {
		c, err := scenario.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		name := c.Spec.Name
		if name == "" {
			name = strings.TrimSuffix(filepath.Base(f), ".toml")
		}
		version := c.Spec.Toolstack.Kind + " " + c.Spec.Toolstack.Version
		fired, res := Explore(context.Background(), c.System, checker.Options{Symmetry: true, MaxStates: c.Spec.Check.MaxStates})
		col.Add(name, c.System, fired, res.Verdict == checker.Ok && res.Err == nil, func(a *model.Actor) string {
			if a.Kind == model.Toolstack {
				return version
			}
			return ""
		})
	}
	return col.Report()
}

// A row of docs/model.md's Coverage table.
type row struct {
	line     int
	key      Key
	versions string // "libxl 4.2, libxl 4.17", or "—" for an unversioned role
	why      string
}

// coverageTable reads the table of the "## Coverage" section of the
// model document: the rows "| `role` | `transition` | versions | why |".
func coverageTable(path string) ([]row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []row
	in, n := false, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		l := sc.Text()
		if strings.HasPrefix(l, "## ") {
			in = l == "## Coverage"
			continue
		}
		if !in || !strings.HasPrefix(l, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(l, "|"), "|")
		if len(cells) != 4 {
			return nil, fmt.Errorf("%s:%d: want 4 cells (role, transition, versions, why), have %d", path, n, len(cells))
		}
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows = append(rows, row{line: n, key: Key{Actor: strings.Trim(cells[0], "`"), Transition: strings.Trim(cells[1], "`")},
			versions: cells[2], why: cells[3]})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: no Coverage table", path)
	}
	return rows, nil
}

// TestScenariosCoverage keeps docs/model.md's Coverage table true of
// scenarios/: every transition that fires in none of the scenarios has a
// row, with the versions whose code has it and a reason; and every row
// names a transition that the scenarios have and that does not fire (a
// row for a transition that now fires, or that no scenario has any
// more, is stale).
func TestScenariosCoverage(t *testing.T) {
	if testing.Short() {
		t.Skip("explores every scenario")
	}
	rep := scenariosReport(t, "../scenarios")
	rows, err := coverageTable("../docs/model.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Incomplete) > 0 {
		t.Fatalf("explorations stopped early (their unfired transitions may fire further on): %v", rep.Incomplete)
	}
	type info struct {
		fired    bool
		versions string
	}
	have := map[Key]info{}
	for _, a := range rep.Actors {
		for _, tr := range a.Transitions {
			vs := strings.Join(tr.Versions, ", ")
			if vs == "" {
				vs = "—"
			}
			have[Key{a.Actor, tr.Name}] = info{tr.Fired, vs}
		}
	}
	named := map[Key]bool{}
	for _, r := range rows {
		if named[r.key] {
			t.Errorf("docs/model.md:%d: %s %q has two rows", r.line, r.key.Actor, r.key.Transition)
		}
		named[r.key] = true
		h, ok := have[r.key]
		switch {
		case !ok:
			t.Errorf("docs/model.md:%d: %s %q: no scenario has this transition any more; remove the row", r.line, r.key.Actor, r.key.Transition)
		case h.fired:
			t.Errorf("docs/model.md:%d: %s %q fires now; remove the row", r.line, r.key.Actor, r.key.Transition)
		case h.versions != r.versions:
			t.Errorf("docs/model.md:%d: %s %q: versions %q, the scenarios have %q", r.line, r.key.Actor, r.key.Transition, r.versions, h.versions)
		}
		if r.why == "" {
			t.Errorf("docs/model.md:%d: %s %q: no reason", r.line, r.key.Actor, r.key.Transition)
		}
	}
	for _, k := range rep.Unfired() {
		if !named[k] {
			t.Errorf("%s %q fires in no scenario and docs/model.md's Coverage table does not say why (versions %s)", k.Actor, k.Transition, have[k].versions)
		}
	}
	// The section's sentence with the totals is the report's last line,
	// and the README quotes it with the number of the others.
	want := fmt.Sprintf("`coverage: %d of %d transitions fired`", rep.Fired, rep.Total)
	for _, c := range []struct{ file, want string }{
		{"../docs/model.md", want},
		{"../README.md", want},
		{"../README.md", fmt.Sprintf("the other %d cannot fire", rep.Total-rep.Fired)},
	} {
		doc, err := os.ReadFile(c.file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(strings.Join(strings.Fields(string(doc)), " "), c.want) {
			t.Errorf("%s does not say %s", c.file[3:], c.want)
		}
	}
}

// TestQemuDevicesCountOnce: a qemu's per-device transitions are one
// transition whatever the device is called: two scenarios with qemu
// disks of different names have the same keys.
func TestQemuDevicesCountOnce(t *testing.T) {
	var keys [][]Key
	for _, name := range []string{"seed2-qemu-bodge-4.17", "two-guests-qemu-bodge-4.17"} {
		c := load(t, name)
		col := NewCollector()
		col.Add(name, c.System, make([]bool, len(c.System.Trans)), true, libxl417)
		var ks []Key
		for _, a := range col.Report().Actors {
			if a.Actor != "qemu(·)" {
				continue
			}
			for _, tr := range a.Transitions {
				ks = append(ks, Key{a.Actor, tr.Name})
			}
		}
		keys = append(keys, ks)
	}
	if len(keys[0]) == 0 || !slices.Contains(keys[0], Key{"qemu(·)", "connect (·)"}) {
		t.Fatalf("qemu keys %v: want connect (·)", keys[0])
	}
	if diff := cmp.Diff(keys[0], keys[1]); diff != "" {
		t.Errorf("qemu keys differ between scenarios (-one disk +two guests):\n%s", diff)
	}
}
