//go:build realhost

package realhost

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/realxs"
	"github.com/xbcheck/xbcheck/realxs/xenhost"
	"github.com/xbcheck/xbcheck/scenario"
)

// domainDeath holds the model's domain run states to the real host h,
// under its daemon: a guest that crashes (on_crash = "preserve") stays
// listed and xenstored keeps its nodes, also a node it owns outside its
// home; a detach while it is crashed goes through libxl's transaction and
// times out (the domain is listed, so libxl_domain_info succeeds); `xl
// destroy` makes it dying, and xenstored then deletes the node it owns,
// firing the watch on it under C xenstored and not under oxenstored. The
// model's side of each fact is read from the compiled scenarios
// vbd-remove-guest-crash-4.17{,-cxenstored}.toml. It creates its own
// guest and destroys it; TestRealHost runs it last on each host.
func domainDeath(t *testing.T, h *xenhost.Host) {
	daemon := h.Xenstored()
	file := map[string]string{
		xenhost.CXenstored: "../../scenarios/vbd-remove-guest-crash-4.17-cxenstored.toml",
		xenhost.OXenstored: "../../scenarios/vbd-remove-guest-crash-4.17.toml",
	}[daemon]
	c, err := scenario.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	sys := c.System
	crashDeletes, destroyDeletes := false, false
	for _, tr := range sys.Trans {
		if sys.Actors[tr.Actor].Kind != model.Lifecycle {
			continue
		}
		for _, op := range tr.Ops {
			if op.Kind == model.OpDomainGone {
				crashDeletes = crashDeletes || tr.Name == "crash"
				destroyDeletes = destroyDeletes || tr.Name == "destroy"
			}
		}
	}
	if crashDeletes || !destroyDeletes || !sys.RemoveOwnedOnDeath {
		t.Fatalf("%s: the model's crash deletes %v, destroy deletes %v, 4.17 deletion %v; want false, true, true",
			file, crashDeletes, destroyDeletes, sys.RemoveOwnedOnDeath)
	}
	wantEvent := sys.DeathFiresWatches

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	s := newSession(t, ctx, h)
	xs, run, exists := s.xs, s.exec, s.exists

	g, err := h.CreateGuest(ctx, xenhost.GuestConfig{Name: "dd1", Disks: []string{"/data/dd1.img,raw,xvda,w"}, OnCrash: "preserve"})
	if err != nil {
		t.Fatalf("xl create: %v", err)
	}
	dom := g.DomID()
	fe := fmt.Sprintf("/local/domain/%d/device/vbd/51712", dom)
	be := fmt.Sprintf("/local/domain/0/backend/vbd/%d/51712", dom)
	// A node the guest owns outside its home: libxl removes
	// /local/domain/<id> before xc_domain_destroy, so only such a node
	// shows what xenstored itself deletes.
	owned := "/xbcheck-death/owned"
	if err := xs.Write(ctx, owned, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := xs.SetPerms(ctx, owned, []realxs.Perm{{Domid: uint32(dom), Access: realxs.AccessNone}}); err != nil {
		t.Fatalf("set perms of %s to dom%d: %v", owned, dom, err)
	}
	defer xs.Rm(context.Background(), "/xbcheck-death")
	w, err := xs.Watch(ctx, owned, "owned")
	if err != nil {
		t.Fatal(err)
	}
	events := func(within time.Duration) []string {
		var got []string
		timer := time.NewTimer(within)
		defer timer.Stop()
		for {
			select {
			case ev, ok := <-w.Events():
				if !ok {
					return got
				}
				got = append(got, ev.Path)
			case <-timer.C:
				return got
			}
		}
	}
	if reg := events(5 * time.Second); len(reg) == 0 {
		t.Fatalf("no registration event on %s", owned)
	}

	// 1. The crash: listed as crashed, nothing deleted, no event.
	if err := g.Spawn(ctx, "sh", "-c", "sleep 1; echo c > /proc/sysrq-trigger"); err != nil {
		t.Fatal(err)
	}
	crashed := false
	for deadline := time.Now().Add(90 * time.Second); !crashed && time.Now().Before(deadline); {
		res := run("xl", "list", "dd1")
		for _, line := range strings.Split(string(res.Stdout), "\n") {
			if f := strings.Fields(line); len(f) >= 5 && f[0] == "dd1" && len(f[4]) == 6 && f[4][4] == 'c' {
				crashed = true
			}
		}
		if !crashed {
			time.Sleep(2 * time.Second)
		}
	}
	if !crashed {
		t.Fatalf("dd1 never listed as crashed")
	}
	if ev := events(5 * time.Second); len(ev) > 0 {
		t.Errorf("crashed: events on the guest-owned node %v; the model (crash: no OpDomainGone) has none", ev)
	}
	if !exists(owned) || !exists(fe) || !exists(be) {
		t.Errorf("crashed: owned node %v, frontend %v, backend %v; the model keeps all three", exists(owned), exists(fe), exists(be))
	}

	// 2. A detach while crashed: libxl_domain_info finds the domain, the
	// remove writes Closing and waits; blkfront does not answer, so xl
	// block-detach (safe remove, FORCE_OFF) times out and keeps the
	// entries, as the model's "initiate" (not "domain not found") path.
	began := time.Now()
	res := run("xl", "block-detach", "dd1", "xvda")
	if res.ExitCode == 0 || time.Since(began) < 9*time.Second {
		t.Errorf("xl block-detach of a crashed guest: exit %d after %v; the model: the state wait times out (10 s) and fails",
			res.ExitCode, time.Since(began).Round(time.Second))
	}
	if v, err := xs.Read(ctx, be+"/state"); err != nil || string(v) != "5" {
		t.Errorf("after the detach: backend state %q (%v); the model's transaction wrote Closing (5)", v, err)
	}
	if !exists(fe) {
		t.Errorf("after the detach: the frontend directory is gone; FORCE_OFF keeps it")
	}
	if ev := events(0); len(ev) > 0 {
		t.Errorf("after the detach: events on the guest-owned node %v", ev)
	}

	// 3. The destroy: dying, then gone; xenstored deletes the owned node.
	if err := g.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
	deleted := false
	for deadline := time.Now().Add(30 * time.Second); !deleted && time.Now().Before(deadline); {
		if deleted = !exists(owned); !deleted {
			time.Sleep(200 * time.Millisecond)
		}
	}
	if !deleted {
		t.Fatalf("destroyed: %s (owned by dom%d) is still there; the model (xenstored 4.17, XSA-419) deletes it", owned, dom)
	}
	ev := events(3 * time.Second)
	gotEvent := false
	for _, p := range ev {
		gotEvent = gotEvent || p == owned
	}
	t.Logf("%s: destroyed dom%d: %s deleted, events %v", daemon, dom, owned, ev)
	if gotEvent != wantEvent {
		t.Errorf("%s: watch event on the deleted node: %v; the model (DeathFiresWatches) says %v", daemon, gotEvent, wantEvent)
	}
}
