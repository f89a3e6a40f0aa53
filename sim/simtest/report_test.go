package simtest

import (
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// TestCheckFailureNamesHTMLReport: Check's property, on a failure, names
// an HTML report of the shrunk run beside the trace, and writes it when
// the test ends. (rapid runs it here with a recorder, so that the
// failure it finds does not fail this test.)
func TestCheckFailureNamesHTMLReport(t *testing.T) {
	dir := t.TempDir()
	if f := flag.Lookup("rapid.nofailfile"); f != nil {
		old := f.Value.String()
		flag.Set("rapid.nofailfile", "true")
		defer flag.Set("rapid.nofailfile", old)
	}
	rec := &recorder{name: "TestCheckFailureNamesHTMLReport/inner"}
	t.Run("inner", func(t *testing.T) {
		rapid.Check(rec, property(t, "../../scenarios/seed2-qemu-bodge-4.2.toml", Options{TraceDir: dir}, nil, true))
	})
	log := rec.log.String()
	if !rec.failed {
		t.Fatalf("rapid found no failure:\n%s", log)
	}
	m := regexp.MustCompile(`step through it in a browser: (\S+\.html)`).FindAllStringSubmatch(log, -1)
	if len(m) == 0 {
		t.Fatalf("the failure names no HTML report:\n%s", log)
	}
	path := m[len(m)-1][1]
	page, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the report the failure names: %v", err)
	}
	if !strings.Contains(string(page), "counterexample of no-premature-teardown in seed2-qemu-bodge-4.2") {
		t.Errorf("%s does not step through the failure", path)
	}
	if !strings.HasPrefix(path, dir) {
		t.Errorf("report %s not under TraceDir %s", path, dir)
	}
	if !strings.Contains(log, "replay it with: go run github.com/xbcheck/xbcheck/cmd/xbsim replay "+dir) {
		t.Errorf("the failure lacks the replay command:\n%s", log)
	}
}
