package exec

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/xbcheck/xbcheck/model"
)

// A LiveTarget lets a run use a real host's own paths instead of a root
// prefix. Safety first: the run must name the one guest domain and the one
// device it may touch, every node it would modify must lie in that
// device's directories (frontend, backend, libxl record), and Confirm must
// be the digest that a dry run of the same transitions printed ([MakePlan]),
// so that every operation was shown before anything is done.
type LiveTarget struct {
	Domain  int    // the guest's domain id
	Device  string // the device's name in the scenario
	Confirm string // the digest of the dry run's plan
	// Session allows a session (observed mode) on the host's own paths,
	// where the steps are not known in advance and so cannot be shown
	// by a dry run: each step is checked, before it is performed, to
	// modify only the device's directories.
	Session bool
	// Keep leaves what the run wrote when it ends: a played replay of a
	// toolstack operation (a device add) changes the host on purpose.
	Keep bool
	_    struct{}
}

// device returns the target device of sys.
func (l *LiveTarget) device(sys *model.System) (*model.Device, error) {
	for i := range sys.Devices {
		if sys.Devices[i].Name == l.Device {
			if sys.Devices[i].FEDom != l.Domain {
				return nil, fmt.Errorf("exec: live: device %q belongs to domain %d, not %d", l.Device, sys.Devices[i].FEDom, l.Domain)
			}
			return &sys.Devices[i], nil
		}
	}
	return nil, fmt.Errorf("exec: live: the scenario has no device %q", l.Device)
}

// inDevice reports whether p lies in one of dev's directories.
func inDevice(sys *model.System, dev *model.Device, p model.PathID) bool {
	for _, d := range []model.PathID{dev.FEDir, dev.BEDir, dev.LibxlDir} {
		if d == model.NoPath {
			continue
		}
		for q := p; q != model.NoPath; q = sys.Paths[q].Parent {
			if q == d {
				return true
			}
		}
	}
	return false
}

// allows checks that t, taken in st, modifies only the target device's
// directories.
func (l *LiveTarget) allows(sys *model.System, st model.State, t *model.Transition) error {
	dev, err := l.device(sys)
	if err != nil {
		return err
	}
	body, own := sys.EffectiveOps(st, t)
	ops := append(append([]model.Op{}, body...), own...)
	if t.Kind == model.TxnBody {
		ops = append(ops, t.Ops...)
	}
	for _, op := range ops {
		if op.Kind == model.OpDomainGone {
			return fmt.Errorf("exec: live: %s would remove a domain's nodes", op.Kind)
		}
		if op.Kind.IsWrite() && !inDevice(sys, dev, op.Path) {
			return fmt.Errorf("exec: live: %s %s is outside the directories of device %q", op.Kind, sys.Paths[op.Path].Name, l.Device)
		}
	}
	return nil
}

// A Plan is what a run would do, shown by a dry run: one line per step
// and per operation, with the daemon's paths.
type Plan struct {
	Lines  []string
	Digest string
}

// ErrNotConfirmed is returned by a live run whose Confirm digest is not
// the one of its plan.
var ErrNotConfirmed = errors.New("exec: live run not confirmed by a dry run of the same plan")

// MakePlan lists what a run of ids would do below root (or, with live, on
// the host's own paths, checking that it stays in the device's
// directories). It performs nothing.
func MakePlan(sys *model.System, ids []int32, root string, live *LiveTarget) (*Plan, error) {
	var dev *model.Device
	if live != nil {
		root = ""
		var err error
		if dev, err = live.device(sys); err != nil {
			return nil, err
		}
	} else if err := checkRoot(root); err != nil {
		return nil, err
	}
	r := pathMap{sys: sys, root: root}
	pl := &Plan{}
	st := sys.Initial()
	if live == nil {
		pl.Lines = append(pl.Lines, "setup: the model's initial store below "+root)
		for i := range sys.Paths {
			if sys.Exists(st, model.PathID(i)) {
				pl.Lines = append(pl.Lines, fmt.Sprintf("  WRITE %s %q", r.path(model.PathID(i)), sys.Values[sys.Get(st, model.PathID(i))]))
			}
		}
	}
	for i, id := range ids {
		t, err := stepOf(sys, st, i, id)
		if err != nil {
			return nil, err
		}
		pl.Lines = append(pl.Lines, fmt.Sprintf("step %d %s %q", i+1, sys.Actors[t.Actor].Name, t.Name))
		body, own := sys.EffectiveOps(st, t)
		for _, op := range append(append([]model.Op{}, body...), own...) {
			if live != nil && op.Kind == model.OpDomainGone {
				return nil, fmt.Errorf("exec: live: step %d: %s would remove a domain's nodes", i+1, op.Kind)
			}
			if live != nil && op.Kind.IsWrite() && !inDevice(sys, dev, op.Path) {
				return nil, fmt.Errorf("exec: live: step %d: %s %s is outside the directories of device %q",
					i+1, op.Kind, sys.Paths[op.Path].Name, live.Device)
			}
			line := sys.FormatOp(op, nil)
			if root != "" {
				line = strings.Replace(line, " /", " "+root+"/", 1)
			}
			pl.Lines = append(pl.Lines, "  "+line)
		}
		if t.Kind == model.TxnBody {
			for _, op := range t.Ops {
				if op.Kind.IsWrite() && live != nil && !inDevice(sys, dev, op.Path) {
					return nil, fmt.Errorf("exec: live: step %d: %s %s is outside the directories of device %q",
						i+1, op.Kind, sys.Paths[op.Path].Name, live.Device)
				}
			}
		}
		st = sys.Apply(st, t)
	}
	if live == nil {
		pl.Lines = append(pl.Lines, "cleanup: RM "+root)
	} else {
		pl.Lines = append(pl.Lines, "cleanup: RM, deepest first, the nodes the run created")
	}
	h := sha256.Sum256([]byte(strings.Join(pl.Lines, "\n")))
	pl.Digest = hex.EncodeToString(h[:8])
	return pl, nil
}

func (l *LiveTarget) check(sys *model.System, ids []int32) error {
	pl, err := MakePlan(sys, ids, "", l)
	if err != nil {
		return err
	}
	if l.Confirm == "" || l.Confirm != pl.Digest {
		return fmt.Errorf("%w (run the dry run first; its digest is the one to confirm)", ErrNotConfirmed)
	}
	return nil
}
