package report

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/diagram"
	"github.com/xbcheck/xbcheck/internal/atomicfile"
)

//go:embed assets/report.css
var css string

//go:embed assets/report.js
var js string

//go:embed assets/report.html
var pageTemplate string

// Options say how HTML draws a report.
type Options struct {
	// Render turns DOT into SVG. Nil: Graphviz's dot when it is installed
	// (DotRenderer), otherwise the report has no diagrams and says so.
	Render func(dot []byte) ([]byte, error)
	// NoDiagrams leaves the diagrams out.
	NoDiagrams bool
	// MaxStates is the largest state graph drawn (0: diagram's default,
	// negative: none).
	MaxStates int
	// OmitTimes leaves out elapsed times, so that the same run gives the
	// same bytes (for golden files).
	OmitTimes bool
}

// DotRenderer renders DOT with Graphviz's dot, or is nil when dot is not
// installed.
func DotRenderer() func([]byte) ([]byte, error) {
	if !diagram.DotAvailable() {
		return nil
	}
	return func(src []byte) ([]byte, error) {
		svg, _, err := diagram.RenderSVG(src)
		return svg, err
	}
}

type view struct {
	Title, Command, Summary string
	DiagramNote             string
	Scenarios               []scenarioView
	Traces                  []traceView
	CSS                     template.CSS
	JS                      template.JS
	Data                    template.JS
}

type scenarioView struct {
	Name, File, Description string
	Verdict, Expect, Mark   string
	Match                   bool
	Stats, Reason, Error    string
	Links                   []linkView
}

type linkView struct {
	Href, Text string
}

type traceView struct {
	ID, Title, Note string
	N               int
	HasBad          bool
	Seq             template.HTML
	Charts          []chartView
	States          template.HTML
	HasReal         bool
	RealSource      string
}

type chartView struct {
	Actor int
	Name  string
	Title string
	SVG   template.HTML
}

// HTML renders run as one self-contained HTML page.
func HTML(run *Run, opt Options) ([]byte, error) {
	render := opt.Render
	if render == nil && !opt.NoDiagrams {
		render = DotRenderer()
	}
	maxStates := opt.MaxStates
	if maxStates == 0 {
		maxStates = diagram.DefaultMaxStates
	}
	v := view{Title: run.Title, Command: run.Command, CSS: template.CSS(css), JS: template.JS(js)}
	if render == nil {
		v.DiagramNote = "Graphviz's dot was not installed when this report was written: the diagrams are left out (apt-get install graphviz)."
		if opt.NoDiagrams {
			v.DiagramNote = "Diagrams left out."
		}
	}
	var data pageData
	var charts []*chartRef
	var tviews []*traceView
	var tcs []*traceCharts
	matched := 0
	for si := range run.Scenarios {
		sc := &run.Scenarios[si]
		sv := scenarioView{Name: sc.Name, File: sc.File, Description: sc.Description, Verdict: verdictText(sc), Expect: sc.Expect,
			Match: sc.Match, Reason: sc.Reason, Error: sc.Error, Stats: statsText(sc.Stats, opt.OmitTimes)}
		switch {
		case sc.Error != "":
			sv.Mark = "error"
		case sc.Expect == "":
			sv.Mark = ""
		case sc.Match:
			sv.Mark = "as expected"
			matched++
		default:
			sv.Mark = "MISMATCH"
		}
		for ti := range sc.Traces {
			t := &sc.Traces[ti]
			id := fmt.Sprintf("c%d", len(data.Traces))
			var ch *traceCharts
			if render != nil {
				ms := maxStates
				if ms < 0 {
					ms = 0
				}
				var err error
				if ch, err = newTraceCharts(id, sc.System, t.Trace, ms); err != nil {
					return nil, err
				}
				charts = append(charts, ch.all()...)
			}
			d, err := buildTrace(id, sc, t, ch)
			if err != nil {
				return nil, err
			}
			data.Traces = append(data.Traces, d)
			tv := &traceView{ID: id, Title: d.Title, Note: d.Note, N: len(d.Steps), HasBad: d.Violating > 0, HasReal: t.Real != nil}
			if t.Real != nil {
				tv.RealSource = t.Real.Source
			}
			if ch != nil {
				for ai, r := range ch.actors {
					if r != nil {
						tv.Charts = append(tv.Charts, chartView{Actor: ai, Name: sc.System.Actors[ai].Name, Title: r.Title})
					}
				}
			}
			tviews = append(tviews, tv)
			tcs = append(tcs, ch)
			text := "step through"
			if d.Violating > 0 {
				text = d.Property
			}
			sv.Links = append(sv.Links, linkView{Href: "#" + id + "-s0", Text: text})
		}
		v.Scenarios = append(v.Scenarios, sv)
	}
	if err := renderAll(charts, render); err != nil {
		return nil, err
	}
	for i, tv := range tviews {
		ch := tcs[i]
		if ch == nil {
			continue
		}
		tv.Seq = template.HTML(ch.seq.svg)
		for j := range tv.Charts {
			tv.Charts[j].SVG = template.HTML(ch.actors[tv.Charts[j].Actor].svg)
		}
		if ch.states != nil {
			tv.States = template.HTML(ch.states.svg)
		}
	}
	for _, tv := range tviews {
		v.Traces = append(v.Traces, *tv)
	}
	if n := len(run.Scenarios); n > 0 {
		with := 0
		for _, s := range v.Scenarios {
			if s.Expect != "" || s.Error != "" {
				with++
			}
		}
		if with > 0 {
			v.Summary = fmt.Sprintf("%d of %d scenarios as expected", matched, with)
		}
	}
	js, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	v.Data = template.JS(js)
	tmpl, err := template.New("report").Parse(pageTemplate)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Write writes the report of run to path atomically.
func Write(path string, run *Run, opt Options) error {
	page, err := HTML(run, opt)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, page, 0o644)
}

// renderAll renders every chart, each distinct DOT once, on all cores.
func renderAll(charts []*chartRef, render func([]byte) ([]byte, error)) error {
	if render == nil {
		return nil
	}
	type job struct {
		svg string
		err error
		wg  sync.WaitGroup
	}
	jobs := map[string]*job{}
	var order []string
	for _, c := range charts {
		if _, ok := jobs[string(c.dot)]; !ok {
			jobs[string(c.dot)] = &job{}
			order = append(order, string(c.dot))
		}
	}
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for _, src := range order {
		j := jobs[src]
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			svg, err := render([]byte(src))
			if err != nil {
				j.err = err
				return
			}
			j.svg = inlineSVG(string(svg))
		}()
	}
	wg.Wait()
	for _, c := range charts {
		j := jobs[string(c.dot)]
		if j.err != nil {
			return fmt.Errorf("report: %s: %v", c.chart.Name, j.err)
		}
		c.svg = strings.ReplaceAll(j.svg, placeholder, c.prefix)
	}
	return nil
}

// inlineSVG drops what comes before the <svg> element (the XML
// declaration, the doctype, dot's comment), which HTML does not want.
func inlineSVG(s string) string {
	if i := strings.Index(s, "<svg"); i >= 0 {
		s = s[i:]
	}
	return strings.TrimSpace(s)
}

func verdictText(sc *Scenario) string {
	switch {
	case sc.Error != "":
		return "error"
	case sc.Verdict == checker.Violation && len(sc.Violated) > 0:
		return "violation(" + strings.Join(sc.Violated, ",") + ")"
	}
	return string(sc.Verdict)
}

func statsText(s *checker.Stats, omitTimes bool) string {
	if s == nil {
		return ""
	}
	t := fmt.Sprintf("%d states, %d transitions", s.States, s.Transitions)
	if s.Symmetry {
		t = fmt.Sprintf("%d state classes (symmetry), %d transitions", s.States, s.Transitions)
	}
	if !omitTimes {
		t += ", " + s.Elapsed.Round(time.Microsecond).String()
	}
	return t
}
