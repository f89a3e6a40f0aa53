package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDiagramFlowchartToStdout(t *testing.T) {
	code, out, errb := runXbcheck(t, "diagram", "flowchart", "--version", "4.2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb)
	}
	for _, want := range []string{"// Code generated", `digraph "libxl-4.2-remove"`, "WAIT 2.0s", "SET B.E. STATE:=6"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestDiagramVersus(t *testing.T) {
	code, out, errb := runXbcheck(t, "diagram", "flowchart", "--version", "4.10", "--versus", "4.11")
	if code != 0 || !strings.Contains(out, "[4.11 only] backend gone") {
		t.Fatalf("exit %d; want the 4.11-only edge:\n%s", code, errb)
	}
}

func TestDiagramWritesFiles(t *testing.T) {
	dir := t.TempDir()
	code, _, errb := runXbcheck(t, "diagram", "sequence", "-o", dir, "../../scenarios/seed1-backend-gone-4.10.toml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb)
	}
	if _, err := os.Stat(filepath.Join(dir, "seq-seed1-backend-gone-4.10.result-reflects-state.dot")); err != nil {
		t.Error(err)
	}
	for _, args := range [][]string{
		{"diagram", "driver", "-o", dir, "../../scenarios/vbd-remove-4.17.toml"},
		{"diagram", "driver", "--driver", "pcifront", "-o", dir},
		{"diagram", "states", "-o", dir, "../../scenarios/seed1-backend-gone-4.10.toml"},
		{"diagram", "flowchart", "-o", dir, "--actor", "libxl-remove(xvda)", "../../scenarios/vbd-remove-4.17.toml"},
	} {
		if code, _, errb := runXbcheck(t, args...); code != 0 {
			t.Errorf("%v: exit %d: %s", args, code, errb)
		}
	}
	for _, f := range []string{"vbd-remove-4.17.blkback_xvda_.dot", "driver-pcifront.dot", "states-seed1-backend-gone-4.10.dot", "vbd-remove-4.17.libxl-remove_xvda_.dot"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}

func TestDiagramRefusesLargeGraphs(t *testing.T) {
	code, out, errb := runXbcheck(t, "diagram", "states", "--max-states", "10", "../../scenarios/seed3-concurrent-attach-4.17.toml")
	if code != 2 || out != "" {
		t.Fatalf("exit %d, stdout %q; want 2 and nothing", code, out)
	}
	want := "xbcheck diagram: seed3-concurrent-attach-4.17 has more than 10 reachable states: too many to draw readably (raise --max-states or draw a smaller scenario)\n"
	if errb != want {
		t.Errorf("stderr %q; want %q", errb, want)
	}
}

func TestDiagramUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"diagram"},
		{"diagram", "pie"},
		{"diagram", "states"},
		{"diagram", "all"},
		{"diagram", "driver", "--driver", "floppy"},
		{"diagram", "flowchart", "--version", "3.9"},
	} {
		if code, _, errb := runXbcheck(t, args...); code != 2 || errb == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 with a message", args, code, errb)
		}
	}
}

func TestSeqDir(t *testing.T) {
	dir := t.TempDir()
	code, _, errb := runXbcheck(t, "--quiet", "--seq-dir", dir, "../../scenarios/seed1-backend-gone-4.10.toml", "../../scenarios/seed1-backend-gone-4.11.toml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb)
	}
	m, _ := filepath.Glob(filepath.Join(dir, "*.dot"))
	if len(m) != 1 || filepath.Base(m[0]) != "seq-seed1-backend-gone-4.10.result-reflects-state.dot" {
		t.Errorf("sequence diagrams %v; want the one of the 4.10 counterexample", m)
	}
}
