package observe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/realxs"
	"github.com/xbcheck/xbcheck/realxs/conform"
	"github.com/xbcheck/xbcheck/realxs/exec"
	"github.com/xbcheck/xbcheck/realxs/xstrace"
)

// PlayOptions configure Play.
type PlayOptions struct {
	// Played says which transitions the player performs itself (the
	// toolstack's); every other transition is a real component's.
	Played func(t *model.Transition) bool
	// Target is the device whose directories the run may modify, on the
	// host's own paths; Play sets its Session flag.
	Target exec.LiveTarget
	// Schedule, when not empty, is the order in which to take played
	// transitions (the toolstack steps of a trace); without it the first
	// played transition enabled, in the model's order, is taken.
	Schedule []int32
	// Hook is the executor's hook (exec.Executor.Hook): the real keys
	// and hotplug scripts a played toolstack step stands for.
	Hook func(ctx context.Context, t *model.Transition, s realxs.Store) error
	// Settle is how long the real components may take to act before the
	// player concludes they will not (default 3 s). A played timer
	// transition is taken only after that long without a change.
	Settle time.Duration
	// Faults are the model faults the real components may take.
	Faults []string
	// MaxSteps bounds the played steps (default 100).
	MaxSteps int
	// Log, when not nil, receives a line per step.
	Log io.Writer
}

// A PlayReport is the outcome of Play.
type PlayReport struct {
	// Conform explains the real components' changes.
	Conform *conform.Report
	// Exec is the executor's report of the played steps.
	Exec *exec.Report
	// Steps lists every step in order: played ones and the real
	// components' explained ones ("actor: transition"); Path has their
	// transition ids, a run of the model from its initial state.
	Steps []string
	Path  []int32
	// Played counts the steps the player performed, Timers those of them
	// that were timer transitions taken after Settle.
	Played, Timers int
	// Final: every actor of the model is at a final location.
	Final bool
	// State is the model state the run ended in (the executor's).
	State model.State
	// Divergence says why the run stopped early, if it did.
	Divergence string
}

// Play runs sys on a live host's own paths: it performs the played
// transitions for real through c (exec, with the hook), and explains
// every change the real components make with a conform.Tracker, which
// follows them by reading the model's nodes back after each watch event.
// A played transition is taken when the model allows it in the states
// consistent with what the real components did. The run ends when every
// actor is final, or when nothing is left to play and the real components
// stay still for Settle.
func Play(ctx context.Context, c *realxs.Client, sys *model.System, opts PlayOptions) (*PlayReport, error) {
	if opts.Played == nil {
		return nil, errors.New("observe: Play needs PlayOptions.Played")
	}
	if opts.Settle <= 0 {
		opts.Settle = 3 * time.Second
	}
	if opts.MaxSteps <= 0 {
		opts.MaxSteps = 100
	}
	playsIn := make([]bool, len(sys.Actors))
	for i := range sys.Trans {
		if opts.Played(&sys.Trans[i]) {
			playsIn[sys.Trans[i].Actor] = true
		}
	}
	target := opts.Target
	target.Session = true
	e := &exec.Executor{Sys: sys, Backend: exec.Live(c), Live: &target, Opaque: conform.DefaultOpaque, Hook: opts.Hook, Log: opts.Log,
		Observed: func(a int) bool { return !playsIn[a] }}
	sess, err := e.Start(ctx)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	all := make([]int, len(sys.Actors))
	for i := range all {
		all[i] = i
	}
	p := &player{ctx: ctx, c: c, sys: sys, opts: opts, sess: sess, all: all, rep: &PlayReport{Exec: sess.Report()}}
	base, err := p.read(nil)
	if err != nil {
		return p.rep, err
	}
	p.tr = conform.NewTracker(sys, base, conform.Options{Faults: opts.Faults,
		Observed: func(t *model.Transition) bool { return !opts.Played(t) }})
	p.rep.Conform = p.tr.Report()
	if !p.tr.Report().Initial {
		p.rep.Divergence = "the host's nodes are not the scenario's initial state:\n" + p.tr.Report().InitialDiff
		return p.rep, nil
	}
	// One watch per device directory wakes the player up.
	events := make(chan struct{}, 1)
	for _, d := range sys.Devices {
		for _, dir := range []model.PathID{d.FEDir, d.BEDir} {
			// One token per watch: the client routes events by token.
			w, err := c.Watch(ctx, sys.Paths[dir].Name, "xbcheck-play:"+sys.Paths[dir].Name)
			if err != nil {
				return p.rep, err
			}
			defer w.Unwatch(context.WithoutCancel(ctx))
			go func() {
				for range w.Events() {
					select {
					case events <- struct{}{}:
					default:
					}
				}
			}()
		}
	}
	p.events = events
	err = p.loop()
	p.rep.Conform = p.tr.Finish()
	p.rep.State = sess.State()
	p.rep.Final = sys.AllFinal(sess.State())
	return p.rep, err
}

type player struct {
	ctx    context.Context
	c      *realxs.Client
	sys    *model.System
	opts   PlayOptions
	sess   *exec.Session
	tr     *conform.Tracker
	all    []int
	rep    *PlayReport
	events chan struct{}
	sched  int // next index into opts.Schedule
}

// read reads the compared nodes back (all the model's paths before the
// tracker knows its scope).
func (p *player) read(paths []string) (xstrace.Store, error) {
	if paths == nil {
		for _, q := range p.sys.Paths {
			paths = append(paths, q.Name)
		}
	}
	// All reads at once: the client pipelines them on its connection, so
	// a snapshot costs one round trip, not one per node (each is tens of
	// milliseconds to a daemon in an emulated VM).
	vals := make([][]byte, len(paths))
	errs := make([]error, len(paths))
	var wg sync.WaitGroup
	for i, q := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vals[i], errs[i] = p.c.Read(p.ctx, q)
		}()
	}
	wg.Wait()
	s := xstrace.Store{}
	for i, q := range paths {
		if errors.Is(errs[i], realxs.ENOENT) {
			continue
		} else if errs[i] != nil {
			return nil, errs[i]
		}
		s[q] = string(vals[i])
	}
	return s, nil
}

// absorb reads the nodes back and lets the tracker explain what the real
// components did, following its explanation in the executor. It waits up
// to Settle for changes that need their completion.
func (p *player) absorb() error {
	deadline := time.Now().Add(p.opts.Settle)
	for {
		if err := p.c.Sync(p.ctx); err != nil {
			return err
		}
		s, err := p.read(p.tr.Paths())
		if err != nil {
			return err
		}
		n := len(p.tr.Report().Groups)
		p.tr.Snapshot(s, "real components", p.all)
		for _, g := range p.tr.Report().Groups[n:] {
			if !g.Explained {
				p.rep.Divergence = fmt.Sprintf("the real components did what the model does not allow (-model +real):\n%s", g.Diff)
				return nil
			}
			for i, id := range g.IDs {
				t := &p.sys.Trans[id]
				if !p.sys.Enabled(p.sess.State(), t) {
					p.rep.Divergence = fmt.Sprintf("the explanation's step %s is not enabled in the executor's state", g.Trans[i])
					return nil
				}
				p.sess.Advance(t)
				p.rep.Steps = append(p.rep.Steps, g.Trans[i])
				p.rep.Path = append(p.rep.Path, int32(id))
			}
		}
		if !p.tr.Pending() {
			return nil
		}
		if time.Now().After(deadline) {
			p.tr.Settle()
			p.rep.Divergence = "a change of the real components stayed unexplained for " + p.opts.Settle.String()
			return nil
		}
		p.wait(100 * time.Millisecond)
	}
}

// wait waits for a watch event or d; it reports whether an event came.
func (p *player) wait(d time.Duration) bool {
	select {
	case <-p.events:
		return true
	case <-time.After(d):
		return false
	case <-p.ctx.Done():
		return false
	}
}

// next returns the played transition to take now, or nil; timers only
// when timers is set.
func (p *player) next(timers bool) *model.Transition {
	ok := func(t *model.Transition) bool {
		return p.opts.Played(t) && (t.Timeout != 0) == timers && t.Fault == "" &&
			p.sys.Enabled(p.sess.State(), t) && p.tr.Enabled(t)
	}
	if len(p.opts.Schedule) > 0 {
		if p.sched < len(p.opts.Schedule) {
			if t := &p.sys.Trans[p.opts.Schedule[p.sched]]; ok(t) {
				return t
			}
		}
		return nil
	}
	for i := range p.sys.Trans {
		if t := &p.sys.Trans[i]; ok(t) {
			return t
		}
	}
	return nil
}

func (p *player) loop() error {
	for p.rep.Played < p.opts.MaxSteps {
		if err := p.absorb(); err != nil || p.rep.Divergence != "" {
			return err
		}
		if p.sys.AllFinal(p.sess.State()) {
			return nil
		}
		t := p.next(false)
		if t == nil {
			// The real components' turn: wait for them; then for steps
			// of theirs that show in no node (a driver unregistering),
			// then for a timer.
			if p.wait(p.opts.Settle) {
				continue
			}
			if p.silent() {
				continue
			}
			if t = p.next(true); t == nil {
				return nil
			}
			p.rep.Timers++
		}
		if err := p.sess.Step(p.ctx, t); err != nil {
			return err
		}
		if d := p.sess.Report().Divergence; d != nil {
			p.rep.Divergence = d.Error()
			return nil
		}
		if !p.tr.Played(t) {
			p.rep.Divergence = fmt.Sprintf("played %s %q, which no state consistent with the run allows", p.sys.Actors[t.Actor].Name, t.Name)
			return nil
		}
		p.rep.Played++
		p.rep.Steps = append(p.rep.Steps, p.sys.Actors[t.Actor].Name+": "+t.Name+" (played)")
		p.rep.Path = append(p.rep.Path, int32(t.ID))
		p.sched++ // with a schedule: its next entry; after its end, nothing more is played
	}
	return nil
}

// silent takes the shortest sequence (at most 4) of the real components'
// transitions that write nothing after which a played transition, a timer
// included, is enabled: steps the real components may have taken without
// a trace in the store. It reports whether it took any.
func (p *player) silent() bool {
	s := &conform.Search{Sys: p.sys, Depth: 4, MaxFound: 1,
		Take: func(t *model.Transition, _, _ model.State) bool {
			return !p.opts.Played(t) && t.Fault == "" && !t.Writes()
		},
		Goal: func(st model.State) bool {
			for i := range p.sys.Trans {
				if t := &p.sys.Trans[i]; p.opts.Played(t) && t.Fault == "" && p.sys.Enabled(st, t) {
					return true
				}
			}
			return false
		},
	}
	found, path := s.Run([]model.State{p.sess.State()})
	if found == nil {
		return false
	}
	for _, t := range transitions(p.sys, path) {
		p.sess.Advance(t)
		p.tr.Played(t)
		p.rep.Steps = append(p.rep.Steps, p.sys.Actors[t.Actor].Name+": "+t.Name+" (unseen)")
		p.rep.Path = append(p.rep.Path, int32(t.ID))
	}
	return true
}
