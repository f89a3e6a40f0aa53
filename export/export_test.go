package export

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/scenario"
)

var update = flag.Bool("update", false, "rewrite testdata/*.json")

// TestGolden: the JSON of one scenario is the committed one, so that a
// change to the schema shows as a diff (refresh with -update, and bump
// Schema when a field changes meaning or goes).
func TestGolden(t *testing.T) {
	c, err := scenario.Load("../scenarios/seed1-backend-gone-4.10.toml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := FromSystem(c.System, c.Properties, "scenarios/seed1-backend-gone-4.10.toml").JSON()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "seed1-backend-gone-4.10.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale (-file +now):\n%s\nrefresh with: go test ./export -update", path, cmp.Diff(strings.Split(string(want), "\n"), strings.Split(string(got), "\n")))
	}
}

// TestEveryScenario: the JSON of every scenario reads back into Model
// with no unknown field, and says what the model says: each transition's
// locations, guard and operations, each path's parent and initial value.
func TestEveryScenario(t *testing.T) {
	files, _ := filepath.Glob("../scenarios/*.toml")
	if len(files) == 0 {
		t.Fatal("no scenarios")
	}
	for _, f := range files {
		c, err := scenario.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		sys := c.System
		data, err := FromSystem(sys, c.Properties, f).JSON()
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		var m Model
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(m.Actors) != len(sys.Actors) || len(m.Paths) != len(sys.Paths) || len(m.Variables) != len(sys.Vars) || len(m.Properties) != len(c.Properties) {
			t.Errorf("%s: %d actors, %d paths, %d variables, %d properties; the model has %d, %d, %d, %d", f,
				len(m.Actors), len(m.Paths), len(m.Variables), len(m.Properties), len(sys.Actors), len(sys.Paths), len(sys.Vars), len(c.Properties))
			continue
		}
		init := sys.Initial()
		for i, p := range m.Paths {
			v := sys.Get(init, model.PathID(i))
			if (p.Initial == nil) != (v == model.Absent) || p.Initial != nil && *p.Initial != sys.Values[v] {
				t.Errorf("%s: path %s initial %v; the model has %s", f, p.Path, p.Initial, sys.FormatValue(v))
			}
			if p.Parent != nil && !strings.HasPrefix(p.Path, m.Paths[*p.Parent].Path) {
				t.Errorf("%s: path %s has parent %s", f, p.Path, m.Paths[*p.Parent].Path)
			}
		}
		n := 0
		for ai, a := range m.Actors {
			locs := map[string]bool{"*": true}
			for _, l := range a.Locations {
				locs[l.Name] = true
			}
			for _, tr := range a.Transitions {
				n++
				mt := &sys.Trans[tr.ID]
				if mt.Actor != ai || mt.Name != tr.Name || !locs[tr.From] || tr.To != nil && !locs[*tr.To] {
					t.Errorf("%s: %s transition %d %q %s -> %v does not match the model", f, a.Name, tr.ID, tr.Name, tr.From, tr.To)
				}
				if tr.Guard != sys.FormatGuard(mt.Guard) || len(tr.GuardAtoms) != len(mt.Guard) || len(tr.Ops) != len(mt.Ops) {
					t.Errorf("%s: %s %q: guard or ops differ from the model", f, a.Name, tr.Name)
					continue
				}
				for k, op := range tr.Ops {
					if op.Text != sys.FormatOp(mt.Ops[k], nil) || op.Op != mt.Ops[k].Kind.String() {
						t.Errorf("%s: %s %q op %d: %q; the model has %q", f, a.Name, tr.Name, k, op.Text, sys.FormatOp(mt.Ops[k], nil))
					}
				}
				for _, at := range tr.GuardAtoms {
					if strings.HasPrefix(at.Kind, "unknown") {
						t.Errorf("%s: %s %q: guard atom %s", f, a.Name, tr.Name, at.Kind)
					}
				}
			}
		}
		if n != len(sys.Trans) {
			t.Errorf("%s: %d transitions exported; the model has %d", f, n, len(sys.Trans))
		}
	}
}
