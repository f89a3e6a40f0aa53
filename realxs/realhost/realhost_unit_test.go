package realhost

import (
	"strings"
	"testing"

	"github.com/xbcheck/xbcheck/realxs/xstrace"
)

// The example run (shared/xen-test-host/example-run) judged as the
// real-host tests judge their own runs: marks around block-attach and
// block-detach of xvdb, the scenarios made from the observations.
func TestJudgeExampleRun(t *testing.T) {
	tr, err := xstrace.ParseFile("../xstrace/testdata/cxenstored-attach-detach.trace.gz")
	if err != nil {
		t.Fatal(err)
	}
	first, off, gone := -1, -1, -1
	for i, ch := range tr.Changes {
		for _, op := range ch.Ops {
			if strings.Contains(op.Path, "/51728") && first < 0 {
				first = i
			}
			if strings.HasSuffix(op.Path, "51728/online") && op.Value == "0" {
				off = i
			}
			if op.Kind == "RM" && op.Path == "/local/domain/0/backend/vbd/1/51728" {
				gone = i + 1
			}
		}
	}
	tr.Marks = []xstrace.Mark{{Label: "a/start", Change: first}, {Label: "a/end", Change: off}, {Label: "d/start", Change: off}, {Label: "d/end", Change: gone}}
	xvda := Device{Name: "xvda", Kind: "vbd", DevID: 51712, State: "connected"}
	obs := []*Observation{
		{Op: "block-attach", Guest: "guest1", DomID: 1, DomState: "running", Devices: []Device{xvda, {Name: "xvdb", Kind: "vbd", DevID: 51728, State: "absent"}}, Model: []string{"add xvdb"}, Start: "a/start", End: "a/end"},
		{Op: "block-detach", Guest: "guest1", DomID: 1, DomState: "running", Devices: []Device{xvda, {Name: "xvdb", Kind: "vbd", DevID: 51728, State: "connected"}}, Model: []string{"remove xvdb"}, Start: "d/start", End: "d/end"},
	}
	s := &Summary{Xenstored: []string{"C"}}
	for _, o := range obs {
		r := Judge(tr, o)
		if r.Err != "" {
			t.Fatalf("%s: %s\n%s", o.Op, r.Err, r.Initial)
		}
		s.Results = append(s.Results, r)
	}
	if got, want := s.Line(), "realhost: 2 operations observed, 13 steps, 0 unexplained, 2 named divergences, 0 replays (0 violations reproduced), xenstored C"; got != want {
		t.Errorf("summary\n got %s\nwant %s", got, want)
	}
	fired, all := s.Coverage()
	if len(fired["blkback"]) == 0 || len(all["blkback"]) <= len(fired["blkback"]) {
		t.Errorf("blkback coverage: fired %q of %q", fired["blkback"], all["blkback"])
	}
	// An observation whose marks are missing is an error, not a pass.
	if r := Judge(tr, &Observation{Op: "x", Guest: "g", DomID: 1, DomState: "running", Start: "nope", End: "a/end"}); r.Err == "" {
		t.Error("missing mark: no error")
	}
}
