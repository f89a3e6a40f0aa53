package archtest

import (
	"bytes"
	"flag"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/xbcheck/xbcheck/diagram"
)

var update = flag.Bool("update", false, "rewrite docs/diagrams/architecture (DOT, and SVG when dot is installed)")

// diagramDir holds the package diagram; diagram's gallery owns the files
// of docs/diagrams itself, so this one has a directory of its own.
const diagramDir = root + "/docs/diagrams/architecture"

const refresh = "refresh with: make diagrams (or go test ./internal/archtest -run TestPackageDiagram -update)"

// A pkg is one package of the module, by its directory relative to the
// module root ("model/libxl").
type pkg struct {
	dir string
	// doc is the first sentence of its package comment.
	doc string
	// imports are the module's packages it imports (non-test files), by
	// directory, sorted.
	imports []string
	// files are its non-test files, each with every path it imports.
	files map[string][]string
}

// modulePath reads the module path from go.mod.
func modulePath(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^module\s+(\S+)`).FindSubmatch(src)
	if m == nil {
		t.Fatal("go.mod has no module line")
	}
	return string(m[1])
}

// importGraph reads every package of the module and what it imports, from
// the source (the files go build would compile).
func importGraph(t *testing.T) map[string]*pkg {
	t.Helper()
	mod := modulePath(t)
	graph := map[string]*pkg{}
	for dir, files := range packages(t) {
		rel, _ := filepath.Rel(root, dir)
		p := &pkg{dir: filepath.ToSlash(rel), files: map[string][]string{}}
		seen := map[string]bool{}
		for _, f := range files {
			af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ParseComments|parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			if af.Doc != nil && p.doc == "" {
				p.doc = doc.Synopsis(af.Doc.Text())
			}
			for _, imp := range af.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				p.files[f] = append(p.files[f], path)
				if dep, ok := strings.CutPrefix(path, mod+"/"); ok && !seen[dep] {
					seen[dep] = true
					p.imports = append(p.imports, dep)
				}
			}
		}
		sort.Strings(p.imports)
		graph[p.dir] = p
	}
	return graph
}

// layers orders the packages below the applications: a package of a layer
// imports only packages of its own layer or lower ones. A package no
// pattern names (the applications: sim, diagram, report, realxs, cmd,
// bench, and any new one) may import anything.
var layers = [][]string{
	{"internal/..."},
	{"model/...", "checker/..."},
	{"props", "trace", "export"},
	{"scenario"},
}

// layerOf returns the layer of package dir, or len(layers) for an
// application.
func layerOf(dir string) int {
	for l, pats := range layers {
		for _, pat := range pats {
			if base, ok := strings.CutSuffix(pat, "/..."); ok && (dir == base || strings.HasPrefix(dir, base+"/")) || dir == pat {
				return l
			}
		}
	}
	return len(layers)
}

// layerViolations lists the imports of graph that go up the layers, and
// those between the model and the checker, which know nothing of each
// other: the checker explores states and transitions of any model, and
// the model implements the checker's hooks without importing it.
func layerViolations(graph map[string]*pkg) []string {
	var bad []string
	for _, p := range graph {
		for _, dep := range p.imports {
			if layerOf(dep) > layerOf(p.dir) {
				bad = append(bad, p.dir+" imports "+dep+", a higher layer")
			}
			if top(p.dir) != top(dep) && (top(p.dir) == "model" || top(p.dir) == "checker") && (top(dep) == "model" || top(dep) == "checker") {
				bad = append(bad, p.dir+" imports "+dep+": model and checker must not know each other")
			}
		}
	}
	sort.Strings(bad)
	return bad
}

// top is the first element of a package directory.
func top(dir string) string {
	first, _, _ := strings.Cut(dir, "/")
	return first
}

// TestLayers: the import graph keeps its layers (see layers).
func TestLayers(t *testing.T) {
	for _, v := range layerViolations(importGraph(t)) {
		t.Error(v)
	}
}

// TestLayersCatchAnUpwardImport: layerViolations reports an import that
// goes up a layer, and one between the model and the checker.
func TestLayersCatchAnUpwardImport(t *testing.T) {
	graph := map[string]*pkg{
		"props":       {dir: "props", imports: []string{"checker", "model", "scenario"}},
		"checker":     {dir: "checker", imports: []string{"internal/fingerprint", "model"}},
		"model/libxl": {dir: "model/libxl", imports: []string{"model"}},
		"scenario":    {dir: "scenario", imports: []string{"props"}},
	}
	want := []string{
		"checker imports model: model and checker must not know each other",
		"props imports scenario, a higher layer",
	}
	if diff := cmp.Diff(want, layerViolations(graph)); diff != "" {
		t.Errorf("violations (-want +got):\n%s", diff)
	}
}

// packageChart draws graph: a node per package with the first sentence
// of its documentation, an edge from each package to each it imports.
func packageChart(graph map[string]*pkg) *diagram.Chart {
	c := &diagram.Chart{
		Name:      "packages",
		Title:     "xbcheck's packages: an arrow goes from a package to one it imports (drawn from the source by internal/archtest)",
		Attrs:     map[string]string{"rankdir": "LR"},
		NodeAttrs: map[string]string{"shape": "box", "style": "rounded"},
		EdgeAttrs: map[string]string{"color": "gray40"},
	}
	dirs := make([]string, 0, len(graph))
	for d := range graph {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		c.Nodes = append(c.Nodes, diagram.Node{ID: d, Label: d + "\n" + summary(graph[d].doc)})
	}
	for _, d := range dirs {
		for _, dep := range graph[d].imports {
			c.Edges = append(c.Edges, diagram.Edge{From: d, To: dep})
		}
	}
	return c
}

// summary shortens a package synopsis to what the package is ("Package
// model is the shared transition model of the xenbus protocol: ..." gives
// "is the shared transition model of the xenbus protocol"), in lines of
// about 40 characters.
func summary(synopsis string) string {
	s := synopsis
	if _, rest, ok := strings.Cut(s, " "); ok && (strings.HasPrefix(s, "Package ") || strings.HasPrefix(s, "Command ")) {
		_, s, _ = strings.Cut(rest, " ")
	}
	for _, sep := range []string{": ", " (", "; "} {
		s, _, _ = strings.Cut(s, sep)
	}
	s = strings.TrimSuffix(s, ".")
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > 40 {
			if len(lines) == 2 {
				line += " …"
				break
			}
			lines = append(lines, line)
			line = ""
		}
		line = strings.TrimPrefix(line+" "+w, " ")
	}
	return strings.Join(append(lines, line), "\n")
}

// TestPackageDiagram keeps docs/diagrams/architecture/packages.dot equal
// to the import graph of the source, and its SVG what Graphviz's dot
// makes of it (when dot is installed and is the version that made it).
func TestPackageDiagram(t *testing.T) {
	c := packageChart(importGraph(t))
	if *update {
		if err := diagram.Write(diagramDir, []*diagram.Chart{c}, diagram.WriteOptions{SVG: diagram.DotAvailable(), Prune: true}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.DOT()
	if err != nil {
		t.Fatal(err)
	}
	old, err := os.ReadFile(filepath.Join(diagramDir, "packages.dot"))
	if err != nil {
		t.Fatalf("%v; %s", err, refresh)
	}
	if !bytes.Equal(old, got) {
		t.Errorf("docs/diagrams/architecture/packages.dot is stale (-file +source):\n%s\n%s", cmp.Diff(strings.Split(string(old), "\n"), strings.Split(string(got), "\n")), refresh)
	}
	oldSVG, err := os.ReadFile(filepath.Join(diagramDir, "packages.svg"))
	if err != nil {
		t.Fatalf("%v; %s", err, refresh)
	}
	if !diagram.DotAvailable() {
		t.Skip("Graphviz dot is not installed (make diagrams-deps installs it): the SVG is not checked")
	}
	svg, warn, err := diagram.RenderSVG(got)
	if err != nil || strings.TrimSpace(warn) != "" {
		t.Fatalf("dot: %v %s", err, warn)
	}
	version := regexp.MustCompile(`Generated by graphviz version ([^ ]+)`)
	if vOld, vNew := version.FindSubmatch(oldSVG), version.FindSubmatch(svg); vOld != nil && vNew != nil && bytes.Equal(vOld[1], vNew[1]) && !bytes.Equal(oldSVG, svg) {
		t.Errorf("docs/diagrams/architecture/packages.svg is stale (not what dot %s makes of the DOT); %s", vNew[1], refresh)
	}
}
