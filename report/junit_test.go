package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xbcheck/xbcheck/checker"
)

// An xmlNode is a parsed element, for checking a document against a
// schema by hand.
type xmlNode struct {
	name  string
	attrs map[string]string
	kids  []*xmlNode
	text  string
}

func parseXML(t *testing.T, data []byte) *xmlNode {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	var stack []*xmlNode
	var root *xmlNode
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			n := &xmlNode{name: tk.Name.Local, attrs: map[string]string{}}
			for _, a := range tk.Attr {
				n.attrs[a.Name.Local] = a.Value
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(tk)
			}
		}
	}
	if root == nil {
		t.Fatal("empty XML document")
	}
	return root
}

var (
	isoTime = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$`)
	decimal = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
)

// checkJUnitSchema reports every way doc breaks the Apache Ant JUnit
// schema (JUnit.xsd, windyroad/JUnit-Schema): the elements, their order
// and the attributes it requires, with their types.
func checkJUnitSchema(doc *xmlNode) []string {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	intAttr := func(n *xmlNode, a string) int {
		v, ok := n.attrs[a]
		if !ok {
			bad("<%s> lacks the required attribute %s", n.name, a)
			return -1
		}
		i, err := strconv.Atoi(v)
		if err != nil {
			bad("<%s %s=%q> is not an xs:int", n.name, a, v)
		}
		return i
	}
	nonEmpty := func(n *xmlNode, a string) {
		if strings.TrimSpace(n.attrs[a]) == "" {
			bad("<%s> lacks the required non-empty attribute %s", n.name, a)
		}
	}
	decAttr := func(n *xmlNode, a string) {
		if v, ok := n.attrs[a]; !ok || !decimal.MatchString(v) {
			bad("<%s %s=%q>: want an xs:decimal", n.name, a, v)
		}
	}
	if doc.name != "testsuites" {
		bad("root element <%s>; want <testsuites>", doc.name)
		return errs
	}
	for id, s := range doc.kids {
		if s.name != "testsuite" {
			bad("<testsuites> holds <%s>", s.name)
			continue
		}
		nonEmpty(s, "name")
		nonEmpty(s, "package")
		nonEmpty(s, "hostname")
		if intAttr(s, "id") != id {
			bad("testsuite id %q; want %d", s.attrs["id"], id)
		}
		if !isoTime.MatchString(s.attrs["timestamp"]) {
			bad("testsuite timestamp %q: want YYYY-MM-DDThh:mm:ss without a zone", s.attrs["timestamp"])
		}
		tests, failures, errors := intAttr(s, "tests"), intAttr(s, "failures"), intAttr(s, "errors")
		decAttr(s, "time")
		// properties, testcase*, system-out, system-err: in this order.
		var order []string
		for _, k := range s.kids {
			if len(order) == 0 || order[len(order)-1] != k.name || k.name != "testcase" {
				order = append(order, k.name)
			}
		}
		want := []string{"properties", "testcase", "system-out", "system-err"}
		if len(s.kids) > 0 && !hasTestcase(s) {
			want = []string{"properties", "system-out", "system-err"}
		}
		if strings.Join(order, ",") != strings.Join(want, ",") {
			bad("testsuite children %v; want %v", order, want)
		}
		nCases, nFail, nErr := 0, 0, 0
		for _, k := range s.kids {
			switch k.name {
			case "properties":
				for _, p := range k.kids {
					if p.name != "property" {
						bad("<properties> holds <%s>", p.name)
					}
					nonEmpty(p, "name")
					if _, ok := p.attrs["value"]; !ok {
						bad("<property> lacks value")
					}
				}
			case "testcase":
				nCases++
				nonEmpty(k, "name")
				nonEmpty(k, "classname")
				decAttr(k, "time")
				if len(k.kids) > 1 {
					bad("testcase %s holds %d elements; the schema allows one of skipped, error, failure", k.attrs["name"], len(k.kids))
				}
				for _, c := range k.kids {
					switch c.name {
					case "failure", "error":
						if c.attrs["type"] == "" {
							bad("<%s> of %s lacks the required type", c.name, k.attrs["name"])
						}
						if c.name == "failure" {
							nFail++
						} else {
							nErr++
						}
					case "skipped":
					default:
						bad("testcase %s holds <%s>", k.attrs["name"], c.name)
					}
				}
			}
		}
		if tests != nCases || failures != nFail || errors != nErr {
			bad("testsuite counts tests=%d failures=%d errors=%d; it holds %d, %d, %d", tests, failures, errors, nCases, nFail, nErr)
		}
	}
	return errs
}

func hasTestcase(s *xmlNode) bool {
	for _, k := range s.kids {
		if k.name == "testcase" {
			return true
		}
	}
	return false
}

// TestJUnitSchema: xbcheck's JUnit output has one test case per scenario
// and every element and attribute the schema requires; a mismatch is a
// failure carrying the trace, an invalid scenario an error, an unknown
// verdict a failure of type unknown.
func TestJUnitSchema(t *testing.T) {
	run := checked(t, "seed1-backend-gone-4.10", "seed1-backend-gone-4.11", "seed2-qemu-bodge-4.2")
	scs := run.Scenarios
	scs[2].Match = false // as if it were expected to pass
	scs[2].Expect = "ok"
	scs = append(scs,
		Scenario{Name: "bad", File: "scenarios/bad.toml", Error: "xbcheck: scenarios/bad.toml:3: unknown key \"kidn\""},
		Scenario{Name: "cut", File: "other/dir/cut.toml", Verdict: checker.Unknown, Expect: "ok", Reason: "state bound reached", Stats: &checker.Stats{Elapsed: 1500 * time.Millisecond}})
	out, err := JUnit("xbcheck", scs, JUnitOptions{Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600)), Properties: map[string]string{"version": "test"}})
	if err != nil {
		t.Fatal(err)
	}
	doc := parseXML(t, out)
	for _, e := range checkJUnitSchema(doc) {
		t.Error(e)
	}
	suite := doc.kids[0]
	if got := suite.attrs["timestamp"]; got != "2026-01-02T02:04:05" {
		t.Errorf("timestamp %q; want UTC 2026-01-02T02:04:05", got)
	}
	cases := map[string]*xmlNode{}
	var names []string
	for _, k := range suite.kids {
		if k.name == "testcase" {
			cases[k.attrs["name"]] = k
			names = append(names, k.attrs["name"])
		}
	}
	if want := []string{"seed1-backend-gone-4.10", "seed1-backend-gone-4.11", "seed2-qemu-bodge-4.2", "bad", "cut"}; strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("test cases %v; want one per scenario, %v", names, want)
	}
	if c := cases["seed1-backend-gone-4.10"]; len(c.kids) != 0 {
		t.Errorf("a violation as expected is not a failure: %+v", c.kids[0])
	}
	f := cases["seed2-qemu-bodge-4.2"].kids
	if len(f) != 1 || f[0].name != "failure" || f[0].attrs["type"] != "mismatch" ||
		f[0].attrs["message"] != "verdict violation(no-premature-teardown), expected ok" ||
		!strings.Contains(f[0].text, "trace scenario=seed2-qemu-bodge-4.2 property=no-premature-teardown") ||
		!strings.Contains(f[0].text, "\nstep 1 ") {
		t.Errorf("the mismatch's failure: %+v", f)
	}
	if e := cases["bad"].kids; len(e) != 1 || e[0].name != "error" || !strings.Contains(e[0].attrs["message"], "bad.toml:3") {
		t.Errorf("the invalid scenario's error: %+v", e)
	}
	if u := cases["cut"].kids; len(u) != 1 || u[0].attrs["type"] != "unknown" || cases["cut"].attrs["time"] != "1.500000" || cases["cut"].attrs["classname"] != "xbcheck.other.dir" {
		t.Errorf("the unknown verdict: %+v %v", u, cases["cut"].attrs)
	}
	var sysout string
	for _, k := range suite.kids {
		if k.name == "system-out" {
			sysout = k.text
		}
	}
	if !strings.Contains(sysout, "seed1-backend-gone-4.10: violation(result-reflects-state) as expected") {
		t.Errorf("system-out lacks the expected counterexample:\n%s", sysout)
	}
}

// TestJUnitSchemaCheckFails: the schema check itself rejects documents
// that break the schema, so that TestJUnitSchema can fail.
func TestJUnitSchemaCheckFails(t *testing.T) {
	for _, doc := range []string{
		`<testsuite name="x"/>`,
		`<testsuites><testsuite name="x" package="x" id="0" timestamp="2026-01-02T03:04:05Z" hostname="h" tests="0" failures="0" errors="0" time="0"><properties/><system-out/><system-err/></testsuite></testsuites>`,
		`<testsuites><testsuite name="x" package="x" id="0" timestamp="2026-01-02T03:04:05" hostname="h" tests="1" failures="0" errors="0" time="0"><properties/><testcase name="a" classname="c" time="0"/><system-out/></testsuite></testsuites>`,
		`<testsuites><testsuite name="x" package="x" id="0" timestamp="2026-01-02T03:04:05" hostname="h" tests="1" failures="1" errors="0" time="0"><properties/><testcase name="a" classname="c" time="0"><failure message="m"/></testcase><system-out/><system-err/></testsuite></testsuites>`,
		`<testsuites><testsuite name="x" package="x" id="0" timestamp="2026-01-02T03:04:05" hostname="h" tests="2" failures="0" errors="0" time="0"><properties/><testcase name="a" classname="c" time="0"/><system-out/><system-err/></testsuite></testsuites>`,
	} {
		if errs := checkJUnitSchema(parseXML(t, []byte(doc))); len(errs) == 0 {
			t.Errorf("accepted %s", doc)
		}
	}
}
