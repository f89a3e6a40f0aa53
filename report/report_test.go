package report

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/xbcheck/xbcheck/diagram"
	"github.com/xbcheck/xbcheck/trace"
)

func allScenarios(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(scenarioDir + "*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".toml"))
	}
	return names
}

// external matches what would make a page fetch something: a URL with a
// scheme other than data:, a stylesheet link, an @import, a url(...).
var external = regexp.MustCompile(`(?i)(src|href|xlink:href)\s*=\s*"(https?:|//)[^"]*"|<link\b|@import|url\(\s*['"]?(https?:|//)|<iframe\b|\bfetch\(|XMLHttpRequest`)

// TestReportOfEveryScenario renders the report of every scenario: a
// trace section per counterexample, diagrams when dot is installed, and
// nothing that needs the network.
func TestReportOfEveryScenario(t *testing.T) {
	run := checked(t, allScenarios(t)...)
	page, err := HTML(run, Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, sc := range run.Scenarios {
		n += len(sc.Traces)
	}
	if got := strings.Count(string(page), `<section class="trace"`); got != n {
		t.Errorf("%d trace sections; want one per counterexample, %d", got, n)
	}
	if m := external.FindAllString(string(page), 5); m != nil {
		t.Errorf("the page refers to the network: %q", m)
	}
	if diagram.DotAvailable() {
		if got := strings.Count(string(page), "<svg"); got < 2*n {
			t.Errorf("%d SVGs for %d traces; want at least a sequence diagram and a chart each", got, n)
		}
		if strings.Contains(string(page), placeholder) {
			t.Errorf("an element id kept the placeholder %s", placeholder)
		}
	}
	t.Logf("%d scenarios, %d traces: %d bytes", len(run.Scenarios), n, len(page))
}

// TestExternalCatches: the network check catches what it looks for.
func TestExternalCatches(t *testing.T) {
	for _, s := range []string{`<script src="https://cdn.example/x.js">`, `<link rel="stylesheet" href="a.css">`, `a { background: url(http://x/y.png) }`, `<img src="//cdn/x.png">`} {
		if !external.MatchString(s) {
			t.Errorf("not caught: %s", s)
		}
	}
}

// TestNoDiagrams: without diagrams the page says so and holds no SVG.
func TestNoDiagrams(t *testing.T) {
	page, err := HTML(checked(t, "seed1-backend-gone-4.10"), Options{NoDiagrams: true})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(page), "<svg") || !strings.Contains(string(page), "Diagrams left out.") {
		t.Error("a page without diagrams has an SVG or does not say so")
	}
}

// TestTraceWithoutIDs: a trace read back from the text form has no
// transition ids; the report refuses it with one line saying so.
func TestTraceWithoutIDs(t *testing.T) {
	run := checked(t, "seed1-backend-gone-4.10")
	tr, err := trace.ParseText([]byte(run.Scenarios[0].Traces[0].Trace.Text()))
	if err != nil {
		t.Fatal(err)
	}
	run.Scenarios[0].Traces[0].Trace = tr
	_, err = HTML(run, Options{NoDiagrams: true})
	if err == nil || !strings.Contains(err.Error(), "seed1-backend-gone-4.10: step 1") || strings.Contains(err.Error(), "\n") {
		t.Errorf("err = %v; want one line naming the scenario and the step", err)
	}
}

// TestWriteIsAtomic: Write leaves no temporary file, and a failed render
// leaves the old report in place.
func TestWriteIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "index.html")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := checked(t, "seed1-backend-gone-4.10")
	run.Scenarios[0].Traces[0].Trace.Steps[0].ID = 9999
	if err := Write(path, run, Options{NoDiagrams: true}); err == nil {
		t.Fatal("a bad trace was reported")
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("a failed Write changed the report")
	}
	run = checked(t, "seed1-backend-gone-4.10")
	if err := Write(path, run, Options{NoDiagrams: true}); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("files left: %v", ents)
	}
}
