package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xbcheck/xbcheck/bench"
	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/export"
	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/scenario"
)

var spinErrors = regexp.MustCompile(`errors: (\d+)`)

// TestExportPromelaRunsInSPIN exports every seed scenario that translates
// (oxenstored's conflict rule) with xbcheck export promela and runs it in
// SPIN (spin -a, gcc, ./pan). Where the Promela carries the properties
// as asserts, SPIN must find an error exactly when xbcheck finds a
// violation of a property other than an eventually-property (those need
// a never claim). Until then, SPIN must reach exactly the states xbcheck
// reaches without reduction (the check bench/ makes of its family).
func TestExportPromelaRunsInSPIN(t *testing.T) {
	if testing.Short() {
		t.Skip("SPIN comparison: not in -short mode")
	}
	if !bench.HaveSPIN() {
		if os.Getenv("CI") == "true" {
			t.Fatal("spin or gcc is not installed (make test installs them)")
		}
		t.Skip("spin or gcc is not installed: `make bench-deps` installs them")
	}
	files, err := filepath.Glob("../../scenarios/seed*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed scenarios: %v", err)
	}
	translated := 0
	for _, f := range files {
		c, err := scenario.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		if c.System.Conflict != model.Oxenstored {
			continue
		}
		translated++
		t.Run(c.Spec.Name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "model.pml")
			if code, _, errb := runXbcheck(t, "export", "promela", f, out); code != 0 {
				t.Fatalf("export: exit %d: %s", code, errb)
			}
			pml, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			res, err := bench.RunSPIN(context.Background(), string(pml), bench.SPINModes[0], 1024, 18, bench.CountOnly)
			if err != nil {
				t.Fatal(err)
			}
			m := spinErrors.FindStringSubmatch(res.Out)
			if m == nil {
				t.Fatalf("pan printed no error count:\n%s", res.Out)
			}
			spinErrs, _ := strconv.Atoi(m[1])
			// The export carries the scenario's safety properties as
			// assertions and its deadlock check as SPIN's end-state
			// check; SPIN must find an error exactly when xbcheck finds
			// a violation of one of them.
			r := checker.Check(c.System, c.Properties, checker.Options{})
			want := false
			for _, v := range r.Violations {
				want = want || v.Kind != checker.Eventually
			}
			if got := spinErrs > 0; got != want {
				t.Errorf("SPIN finds errors: %v (%d); xbcheck finds a safety or deadlock violation: %v (verdict %s %v)\n%s", got, spinErrs, want, r.Verdict, r.Violations, res.Out)
			}
			if !want && !strings.Contains(string(pml), "assert(") && !slices.Contains(c.Spec.Check.Properties, "deadlock") {
				// Nothing to check: SPIN must at least reach xbcheck's
				// states (bench/ makes the same check of its family).
				if full := checker.Check(c.System, nil, checker.Options{}).Stats; res.States != full.States {
					t.Errorf("SPIN stored %d states; xbcheck reaches %d", res.States, full.States)
				}
			}
		})
	}
	if translated < 10 {
		t.Errorf("only %d seed scenarios translate", translated)
	}
}

func TestExportJSONAndDOT(t *testing.T) {
	dir := t.TempDir()
	f := "../../scenarios/seed1-backend-gone-4.10.toml"
	out := filepath.Join(dir, "m.json")
	if code, _, errb := runXbcheck(t, "export", "json", f, out); code != 0 {
		t.Fatalf("exit %d: %s", code, errb)
	}
	data, _ := os.ReadFile(out)
	var m export.Model
	if err := json.Unmarshal(data, &m); err != nil || m.Schema != export.Schema || m.Scenario != "seed1-backend-gone-4.10" || len(m.Actors) == 0 {
		t.Errorf("the JSON export does not read back (%v): schema %q scenario %q, %d actors", err, m.Schema, m.Scenario, len(m.Actors))
	}
	code, stdout, errb := runXbcheck(t, "export", "dot", f, "-")
	if code != 0 || !strings.Contains(stdout, `digraph "states-seed1-backend-gone-4.10"`) || !strings.Contains(stdout, "bold red: the counterexample") {
		t.Errorf("export dot: exit %d, stderr %q:\n%.300s", code, errb, stdout)
	}
}

// TestExportGo: export go writes the scenario's generated guards, in the
// package and under the name asked for (model's TestGeneratedAllScenarios
// builds and checks the code of every scenario).
func TestExportGo(t *testing.T) {
	f := "../../scenarios/seed3-concurrent-attach-4.17.toml"
	c, err := scenario.Load(f)
	if err != nil {
		t.Fatal(err)
	}
	want, err := c.System.GenerateGo("checks", "attach")
	if err != nil {
		t.Fatal(err)
	}
	code, out, errb := runXbcheck(t, "export", "go", "--package", "checks", "--name", "attach", f, "-")
	if code != 0 || out != string(want) {
		t.Errorf("exit %d, stderr %q; the file differs from GenerateGo's:\n%s", code, errb, cmp.Diff(string(want), out))
	}
	if !strings.Contains(out, "package checks\n") || !strings.Contains(out, "var attach = model.Generated{") {
		t.Errorf("the file does not declare attach in package checks:\n%.300s", out)
	}
}

func TestExportErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"export"}, "xbcheck export: want a format, a scenario and a file (got 0 arguments)\n"},
		{[]string{"export", "xml", "../../scenarios/seed1-backend-gone-4.10.toml", "-"}, "xbcheck export: unknown format \"xml\" (promela, dot, json or go)\n"},
		{[]string{"export", "go", "--package", "my-pkg", "../../scenarios/seed1-backend-gone-4.10.toml", "-"}, "xbcheck export: --package \"my-pkg\" and --name \"guards\" must be Go identifiers\n"},
		{[]string{"export", "promela", "../../scenarios/vbd-add-4.17-cxenstored.toml", "-"}, "xbcheck export: ../../scenarios/vbd-add-4.17-cxenstored.toml: promela: only the oxenstored conflict rule is translated\n"},
		{[]string{"export", "dot", "--max-states", "5", "../../scenarios/seed3-concurrent-attach-4.17.toml", "-"}, "xbcheck export: seed3-concurrent-attach-4.17 has more than 5 reachable states: too many to draw readably (raise --max-states or draw a smaller scenario)\n"},
		{[]string{"export", "json", "../../scenarios/seed1-backend-gone-4.10.toml", filepath.Join(dir, "no", "x.json")}, "no such file or directory"},
		{[]string{"export", "json", filepath.Join(dir, "missing.toml"), "-"}, "missing.toml"},
	} {
		code, out, errb := runXbcheck(t, tc.args...)
		if code != 2 || out != "" {
			t.Errorf("%v: exit %d, stdout %q; want 2 and nothing", tc.args, code, out)
		}
		if strings.HasSuffix(tc.want, "\n") && !strings.HasPrefix(errb, tc.want) || !strings.Contains(errb, tc.want) {
			t.Errorf("%v: stderr %q; want %q", tc.args, errb, tc.want)
		}
	}
	if code, _, errb := runXbcheck(t, "export", "--help"); code != 0 || !strings.Contains(errb, "xbcheck-model/1") {
		t.Errorf("export --help: exit %d, %q", code, errb)
	}
}
