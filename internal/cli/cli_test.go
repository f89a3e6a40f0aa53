package cli

import (
	"flag"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseInterspersed(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	q := fs.Bool("q", false, "")
	n := fs.Int("n", 0, "")
	pos, err := Parse(fs, []string{"a", "-q", "b", "-n", "3", "c"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, pos); diff != "" {
		t.Errorf("positional (-want +got):\n%s", diff)
	}
	if !*q || *n != 3 {
		t.Errorf("q=%v n=%d; want true 3", *q, *n)
	}
	if _, err := Parse(fs, []string{"-nope"}); err == nil {
		t.Error("an unknown flag was accepted")
	}
}
