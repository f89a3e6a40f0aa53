package conform

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/xbcheck/xbcheck/realxs/xstrace"
	"github.com/xbcheck/xbcheck/scenario"
)

// compile builds a one-device scenario of libxl 4.17 and C xenstored for
// guest1 (domain 1) and its disk xvdb (51728), as on the real host.
func compile(t *testing.T, state, op string) *scenario.Compiled {
	t.Helper()
	spec, err := scenario.Parse("real.toml", []byte(fmt.Sprintf(`
[toolstack]
kind = "libxl"
version = "4.17"
[xenstored]
conflict = "cxenstored"
[[domain]]
name = "guest1"
id = 1
kind = "pv"
[[device]]
name = "xvdb"
kind = "vbd"
frontend = "guest1"
devid = 51728
state = %q
[[operation]]
kind = %q
device = "xvdb"
[check]
properties = ["deadlock"]
expect = "ok"
`, state, op)))
	if err != nil {
		t.Fatal(err)
	}
	c, err := scenario.Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// segments splits the example run's changes into the block-attach and
// the block-detach of xvdb: the attach starts at the first change of
// 51728, the detach at libxl's online = 0.
func segments(tr *xstrace.Trace) (attach, detach [2]int) {
	first, off := -1, -1
	for i, ch := range tr.Changes {
		for _, op := range ch.Ops {
			if strings.Contains(op.Path, "/51728") && first < 0 {
				first = i
			}
			if strings.HasSuffix(op.Path, "51728/online") && op.Value == "0" {
				off = i
			}
		}
	}
	return [2]int{first, off}, [2]int{off, len(tr.Changes)}
}

type row struct {
	Writers string
	Trans   string
}

func rows(r *Report) []row {
	var out []row
	for _, g := range r.Groups {
		out = append(out, row{strings.Join(g.Writers, "+"), strings.Join(g.Trans, "; ")})
	}
	return out
}

// The real run of shared/xen-test-host/example-run: xl block-attach and
// block-detach on Xen 4.17 with Linux 6.1 blkback and blkfront, every
// change explained by the model.
func TestRealAttachDetach(t *testing.T) {
	tr, err := xstrace.ParseFile("../xstrace/testdata/cxenstored-attach-detach.trace.gz")
	if err != nil {
		t.Fatal(err)
	}
	attach, detach := segments(tr)
	for _, tc := range []struct {
		name, state, op string
		seg             [2]int
		steps, coarser  int
		want            []row
	}{
		{"attach", "absent", "add", attach, 9, 2, []row{
			{"toolstack", "libxl-add(xvdb): write entries; libxl-add(xvdb): commit"},
			{"dom0-kernel", "blkback(xvdb): probe"},
			// blkfront publishes ring-ref and event-channel, then switches
			// to Initialised in a second transaction.
			{"dom1-kernel", "blkfront(xvdb): probe; blkfront(xvdb): sees InitWait"},
			// The block script writes physical-device, blkback writes the
			// disk's size, the script writes hotplug-status, blkback
			// switches to Connected.
			{"hotplug+dom0-kernel", "blkback(xvdb): sees Initialised/Connected; libxl-add(xvdb): state InitWait; libxl-add(xvdb): run add script; libxl-add(xvdb): script succeeds; blkback(xvdb): gate, connect"},
			{"dom1-kernel", "blkfront(xvdb): sees Connected"},
		}},
		{"detach", "connected", "remove", detach, 4, 0, []row{
			{"toolstack", "libxl-remove(xvdb): initiate; libxl-remove(xvdb): WRITE B.E. STATE:=5; libxl-remove(xvdb): commit"},
			{"dom1-kernel", "blkfront(xvdb): sees Closing"},
			{"dom0-kernel", "blkback(xvdb): sees Closed, offline"},
			{"toolstack", "libxl-remove(xvdb): state Closed; libxl-remove(xvdb): run remove script; libxl-remove(xvdb): script exits; libxl-remove(xvdb): destroy (rc == 0); libxl-remove(xvdb): NUKE BACKEND; libxl-remove(xvdb): commit"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := compile(t, tc.state, tc.op)
			base := tr.Replay(xstrace.Store{}, 0, tc.seg[0])
			r := Check(c.System, tr, base, tc.seg[0], tc.seg[1], Options{})
			if !r.Initial {
				t.Fatalf("initial store differs:\n%s", r.InitialDiff)
			}
			if r.Steps != tc.steps || r.Explained != tc.steps || r.Unexplained != 0 || r.Coarser != tc.coarser {
				t.Errorf("%v; want %d steps, all explained, %d coarser", r, tc.steps, tc.coarser)
			}
			if d := cmp.Diff(tc.want, rows(r)); d != "" {
				t.Errorf("explanations (-want +got):\n%s", d)
			}
		})
	}
}

// A change the model cannot make is reported, with the diff, and the
// check goes on: the frontend's Connected written as Closed, and then
// credited to dom0's kernel.
func TestDivergence(t *testing.T) {
	tr, err := xstrace.ParseFile("../xstrace/testdata/cxenstored-attach-detach.trace.gz")
	if err != nil {
		t.Fatal(err)
	}
	attach, _ := segments(tr)
	var dom0 *xstrace.Conn
	for _, c := range tr.Conns {
		if c.Role == xstrace.Kernel && c.Domain == 0 {
			dom0 = c
		}
	}
	for i := attach[0]; i < attach[1]; i++ {
		ch := &tr.Changes[i]
		for j, op := range ch.Ops {
			if op.Path == "/local/domain/1/device/vbd/51728/state" && op.Value == "4" {
				ch.Ops = append([]xstrace.Op(nil), ch.Ops...)
				ch.Ops[j].Value = "6"
			}
		}
	}
	r := Check(compile(t, "absent", "add").System, tr, tr.Replay(xstrace.Store{}, 0, attach[0]), attach[0], attach[1], Options{})
	div := r.Divergences()
	if r.Unexplained != 1 || len(div) != 1 {
		t.Fatalf("%v, want 1 unexplained", r)
	}
	if !strings.Contains(div[0].Diff, `"/local/domain/1/device/vbd/51728/state"`) || !strings.Contains(div[0].Diff, `"6"`) {
		t.Errorf("diff does not name the frontend state:\n%s", div[0].Diff)
	}

	// A writer the model does not allow: the frontend's Connected
	// credited to dom0's kernel.
	tr, _ = xstrace.ParseFile("../xstrace/testdata/cxenstored-attach-detach.trace.gz")
	for i := attach[0]; i < attach[1]; i++ {
		for _, op := range tr.Changes[i].Ops {
			if op.Path == "/local/domain/1/device/vbd/51728/state" && op.Value == "4" {
				tr.Changes[i].Conn = dom0
			}
		}
	}
	r = Check(compile(t, "absent", "add").System, tr, tr.Replay(xstrace.Store{}, 0, attach[0]), attach[0], attach[1], Options{})
	if r.Unexplained == 0 {
		t.Errorf("%v: the frontend's state written by dom0's kernel was explained", r)
	}
}
