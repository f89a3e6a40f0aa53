package difftest

import (
	"context"
	"slices"
	"testing"

	"github.com/xbcheck/xbcheck/realxs"
	"github.com/xbcheck/xbcheck/realxs/exec"
	"github.com/xbcheck/xbcheck/realxs/xstest"
)

// The known differences, live on the test oxenstored (C xenstored's are
// checked on the real host: realxs/realhost, tag realhost).
func TestKnownOxenstored(t *testing.T) {
	d := xstest.Start(t, xstest.Options{})
	Known(t, func(context.Context) (*realxs.Client, error) { return d.Dial(t), nil }, Oxenstored)
}

// Every name has a live check on some daemon, or a test in package exec.
func TestKnownNamesTested(t *testing.T) {
	for _, k := range exec.Knowns {
		if !slices.Contains(exec.Emulated, k) && !slices.Contains(KnownTested(Oxenstored), k) && !slices.Contains(KnownTested(CXenstored), k) {
			t.Errorf("known difference %q has no test", k)
		}
	}
}
