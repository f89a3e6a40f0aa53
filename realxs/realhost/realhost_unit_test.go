package realhost

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/realxs/conform"
	"github.com/xbcheck/xbcheck/realxs/xstrace"
	"github.com/xbcheck/xbcheck/scenario"
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

// SameShape: a run that takes the counterexample's steps with an unseen
// step (blkfront unregistering) at another place has its shape; one
// whose visible steps differ does not.
func TestSameShape(t *testing.T) {
	c, err := scenario.Load("../../scenarios/vbd-remove-backend-unbound-4.17.toml")
	if err != nil {
		t.Fatal(err)
	}
	res := checker.Check(c.System, c.Properties, checker.Options{})
	if res.Verdict != checker.Violation {
		t.Fatalf("verdict %v", res.Verdict)
	}
	cex := res.Violations[0].Path
	sys := c.System
	name := func(id int32) string { return sys.Trans[id].Name }
	// Move blkfront's "directory removed" one step later.
	i := slices.IndexFunc(cex, func(id int32) bool { return name(id) == "directory removed" })
	if i < 0 || i+1 >= len(cex) {
		t.Fatalf("no unseen step in %v", cex)
	}
	moved := slices.Clone(cex)
	moved[i], moved[i+1] = moved[i+1], moved[i]
	if !SameShape(sys, moved, cex) {
		t.Error("an unseen step moved: not the same shape")
	}
	if got := Violated(c, moved); !slices.Equal(got, []string{"result-reflects-state"}) {
		t.Errorf("Violated = %v", got)
	}
	// Swap the first two visible steps' order: another shape.
	var vis []int
	for k, id := range cex {
		for _, op := range sys.Trans[id].Ops {
			if op.Kind.IsWrite() {
				vis = append(vis, k)
				break
			}
		}
	}
	swapped := slices.Clone(cex)
	swapped[vis[0]], swapped[vis[1]] = swapped[vis[1]], swapped[vis[0]]
	if SameShape(sys, swapped, cex) {
		t.Error("visible steps swapped: same shape")
	}
	if SameShape(sys, cex[:len(cex)-1], cex) {
		t.Error("a step short: same shape")
	}
}

// xlGuests reads the domains but dom0 from `xl list` as xl 4.17 prints
// it, a dying domain named "(null)" included.
func TestXLGuests(t *testing.T) {
	out := "Name                                        ID   Mem VCPUs\tState\tTime(s)\n" +
		"Domain-0                                     0   512     2     r-----      41.2\n" +
		"guest1                                       3   128     1     -b----       2.9\n" +
		"(null)                                       4     0     1     --p--d       0.4\n"
	want := []xlDomain{{Name: "guest1", ID: 3}, {Name: "(null)", ID: 4}}
	if diff := cmp.Diff(want, xlGuests(out)); diff != "" {
		t.Errorf("xlGuests (-want +got):\n%s", diff)
	}
	if got := xlGuests(out[:strings.Index(out, "guest1")]); len(got) != 0 {
		t.Errorf("dom0 alone: %v", got)
	}
}

// TestCoarserNames: a group the model explains with several steps is
// named after them, without devices; one whose changes cancel out (no
// step) after its writers, never as a bare "coarser: " (a C xenstored
// run's xl destroy during xl block-detach -f: the hotplug script's
// hotplug-status write, then the toolstack's removal of the backend).
func TestCoarserNames(t *testing.T) {
	for _, tc := range []struct {
		g    conform.Group
		want string
	}{
		{conform.Group{Trans: []string{"blkfront(xvdb): probe", "blkfront(xvdb): sees InitWait"}}, "coarser: blkfront: probe, blkfront: sees InitWait"},
		{conform.Group{Writers: []string{"hotplug", "toolstack"}}, "coarser: no step for hotplug, toolstack (no net change)"},
	} {
		if got := Coarser(tc.g); got != tc.want {
			t.Errorf("Coarser(%+v) = %q, want %q", tc.g, got, tc.want)
		}
	}
}
