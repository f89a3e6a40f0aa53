package diagram

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/internal/atomicfile"
	"github.com/xbcheck/xbcheck/scenario"
	"github.com/xbcheck/xbcheck/trace"
)

// StateGraphScenarios are the scenarios whose state graph the gallery
// draws, with their counterexample.
var StateGraphScenarios = []string{"seed1-backend-gone-4.10", "seed2-qemu-bodge-4.2"}

// Gallery returns every diagram of docs/diagrams, in a fixed order: the
// removal flowchart of each version in FlowchartVersions, the 4.10/4.11
// comparison, the driver state machines, a sequence diagram per
// counterexample of each seed scenario (scenarioDir/seed*.toml) that
// expects a violation, and the state graphs of StateGraphScenarios.
func Gallery(scenarioDir string) ([]*Chart, error) {
	var out []*Chart
	for _, v := range FlowchartVersions {
		c, err := RemoveFlowchart(v)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	c, err := Fix9eaaedfcdee5()
	if err != nil {
		return nil, err
	}
	out = append(out, c)
	for _, d := range Drivers {
		c, err := DriverMachine(d)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	files, err := filepath.Glob(filepath.Join(scenarioDir, "seed*.toml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	for _, f := range files {
		comp, err := scenario.Load(f)
		if err != nil {
			return nil, err
		}
		if comp.Spec.Check.Expect != "violation" {
			continue
		}
		trs, _, err := Counterexamples(context.Background(), comp, 0)
		if err != nil {
			return nil, err
		}
		for _, tr := range trs {
			out = append(out, Sequence(tr))
		}
	}
	for _, name := range StateGraphScenarios {
		c, err := ScenarioStates(context.Background(), filepath.Join(scenarioDir, name+".toml"), 0)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Counterexamples checks a compiled scenario and returns a trace per
// violated property, and the checker's result.
func Counterexamples(ctx context.Context, comp *scenario.Compiled, maxStates int) ([]*trace.Trace, checker.Result, error) {
	opt := checker.Options{MaxStates: comp.Spec.Check.MaxStates, Context: ctx}
	if maxStates > 0 {
		opt.MaxStates = maxStates
	}
	res := checker.Check(comp.System, comp.Properties, opt)
	var trs []*trace.Trace
	for _, v := range res.Violations {
		tr, err := trace.FromPath(comp.System, comp.Spec.Name, v.Property, v.Path, v.Loop)
		if err != nil {
			return nil, res, fmt.Errorf("diagram: %s: counterexample of %s does not replay: %v", comp.Spec.Name, v.Property, err)
		}
		trs = append(trs, tr)
	}
	return trs, res, nil
}

// ScenarioStates draws the state graph of the scenario file path with its
// first counterexample highlighted, refusing graphs of more than limit
// states (0: DefaultMaxStates).
func ScenarioStates(ctx context.Context, path string, limit int) (*Chart, error) {
	comp, err := scenario.Load(path)
	if err != nil {
		return nil, err
	}
	sg, err := Explore(comp.System, limit)
	if err != nil {
		return nil, err
	}
	_, res, err := Counterexamples(ctx, comp, 0)
	if err != nil {
		return nil, err
	}
	title := "reachable states of " + comp.Spec.Name
	var p []int32
	if len(res.Violations) > 0 {
		p = res.Violations[0].Path
		title += " (counterexample of " + res.Violations[0].Property + ")"
	}
	return sg.Chart("states-"+comp.Spec.Name, title, p)
}

// DotAvailable reports whether Graphviz's dot is on the PATH.
func DotAvailable() bool {
	_, err := exec.LookPath("dot")
	return err == nil
}

// RenderSVG runs dot -Tsvg on src and returns the SVG and whatever dot
// wrote on stderr (its warnings).
func RenderSVG(src []byte) (svg []byte, warnings string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "dot", "-Tsvg")
	cmd.Stdin = bytes.NewReader(src)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, errb.String(), fmt.Errorf("dot -Tsvg: %v: %s", err, strings.TrimSpace(errb.String()))
	}
	return out.Bytes(), errb.String(), nil
}

// WriteOptions say how Write writes diagrams.
type WriteOptions struct {
	// SVG renders each diagram with dot as well; dot must be installed.
	SVG bool
	// Prune removes the *.dot and *.svg files of the directory that are
	// not among the diagrams written (the directory holds only these).
	Prune bool
}

// Write writes each chart to dir as NAME.dot and, with opt.SVG, NAME.svg,
// each atomically. A warning of dot is an error.
func Write(dir string, charts []*Chart, opt WriteOptions) error {
	if opt.SVG && !DotAvailable() {
		return fmt.Errorf("diagram: Graphviz dot is not installed (Debian: apt-get install graphviz)")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, c := range charts {
		src, err := c.DOT()
		if err != nil {
			return err
		}
		base := filepath.Join(dir, FileName(c.Name))
		if err := atomicfile.Write(base+".dot", src, 0o644); err != nil {
			return err
		}
		keep[base+".dot"] = true
		if !opt.SVG {
			continue
		}
		svg, warn, err := RenderSVG(src)
		if err != nil {
			return fmt.Errorf("%s: %v", base+".dot", err)
		}
		if strings.TrimSpace(warn) != "" {
			return fmt.Errorf("%s: dot warns: %s", base+".dot", strings.TrimSpace(warn))
		}
		if err := atomicfile.Write(base+".svg", svg, 0o644); err != nil {
			return err
		}
		keep[base+".svg"] = true
	}
	if !opt.Prune {
		return nil
	}
	for _, pat := range []string{"*.dot", "*.svg"} {
		old, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			return err
		}
		for _, f := range old {
			if !keep[f] && !(pat == "*.svg" && !opt.SVG) {
				if err := os.Remove(f); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// FileName is the file name (without extension) of a chart called name:
// the name with every character outside [A-Za-z0-9._-] replaced by '_'.
func FileName(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, name)
}
