// Package conform judges the model by what a real Xen host did: it takes
// the changes a real run made to the store, in the order the daemon made
// them and with who made each one (package xstrace reads them from the
// daemon's request trace), and explains each change by transitions of the
// model's actors that play that writer: the toolstack's changes by the
// toolstack actors (libxl, with its hotplug scripts), a domain kernel's by
// the driver actors of that domain.
//
// Only the nodes the model knows are compared, and only in the scope of
// the model's devices: their frontend, backend and /libxl directories.
// Real drivers and libxl write many keys the model leaves out (params,
// feature-*, ...; docs/model.md), and values the model stands for with a
// representative (ring-ref, event-channel, sectors, physical-device) are
// compared by presence (Options.Opaque).
//
// The check keeps the set of model states consistent with the changes so
// far (the model is nondeterministic, and the trace does not show the
// actors' internal steps). For each change it searches, from every state
// in the set, the sequences of at most Options.Depth transitions after
// which the model's nodes equal the real ones, where every transition
// that changes a compared node belongs to an actor the writer may be;
// steps that change no compared node (reading, taking a watch event,
// deciding) may be any actor's. A real component's step is not always
// atomic where the model's is: blkfront publishes ring-ref and
// event-channel in one transaction and switches to Initialised in the
// next, and the block script writes physical-device well before
// hotplug-status. A change that no sequence explains therefore waits, up
// to Options.Window further changes, for the ones that complete it; the
// report counts such groups as Coarser. A change still unexplained then is
// a divergence between the model and the real host.
//
// The files follow these jobs: conform.go is the check's options and
// report; tracker.go follows a run change by change ([Tracker]);
// scope.go is the compared nodes and how the model and the real store
// are read on them; search.go is the bounded search of the model's
// states ([Search]) that explains a change, which package observe uses
// too.
package conform

import (
	"fmt"
	"slices"
	"strings"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/realxs/xstrace"
)

// DefaultOpaque are the keys whose values the model stands for with a
// representative value, compared by presence: the ring references and
// event channels a frontend grants, the disk size blkback reports, the
// device number the block script finds, and the script's error message.
var DefaultOpaque = []string{"ring-ref", "event-channel", "tx-ring-ref", "rx-ring-ref", "event-channel-tx", "event-channel-rx", "sectors", "physical-device", "hotplug-error"}

// IsOpaque reports whether the node at path is compared by presence
// alone: its key (the path's last component) is one of the opaque keys.
func IsOpaque(opaque []string, path string) bool {
	return slices.Contains(opaque, path[strings.LastIndexByte(path, '/')+1:])
}

// Options tune a check.
type Options struct {
	// Depth bounds the transitions that explain one group of changes
	// (default 10).
	Depth int
	// Window bounds the further real changes a change may wait for
	// before it counts as unexplained (default 8).
	Window int
	// Opaque keys are compared by presence (default DefaultOpaque).
	Opaque []string
	// MaxStates bounds the set of model states kept (default 4096).
	MaxStates int
	// Faults the model may take (by fault name: the real host did
	// something the model calls a fault, such as a frontend that refuses
	// to close while the disk is open). None by default.
	Faults []string
	// Actors returns the model actors that may have made a change of
	// connection c (default ByRole).
	Actors func(sys *model.System, c *xstrace.Conn) []int
	// Observed, when not nil, further limits the transitions that may
	// change a compared node in an explanation: those the real
	// components take, not those a player performs itself.
	Observed func(t *model.Transition) bool
}

// ByRole maps a connection to the actors that play it: a domain's kernel
// to the frontend and backend drivers of that domain, the toolstack and
// hotplug scripts to the toolstack actors (the model puts libxl's hotplug
// script steps into its device actors), and nothing else to anyone.
func ByRole(sys *model.System, c *xstrace.Conn) []int {
	var out []int
	for i, a := range sys.Actors {
		switch c.Role {
		case xstrace.Kernel:
			if (a.Kind == model.Frontend || a.Kind == model.Backend) && a.Domain == c.Domain {
				out = append(out, i)
			}
		case xstrace.Toolstack, xstrace.Hotplug:
			if a.Kind == model.Toolstack {
				out = append(out, i)
			}
		}
	}
	return out
}

// A Group is one or more real changes and the transitions that explain
// them together.
type Group struct {
	// Changes are the real changes, restricted to the compared nodes.
	Changes []xstrace.Change
	// Writers names who made them ("toolstack", "dom0-kernel", ...).
	Writers []string
	// Trans are the transitions of one explanation ("actor: transition"),
	// IDs their indexes in System.Trans.
	Trans []string
	IDs   []int
	// Explained is false for a divergence.
	Explained bool
	// Diff is, for a divergence, the model's nodes against the real ones
	// (-model +real) from the closest state the model can be in.
	Diff string
}

// A Report is the outcome of a check.
type Report struct {
	Groups []Group
	// Steps counts the real changes of compared nodes; Explained and
	// Unexplained split them.
	Steps, Explained, Unexplained int
	// Coarser counts the groups that explain more than one real change:
	// places where the model's step is coarser than the real one.
	Coarser int
	// Fired holds the transitions (indexes into System.Trans) of the
	// explanations.
	Fired map[int]bool
	// Initial is false when the real store before the run does not match
	// the model's initial state; InitialDiff then says how.
	Initial     bool
	InitialDiff string
	// Final holds the model states consistent with the whole run.
	Final []model.State
}

// Divergences returns the groups that are not explained.
func (r *Report) Divergences() []Group {
	var out []Group
	for _, g := range r.Groups {
		if !g.Explained {
			out = append(out, g)
		}
	}
	return out
}

// String summarises the report in one line.
func (r *Report) String() string {
	return fmt.Sprintf("%d steps observed, %d explained, %d unexplained, %d groups coarser in the model",
		r.Steps, r.Explained, r.Unexplained, r.Coarser)
}

// Check explains the changes tr.Changes[from:to] of a real run, starting
// from the real store base (everything the run's changes apply to), by
// the model sys, whose initial state must match base on the compared
// nodes.
func Check(sys *model.System, tr *xstrace.Trace, base xstrace.Store, from, to int, opts Options) *Report {
	t := NewTracker(sys, base, opts)
	if !t.rep.Initial {
		return t.rep
	}
	for _, ch := range tr.Changes[from:to] {
		t.Change(ch)
	}
	return t.Finish()
}
