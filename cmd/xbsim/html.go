package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/xbcheck/xbcheck/realxs/exec"
	"github.com/xbcheck/xbcheck/report"
	"github.com/xbcheck/xbcheck/sim"
	"github.com/xbcheck/xbcheck/trace"
)

// writeSimHTML writes the report of runs to dir/name.html and says where
// on stderr.
func writeSimHTML(dir, name, title, command string, sc report.Scenario, stderr io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if report.DotRenderer() == nil {
		fmt.Fprintln(stderr, "xbsim: dot is not installed: the HTML report has no diagrams (apt-get install graphviz)")
	}
	path := filepath.Join(dir, name+".html")
	run := &report.Run{Title: title, Command: command, Scenarios: []report.Scenario{sc}}
	if err := report.Write(path, run, report.Options{}); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "xbsim: report written to %s\n", path)
	return nil
}

// realTrace is what the xenstore run did, step by step, as the report's
// real-host record: each request with the daemon's paths, the watch
// events it delivered, and the divergence.
func realTrace(rep *exec.Report, where string) *report.RealTrace {
	if rep == nil {
		return nil
	}
	rt := &report.RealTrace{Source: fmt.Sprintf("xenstore run against %s, root %s", where, rep.Root), Entries: []report.RealEntry{}}
	for _, s := range rep.Steps {
		who := s.Actor
		if s.Observed {
			who += " (observed)"
		}
		for _, op := range s.Ops {
			rt.Entries = append(rt.Entries, report.RealEntry{Step: s.Step, Who: who, Text: op})
		}
		for w, n := range s.Events {
			rt.Entries = append(rt.Entries, report.RealEntry{Step: s.Step, Who: "xenstored", Text: fmt.Sprintf("%d watch event(s) on %s", n, w)})
		}
	}
	if d := rep.Divergence; d != nil {
		rt.Entries = append(rt.Entries, report.RealEntry{Step: d.Step, Who: "divergence", Text: strings.ReplaceAll(d.Error(), "\n", " ")})
	}
	return rt
}

// replayedTrace is tr cut to the steps the replay took, with their
// transition ids (a text trace has none).
func replayedTrace(tr *trace.Trace, res *sim.Replay) *trace.Trace {
	cp := *tr
	cp.Steps = append([]trace.Step(nil), tr.Steps[:len(res.Path)]...)
	for i, id := range res.Path {
		cp.Steps[i].ID = id
	}
	if len(cp.Steps) < len(tr.Steps) {
		cp.Property, cp.Loop = "", -1
	}
	return &cp
}
