package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/xbcheck/xbcheck/internal/atomicfile"
	"github.com/xbcheck/xbcheck/report"
)

// htmlRun is the report.Run of a check.
func htmlRun(args []string, rep Report) *report.Run {
	run := &report.Run{Title: fmt.Sprintf("xbcheck: %d scenarios", len(rep.Scenarios)), Command: "xbcheck " + strings.Join(args, " ")}
	if len(rep.Scenarios) == 1 {
		run.Title = "xbcheck: " + rep.Scenarios[0].Name
	}
	for i := range rep.Scenarios {
		run.Scenarios = append(run.Scenarios, reportScenario(&rep.Scenarios[i]))
	}
	return run
}

func reportScenario(sr *ScenarioReport) report.Scenario {
	sc := report.Scenario{Name: sr.Name, File: sr.File, Description: sr.description, Verdict: sr.Verdict, Violated: sr.Violated,
		Expect: expectText(sr), Match: sr.Match, Reason: sr.Reason, Error: sr.Error, System: sr.sys}
	if sc.Name == "" {
		sc.Name = sr.File
	}
	if sr.Error == "" {
		st := sr.Stats
		sc.Stats = &st
	}
	for _, c := range sr.Counterexamples {
		sc.Traces = append(sc.Traces, report.Trace{Trace: c.Trace, Kind: c.Kind})
	}
	return sc
}

func expectText(sr *ScenarioReport) string {
	if sr.Expect == "violation" {
		return "violation(" + sr.ExpectViolates + ")"
	}
	return sr.Expect
}

// checkOutDir fails early, before any checking, when dir cannot be made.
func checkOutDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return nil
}

// checkOutFile fails early when file's directory does not exist or file
// is a directory.
func checkOutFile(file string) error {
	if fi, err := os.Stat(file); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a directory", file)
	}
	if fi, err := os.Stat(filepath.Dir(file)); err != nil {
		return err
	} else if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", filepath.Dir(file))
	}
	return nil
}

// writeHTML writes the report of a check to dir/index.html.
func writeHTML(dir string, args []string, rep Report, stderr io.Writer) error {
	opt := report.Options{}
	if report.DotRenderer() == nil {
		fmt.Fprintln(stderr, "xbcheck: dot is not installed: the HTML report has no diagrams (apt-get install graphviz)")
	}
	path := filepath.Join(dir, "index.html")
	if err := report.Write(path, htmlRun(args, rep), opt); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "xbcheck: report written to %s\n", path)
	return nil
}

// writeJUnit writes the verdicts as JUnit XML to file, atomically.
func writeJUnit(file string, rep Report) error {
	var scs []report.Scenario
	for i := range rep.Scenarios {
		scs = append(scs, reportScenario(&rep.Scenarios[i]))
	}
	host, _ := os.Hostname()
	out, err := report.JUnit("xbcheck", scs, report.JUnitOptions{Timestamp: time.Now(), Hostname: host})
	if err != nil {
		return err
	}
	return atomicfile.Write(file, out, 0o644)
}
