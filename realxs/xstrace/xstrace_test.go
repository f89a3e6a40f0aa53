package xstrace

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A trace in C xenstored's -T format: dom0's ring first, a toolstack
// connection that introduces domain 1 (whose ring comes next), a reply
// to TRANSACTION_START printed after the connection's next request, a
// commit refused with EAGAIN, a hotplug script's relative write, and a
// reused connection address.
const sample = `***
CREATE connection 0x10
Checking store ...
CREATE connection 0x20
IN 0x20 20261203 07:00:00 INTRODUCE (1 514049 1 )
CREATE connection 0x30
OUT 0x20 20261203 07:00:00 INTRODUCE (OK )
IN 0x20 20261203 07:00:01 TRANSACTION_START ( )
IN 0x20 20261203 07:00:01 WRITE (/local/domain/1/device/vbd/5/state 1)
OUT 0x20 20261203 07:00:01 TRANSACTION_START (7 )
OUT 0x20 20261203 07:00:01 WRITE (OK )
IN 0x20 20261203 07:00:01 WRITE (/local/domain/1/device/vbd/5/backend-id 0)
OUT 0x20 20261203 07:00:01 WRITE (OK )
IN 0x20 20261203 07:00:01 TRANSACTION_END (T )
OUT 0x20 20261203 07:00:01 TRANSACTION_END (OK )
wrl: dom    0     36  msec      10000 credit       -2800 reserve          0 discard
IN 0x10 20261203 07:00:02 TRANSACTION_START ( )
OUT 0x10 20261203 07:00:02 TRANSACTION_START (8 )
IN 0x10 20261203 07:00:02 WRITE (backend/vbd/1/5/state 2)
OUT 0x10 20261203 07:00:02 WRITE (OK )
IN 0x10 20261203 07:00:02 TRANSACTION_END (T )
OUT 0x10 20261203 07:00:02 ERROR (EAGAIN )
IN 0x10 20261203 07:00:02 TRANSACTION_START ( )
OUT 0x10 20261203 07:00:02 TRANSACTION_START (9 )
IN 0x10 20261203 07:00:02 WRITE (backend/vbd/1/5/state 2)
OUT 0x10 20261203 07:00:02 WATCH_EVENT (backend/vbd FFFF )
OUT 0x10 20261203 07:00:02 WRITE (OK )
IN 0x10 20261203 07:00:02 TRANSACTION_END (T )
OUT 0x10 20261203 07:00:02 TRANSACTION_END (OK )
IN 0x30 20261203 07:00:03 WRITE (device/vbd/5/state 3)
OUT 0x30 20261203 07:00:03 WRITE (OK )
CREATE connection 0x40
IN 0x40 20261203 07:00:04 READ (backend/vbd/1/5/params )
OUT 0x40 20261203 07:00:04 READ (/data/disk with spaces.img )
IN 0x40 20261203 07:00:04 WRITE (backend/vbd/1/5/hotplug-status connected)
OUT 0x40 20261203 07:00:04 WRITE (OK )
IN 0x40 20261203 07:00:04 READ (/xbcheck/client/mark/after-attach )
OUT 0x40 20261203 07:00:04 ERROR (ENOENT )
DESTROY connection 0x40
CREATE connection 0x40
IN 0x40 20261203 07:00:05 READ (/xbcheck/client/probe )
OUT 0x40 20261203 07:00:05 ERROR (ENOENT )
IN 0x40 20261203 07:00:05 RM (/local/domain/1/device/vbd/9 )
OUT 0x40 20261203 07:00:05 ERROR (ENOENT )
IN 0x40 20261203 07:00:05 WRITE (/local/domain/1/data/x a b  c)
OUT 0x40 20261203 07:00:05 WRITE (OK )
`

func TestParse(t *testing.T) {
	tr, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ Who, Op string }
	var got []row
	for _, c := range tr.Changes {
		for _, op := range c.Ops {
			got = append(got, row{c.Conn.String(), op.String()})
		}
	}
	want := []row{
		{"toolstack", `WRITE /local/domain/1/device/vbd/5/state "1"`},
		{"toolstack", `WRITE /local/domain/1/device/vbd/5/backend-id "0"`},
		{"dom0-kernel", `WRITE /local/domain/0/backend/vbd/1/5/state "2"`}, // once: the first commit failed
		{"dom1-kernel", `WRITE /local/domain/1/device/vbd/5/state "3"`},
		{"hotplug", `WRITE /local/domain/0/backend/vbd/1/5/hotplug-status "connected"`},
		{"client:probe", `WRITE /local/domain/1/data/x "a b  c"`},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("changes (-want +got):\n%s", d)
	}
	if len(tr.Changes[0].Ops) != 2 {
		t.Errorf("the toolstack's transaction is %d changes, want one of 2 ops", len(tr.Changes[0].Ops))
	}
	if want := []Mark{{Label: "after-attach", Line: 37, Change: 4}}; !cmp.Equal(tr.Marks, want) {
		t.Errorf("marks = %+v, want %+v", tr.Marks, want)
	}
	if tr.Ambiguous != 0 {
		t.Errorf("ambiguous = %d", tr.Ambiguous)
	}
	if n := len(tr.Conns); n != 5 {
		t.Errorf("%d connections, want 5 (0x40 twice)", n)
	}
	s := tr.Replay(Store{}, 0, len(tr.Changes))
	if got := s.Below("/local/domain/0/backend"); !cmp.Equal(got, []string{"/local/domain/0/backend", "/local/domain/0/backend/vbd", "/local/domain/0/backend/vbd/1", "/local/domain/0/backend/vbd/1/5", "/local/domain/0/backend/vbd/1/5/hotplug-status", "/local/domain/0/backend/vbd/1/5/state"}) {
		t.Errorf("replayed backend = %q", got)
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		"IN 0x1 20261203 07:00:00 WRITE\n",
		"IN 0x1 20261203 07:00:00 WRITE (/a b\n",
		"OUT 0x1\n",
	} {
		_, err := Parse(strings.NewReader(in))
		if err == nil || !strings.HasPrefix(err.Error(), "xstrace: line 1: want") {
			t.Errorf("Parse(%q) = %v, want a line-1 error", in, err)
		}
	}
}

// The trace of a real run (shared/xen-test-host/example-run): xl's
// block-attach and block-detach of xvdb (51728), who wrote what.
func TestRealTrace(t *testing.T) {
	tr, err := ParseFile("testdata/cxenstored-attach-detach.trace.gz")
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, c := range tr.Changes {
		for _, op := range c.Ops {
			if op.Kind == "WRITE" && strings.HasPrefix(op.Path, "/local/domain/") && strings.HasSuffix(op.Path, "51728/state") {
				states = append(states, c.Conn.String()+" "+op.Path[strings.Index(op.Path, "/local/domain/")+14:]+"="+op.Value)
			}
		}
	}
	want := []string{
		"toolstack 1/device/vbd/51728/state=1",
		"toolstack 0/backend/vbd/1/51728/state=1",
		"dom0-kernel 0/backend/vbd/1/51728/state=2",
		"dom1-kernel 1/device/vbd/51728/state=3",
		"dom0-kernel 0/backend/vbd/1/51728/state=4",
		"dom1-kernel 1/device/vbd/51728/state=4",
		"toolstack 0/backend/vbd/1/51728/state=5",
		"dom1-kernel 1/device/vbd/51728/state=6",
		"dom0-kernel 0/backend/vbd/1/51728/state=6",
	}
	if d := cmp.Diff(want, states); d != "" {
		t.Errorf("state writes (-want +got):\n%s", d)
	}
	if tr.Ambiguous != 0 {
		t.Errorf("ambiguous = %d", tr.Ambiguous)
	}
}
