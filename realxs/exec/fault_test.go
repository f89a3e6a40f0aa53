package exec_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/realxs"
	"github.com/xbcheck/xbcheck/realxs/exec"
	"github.com/xbcheck/xbcheck/realxs/xstest"
	"github.com/xbcheck/xbcheck/scenario"
)

// longest returns the longest seed counterexample.
func longest(t *testing.T) seedCase {
	cs := seedCounterexamples(t)
	return slices.MaxFunc(cs, func(a, b seedCase) int { return len(a.ids) - len(b.ids) })
}

// onStep is a Log writer that calls fn when step n starts.
type onStep struct {
	mu   sync.Mutex
	n    int
	fn   func()
	done bool
	buf  bytes.Buffer
}

func (w *onStep) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.done && strings.HasPrefix(string(p), "step "+strconv.Itoa(w.n)+" ") {
		w.done = true
		w.fn()
	}
	return len(p), nil
}

// Reference: the "Done when": the daemon killed mid-run gives a
// clear error and the partial trace, not a hang.
func TestDaemonKilledMidRun(t *testing.T) {
	sc := longest(t)
	if len(sc.ids) < 5 {
		t.Fatalf("longest counterexample has %d steps", len(sc.ids))
	}
	d := xstest.Start(t, xstest.Options{})
	c := d.Dial(t)
	log := &onStep{n: 4, fn: d.Kill}
	e := &exec.Executor{Sys: sc.sys, Backend: exec.Live(c), Root: "/killed", Log: log}
	start := time.Now()
	rep, err := e.Run(testCtx(t), sc.ids)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Run took %v after the daemon died", took)
	}
	if !errors.Is(err, realxs.ErrConnLost) {
		t.Fatalf("Run: %v; want an error matching ErrConnLost", err)
	}
	if !strings.Contains(err.Error(), "step 4 ") {
		t.Errorf("error %q does not name step 4", err)
	}
	if rep == nil || rep.Trace == nil || len(rep.Trace.Steps) != 3 {
		t.Fatalf("report: want the trace of the 3 steps done; got %+v", rep)
	}
	if rep.CleanupErr == nil {
		t.Errorf("no cleanup error, though the daemon is gone")
	}
	t.Logf("error: %v\npartial trace:\n%s", err, rep.Trace.Text())
}

// Reference: the "Done when": with test-eagain every transaction
// still commits through the retry helper.
func TestReplaySeedsTestEAGAIN(t *testing.T) {
	d := xstest.Start(t, xstest.Options{TestEAGAIN: true})
	c := d.Dial(t)
	retried := 0
	for i, sc := range seedCounterexamples(t) {
		rep, err := exec.Replay(testCtx(t), exec.Live(c), "/eagain-"+strconv.Itoa(i), sc.sys, sc.ids)
		if err != nil {
			t.Fatalf("%s: %v", sc.name, err)
		}
		if rep.Divergence != nil {
			t.Fatalf("%s: %v", sc.name, rep.Divergence)
		}
		retried += rep.Known[exec.EAGAINRetried]
	}
	if retried == 0 {
		t.Errorf("no commit failed with EAGAIN under test-eagain")
	}
	t.Logf("%d commits retried through the helper", retried)
}

// Cancelling the run (SIGINT in the command) removes the root.
func TestCancelRemovesRoot(t *testing.T) {
	sc := longest(t)
	d := xstest.Start(t, xstest.Options{})
	c := d.Dial(t)
	ctx, cancel := context.WithCancel(testCtx(t))
	e := &exec.Executor{Sys: sc.sys, Backend: exec.Live(c), Root: "/cancelled", Log: &onStep{n: 3, fn: cancel}}
	_, err := e.Run(ctx, sc.ids)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v; want context.Canceled", err)
	}
	if _, err := c.Read(testCtx(t), "/cancelled"); !errors.Is(err, realxs.ENOENT) {
		t.Errorf("root after a cancelled run: %v; want ENOENT", err)
	}
}

// A root that exists is refused, and left alone.
func TestRootExists(t *testing.T) {
	sc := longest(t)
	ms := exec.NewModelStore()
	ctx := testCtx(t)
	ms.Write(ctx, "/mine/keep", []byte("x"))
	_, err := exec.Replay(ctx, ms, "/mine", sc.sys, sc.ids)
	if !errors.Is(err, exec.ErrRootExists) {
		t.Fatalf("Replay: %v; want ErrRootExists", err)
	}
	if v, err := ms.Read(ctx, "/mine/keep"); err != nil || string(v) != "x" {
		t.Errorf("/mine/keep = %q, %v after the refused run", v, err)
	}
	for _, root := range []string{"", "/", "rel", "/a/", "/a//b", "/bad!"} {
		if _, err := exec.Replay(ctx, ms, root, sc.sys, sc.ids); err == nil {
			t.Errorf("root %q accepted", root)
		}
	}
	if _, err := exec.Replay(ctx, ms, "/no/parent", sc.sys, sc.ids); err == nil {
		t.Errorf("a root whose parent is missing was accepted")
	}
}

// walk returns a path of sys that takes a transition accepted by want,
// preferring such transitions wherever they are enabled.
func walk(t *testing.T, sys *model.System, want func(*model.Transition) bool) []int32 {
	st := sys.Initial()
	var ids []int32
	for range 200 {
		var first, pick *model.Transition
		sys.Successors(st, make(model.State, sys.Size()), func(tr *model.Transition, _ model.State) bool {
			if first == nil {
				first = tr
			}
			if want(tr) {
				pick = tr
				return false
			}
			return true
		})
		if pick == nil {
			pick = first
		}
		if pick == nil {
			break
		}
		ids = append(ids, int32(pick.ID))
		st = sys.Apply(st, pick)
		if want(pick) {
			return ids
		}
	}
	t.Fatalf("no path of %s takes the transition wanted", sys.Name)
	return nil
}

func load(t *testing.T, name string) *model.System {
	c, err := scenario.Load("../../scenarios/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return c.System
}

// The model's injected EAGAIN (fault "eagain") is performed by aborting
// the transaction.
func TestInjectedEAGAIN(t *testing.T) {
	sys := load(t, "seed1-backend-gone-4.17.toml")
	ids := walk(t, sys, func(tr *model.Transition) bool { return tr.Kind == model.EAGAIN && tr.Fault != "" })
	d := xstest.Start(t, xstest.Options{})
	rep, err := exec.Replay(testCtx(t), exec.Live(d.Dial(t)), "/injected", sys, ids)
	if err != nil || rep.Divergence != nil {
		t.Fatalf("Replay: %v, %v", err, rep.Divergence)
	}
	if rep.Known[exec.InjectedEAGAIN] != 1 {
		t.Errorf("Known = %v; want one injected EAGAIN", rep.Known)
	}
}

// A domain's death is emulated: the executor removes the nodes xenstored
// 4.17 removes.
func TestDomainGoneEmulated(t *testing.T) {
	sys := load(t, "driver-domain-dies-during-remove-4.17.toml")
	gone := func(tr *model.Transition) bool {
		for _, op := range tr.Ops {
			if op.Kind == model.OpDomainGone {
				return true
			}
		}
		return false
	}
	ids := walk(t, sys, gone)
	d := xstest.Start(t, xstest.Options{})
	rep, err := exec.Replay(testCtx(t), exec.Live(d.Dial(t)), "/gone", sys, ids)
	if err != nil || rep.Divergence != nil {
		t.Fatalf("Replay: %v, %v", err, rep.Divergence)
	}
	if rep.Known[exec.DomainGoneEmulated] == 0 {
		t.Errorf("Known = %v; want the emulated domain death", rep.Known)
	}
}

// A run on the host's own paths needs the device, its domain, and the
// digest of a dry run of the same plan; it stays in the device's
// directories and removes only what it created.
func TestLiveTarget(t *testing.T) {
	var sc seedCase
	for _, c := range seedCounterexamples(t) {
		if strings.HasPrefix(c.name, "seed2-qemu-bodge-4.17") {
			sc = c
		}
	}
	if sc.sys == nil {
		t.Fatal("no seed2-qemu-bodge-4.17 counterexample")
	}
	dev := sc.sys.Devices[0]
	d := xstest.Start(t, xstest.Options{})
	c := d.Dial(t)
	ctx := testCtx(t)
	target := &exec.LiveTarget{Domain: dev.FEDom, Device: dev.Name}
	e := &exec.Executor{Sys: sc.sys, Backend: exec.Live(c), Live: target}
	if _, err := e.Run(ctx, sc.ids); !errors.Is(err, exec.ErrNotConfirmed) {
		t.Fatalf("live run without a dry run: %v; want ErrNotConfirmed", err)
	}
	if _, err := exec.MakePlan(sc.sys, sc.ids, "", &exec.LiveTarget{Domain: dev.FEDom + 1, Device: dev.Name}); err == nil {
		t.Errorf("a plan for the wrong domain was made")
	}
	plan, err := exec.MakePlan(sc.sys, sc.ids, "", target)
	if err != nil {
		// The scenario writes outside the device: refused, as it must.
		t.Logf("plan refused: %v", err)
		return
	}
	// What the host had before: the scenario's initial store, set up
	// by hand (on a real host, by Xen).
	st := sc.sys.Initial()
	for p, v := range sc.sys.Store(st) {
		if err := c.Write(ctx, p, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	c.Write(ctx, "/local/domain/0/other", []byte("not ours"))
	target.Confirm = plan.Digest
	rep, err := e.Run(ctx, sc.ids)
	if err != nil || rep.Divergence != nil {
		t.Fatalf("live run: %v, %v", err, rep.Divergence)
	}
	if v, err := c.Read(ctx, "/local/domain/0/other"); err != nil || string(v) != "not ours" {
		t.Errorf("a node the run did not create: %q, %v", v, err)
	}
	t.Logf("plan %s: %d lines", plan.Digest, len(plan.Lines))
}

// A dying domain's nodes are deleted without events under oxenstored
// (System.DeathFiresWatches false): the executor drops the events of the
// RMs that emulate the deletion, and keeps them under C xenstored. The
// watched node lies outside the domain's home, as a node a domain owns
// elsewhere does.
func TestDomainGoneSilent(t *testing.T) {
	for _, fires := range []bool{false, true} {
		t.Run(fmt.Sprintf("fires=%v", fires), func(t *testing.T) {
			b := model.NewBuilder("domain-gone-silent")
			b.SetRemoveOwnedOnDeath(true)
			b.SetDeathFiresWatches(fires)
			b.Domain(0, "dom0", model.DomainRunning)
			b.Domain(1, "guest", model.DomainRunning)
			owned := b.Path("/shared/owned")
			b.Init(b.Path("/shared/owned/key"), b.Value("x"))
			b.Own(owned, 1)
			w := b.Actor("watcher", model.Toolstack, -1, true)
			w.Watch("owned", b.Path("/shared/owned/key"), true)
			w.Final("idle", "")
			d := b.Actor("death", model.Lifecycle, -1, false)
			at := d.Final("at", "")
			d.T(model.Transition{Name: "dies", From: at, To: at, Ops: []model.Op{model.DomainGone(1)}})
			sys, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			var id int32 = -1
			for _, tr := range sys.Trans {
				if tr.Name == "dies" {
					id = int32(tr.ID)
				}
			}
			st := sys.Apply(sys.Initial(), &sys.Trans[id])
			if got := sys.WatchPending(st, 0); got != fires {
				t.Fatalf("model: watch pending %v after the death; want %v", got, fires)
			}
			xd := xstest.Start(t, xstest.Options{})
			rep, err := exec.Replay(testCtx(t), exec.Live(xd.Dial(t)), "/silent", sys, []int32{id})
			if err != nil || rep.Divergence != nil {
				t.Fatalf("Replay: %v, %v", err, rep.Divergence)
			}
		})
	}
}
