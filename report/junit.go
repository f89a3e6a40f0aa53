package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/xbcheck/xbcheck/checker"
)

// JUnitOptions are what a JUnit document records besides the results.
type JUnitOptions struct {
	// Timestamp is when the run started (written in UTC, without a zone,
	// as the schema wants).
	Timestamp time.Time
	// Hostname is the machine it ran on ("localhost" when empty).
	Hostname string
	// Properties are recorded as the suite's properties (name → value).
	Properties map[string]string
}

// The elements of the Apache Ant JUnit schema (JUnit.xsd, as published in
// windyroad/JUnit-Schema): a testsuites root holding testsuite elements
// with package and id, each with properties, testcase*, system-out and
// system-err in that order; a testcase holds at most one of failure,
// error and skipped, each with a required type.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Package    string          `xml:"package,attr"`
	ID         int             `xml:"id,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Hostname   string          `xml:"hostname,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  cdata           `xml:"system-out"`
	SystemErr  cdata           `xml:"system-err"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

// cdata is an element whose text is written as CDATA, so that a trace
// keeps its lines.
type cdata struct {
	Text string `xml:",cdata"`
}

// JUnit renders the scenarios as one JUnit test suite called suite: a
// test case per scenario, named after it, with classname SUITE.DIR (the
// scenario file's directory, dots for slashes). A verdict other than the
// expected one is a failure (type "mismatch"; "unknown" when the
// exploration was cut short) whose message says both verdicts and whose
// text is every counterexample; a scenario that could not be checked is
// an error (type "invalid-scenario"). The counterexamples of the
// scenarios that violate as expected go to the suite's system-out.
func JUnit(suite string, scenarios []Scenario, opt JUnitOptions) ([]byte, error) {
	host := opt.Hostname
	if host == "" {
		host = "localhost"
	}
	ts := opt.Timestamp
	if ts.IsZero() {
		ts = time.Now()
	}
	s := junitSuite{Name: suite, Package: suite, Timestamp: ts.UTC().Format("2006-01-02T15:04:05"), Hostname: host}
	var total time.Duration
	var out strings.Builder
	names := make([]string, 0, len(opt.Properties))
	for k := range opt.Properties {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		s.Properties = append(s.Properties, junitProperty{Name: k, Value: opt.Properties[k]})
	}
	for i := range scenarios {
		sc := &scenarios[i]
		c := junitCase{Name: sc.Name, Classname: classname(suite, sc.File), File: sc.File, Time: "0"}
		if sc.Stats != nil {
			c.Time = seconds(sc.Stats.Elapsed)
			total += sc.Stats.Elapsed
		}
		traces := tracesText(sc)
		switch {
		case sc.Error != "":
			c.Error = &junitProblem{Type: "invalid-scenario", Message: sc.Error, Text: sc.Error}
			s.Errors++
		case !sc.Match:
			typ := "mismatch"
			if sc.Verdict == checker.Unknown {
				typ = "unknown"
			}
			msg := fmt.Sprintf("verdict %s, expected %s", verdictText(sc), sc.Expect)
			if sc.Reason != "" {
				msg += " (" + sc.Reason + ")"
			}
			text := msg + "\n"
			if traces != "" {
				text += "\n" + traces
			}
			c.Failure = &junitProblem{Type: typ, Message: msg, Text: text}
			s.Failures++
		case traces != "":
			fmt.Fprintf(&out, "%s: %s as expected\n%s\n", sc.Name, verdictText(sc), traces)
		}
		s.Cases = append(s.Cases, c)
	}
	s.Tests = len(s.Cases)
	s.Time = seconds(total)
	s.SystemOut = cdata{out.String()}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitSuite{s}}); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// tracesText is every trace of sc in the text form, each under a line
// saying what it is.
func tracesText(sc *Scenario) string {
	var b strings.Builder
	for _, t := range sc.Traces {
		if t.Trace.Property != "" {
			fmt.Fprintf(&b, "counterexample of %s", t.Trace.Property)
			if t.Kind != "" {
				fmt.Fprintf(&b, " (%s)", t.Kind)
			}
			fmt.Fprintf(&b, ", %d steps:\n", len(t.Trace.Steps))
		}
		b.WriteString(t.Trace.Text())
	}
	return b.String()
}

// classname is SUITE.DIR for a scenario file DIR/NAME.toml.
func classname(suite, file string) string {
	dir := file
	if i := strings.LastIndexByte(dir, '/'); i >= 0 {
		dir = dir[:i]
	} else {
		dir = ""
	}
	dir = strings.Trim(strings.ReplaceAll(strings.TrimLeft(dir, "./"), "/", "."), ".")
	if dir == "" {
		return suite
	}
	return suite + "." + dir
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.6f", d.Seconds()) }
