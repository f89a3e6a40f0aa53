package exec

import (
	"fmt"
	"strings"
)

// A Divergence is the first point where the daemon did something the
// model does not predict.
type Divergence struct {
	// Step is the 1-based index of the step in the run; 0 is the setup
	// of the initial state.
	Step       int
	Actor      string
	Transition string
	// What says which comparison failed: "store", "watch", "read",
	// "error", "commit", "observed".
	What string
	// Diff is a go-cmp diff (-model +daemon), or a sentence.
	Diff string
}

func (d *Divergence) Error() string {
	where := "setup"
	if d.Step > 0 {
		where = fmt.Sprintf("step %d %s %q", d.Step, d.Actor, d.Transition)
	}
	return fmt.Sprintf("divergence at %s (%s):\n%s", where, d.What, strings.TrimRight(d.Diff, "\n"))
}
