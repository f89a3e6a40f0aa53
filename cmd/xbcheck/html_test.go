package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHTMLAndJUnit(t *testing.T) {
	dir := t.TempDir()
	junit := filepath.Join(dir, "junit.xml")
	code, _, errb := runXbcheck(t, "--quiet", "--html", filepath.Join(dir, "report"), "--junit", junit,
		"../../scenarios/seed1-backend-gone-4.10.toml", "../../scenarios/seed1-backend-gone-4.11.toml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb)
	}
	page, err := os.ReadFile(filepath.Join(dir, "report", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"seed1-backend-gone-4.10", "seed1-backend-gone-4.11", `<section class="trace" id="c0"`, "2 of 2 scenarios as expected"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if !strings.Contains(errb, "report written to") {
		t.Errorf("stderr does not say where the report is: %q", errb)
	}
	x, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(x), "<testcase "); n != 2 || strings.Contains(string(x), "<failure") {
		t.Errorf("JUnit has %d test cases (want 2, no failure):\n%s", n, x)
	}
}

func TestJUnitMismatchFails(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("../../scenarios/seed1-backend-gone-4.10.toml")
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "wrong.toml")
	os.WriteFile(f, []byte(strings.Replace(string(src), "expect = \"violation\"\nviolates = \"result-reflects-state\"", "expect = \"ok\"", 1)), 0o644)
	junit := filepath.Join(dir, "junit.xml")
	code, _, _ := runXbcheck(t, "--quiet", "--junit", junit, f)
	if code != 1 {
		t.Fatalf("exit %d; want 1", code)
	}
	x, _ := os.ReadFile(junit)
	if !strings.Contains(string(x), `<failure message="verdict violation(result-reflects-state), expected ok" type="mismatch">`) ||
		!strings.Contains(string(x), "step 7 libxl-remove(vif0)") {
		t.Errorf("the mismatch is not a failure with its trace:\n%s", x)
	}
}

func TestHTMLJUnitBadPaths(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--html", file}, "xbcheck: --html: mkdir " + file + ": not a directory\n"},
		{[]string{"--junit", filepath.Join(dir, "no", "x.xml")}, "xbcheck: --junit: stat " + filepath.Join(dir, "no") + ": no such file or directory\n"},
		{[]string{"--junit", dir}, "xbcheck: --junit: " + dir + " is a directory\n"},
	} {
		code, out, errb := runXbcheck(t, append(tc.args, "../../scenarios/seed1-backend-gone-4.10.toml")...)
		if code != 2 || out != "" || errb != tc.want {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2, nothing, %q", tc.args, code, out, errb, tc.want)
		}
	}
}
