package linux_test

import (
	"testing"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/model/linux"
)

// netSystem builds dom0, a guest and a vif with netfront and netback
// (each bound with the cached state given, or unbound when that is
// Unknown), the store holding the two states, the entries and the given
// keys, with the fault request-fail allowed.
func netSystem(t *testing.T, feCached, beCached, feState, beState model.XenbusState, keys map[string]string) (sys *model.System, front, back int, dev model.Device) {
	t.Helper()
	b, di, dev := deviceBuilder(t, "eth0", "vif", 0, feState, beState, keys, true)
	b.Init(b.BEKey(di, "script"), b.Value("vif-bridge"))
	bound := func(c model.XenbusState) linux.Bound { return linux.Bound{Bound: c != model.StateUnknown, Cached: c} }
	front = linux.Netfront(b, di, bound(feCached), linux.FrontOptions{})
	back = linux.Netback(b, di, bound(beCached))
	sys, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return sys, front, back, dev
}

// state returns the xenbus state a state node holds, Unknown when absent.
func state(sys *model.System, st model.State, p model.PathID) model.XenbusState {
	v := sys.Get(st, p)
	if v == model.Absent {
		return model.StateUnknown
	}
	return model.XenbusState(v - 2)
}

// loc returns the name of actor ai's location in st.
func loc(sys *model.System, st model.State, ai int) string {
	a := &sys.Actors[ai]
	return a.LocName(model.LocID(sys.VarValue(st, a.Loc)))
}

// TestNetfrontTalkFails: a failed request of talk_to_netback writes
// Closing and nothing of the transaction, and netfront, unregistering,
// waits in xennet_bus_close: nothing moves it until the backend closes;
// then it writes Closed and waits for the backend's Closed before it is
// unbound.
func TestNetfrontTalkFails(t *testing.T) {
	sys, front, back, dev := netSystem(t, model.StateInitialising, model.StateInitWait, model.StateInitialising, model.StateInitWait, nil)
	st := take(t, sys, sys.Initial(), front, "sees InitWait (talk_to_netback fails)")
	if got := state(sys, st, dev.FEState); got != model.StateClosing {
		t.Errorf("frontend state %s; want Closing", got)
	}
	if sys.Exists(st, pathNamed(t, sys, "/local/domain/1/device/vif/0/tx-ring-ref")) {
		t.Error("tx-ring-ref written")
	}
	if got := loc(sys, st, front); got != "bus-close-closing" {
		t.Errorf("netfront at %s; want bus-close-closing", got)
	}
	for i := range sys.Trans {
		if tr := &sys.Trans[i]; tr.Actor == front && sys.Enabled(st, tr) {
			t.Errorf("netfront's %q enabled while the backend is InitWait", tr.Name)
		}
	}
	st = take(t, sys, st, back, "sees Closing")
	st = take(t, sys, st, front, "bus close, backend Closing")
	if got := state(sys, st, dev.FEState); got != model.StateClosed {
		t.Errorf("after the backend's Closing: frontend state %s; want Closed", got)
	}
	st = take(t, sys, st, back, "sees Closed, online")
	st = take(t, sys, st, front, "bus close done")
	if got := loc(sys, st, front); got != "unbound" {
		t.Errorf("netfront at %s after the backend's Closed; want unbound", got)
	}
	// Closed: never probed again.
	for i := range sys.Trans {
		if tr := &sys.Trans[i]; tr.Actor == front && sys.Enabled(st, tr) {
			t.Errorf("netfront's %q enabled after the unregister", tr.Name)
		}
	}
}

// TestNetbackConnectFails: connect's failed read writes Closing and then
// Connected (nothing deferred: no hotplug-status watch); a failed WATCH
// writes Connected at once; a failed read of request-rx-copy writes
// Closing and defers Connected as without a failure, which waits for the
// hotplug script.
func TestNetbackConnectFails(t *testing.T) {
	keys := map[string]string{
		"/local/domain/1/device/vif/0/tx-ring-ref": "8",
		"/local/domain/1/device/vif/0/rx-ring-ref": "9",
	}
	for _, c := range []struct {
		name  string
		want  model.XenbusState
		watch uint8
	}{
		{"sees Connected", model.StateInitWait, 1},
		{"sees Connected (connect's read fails)", model.StateConnected, 0},
		{"sees Connected (hotplug-status watch fails)", model.StateConnected, 0},
		{"sees Connected (request-rx-copy read fails)", model.StateClosing, 1},
	} {
		sys, _, back, dev := netSystem(t, model.StateConnected, model.StateInitWait, model.StateConnected, model.StateInitWait, keys)
		st := take(t, sys, sys.Initial(), back, c.name)
		if got := state(sys, st, dev.BEState); got != c.want {
			t.Errorf("%s: backend state %s; want %s", c.name, got, c.want)
		}
		if got := sys.VarValue(st, varNamed(sys, sys.Actors[back].Name+".hpwatch")); got != c.watch {
			t.Errorf("%s: hotplug-status watch %d; want %d", c.name, got, c.watch)
		}
	}
}

// TestNetbackProbeFails: a failed request of netback_probe writes Closing
// (after InitWait when the script read fails) and leaves the device
// registered without a driver.
func TestNetbackProbeFails(t *testing.T) {
	for _, name := range []string{"probe (feature transaction fails)", "probe (reading script or handle fails)"} {
		sys, _, back, dev := netSystem(t, model.StateUnknown, model.StateUnknown, model.StateInitialising, model.StateInitialising, nil)
		st := take(t, sys, sys.Initial(), back, name)
		if got := state(sys, st, dev.BEState); got != model.StateClosing {
			t.Errorf("%s: backend state %s; want Closing", name, got)
		}
		if got := loc(sys, st, back); got != "probe-failed" {
			t.Errorf("%s: netback at %s; want probe-failed", name, got)
		}
		if sys.VarValue(st, varNamed(sys, "xenstored.failures-left")) != 0 {
			t.Errorf("%s: the failure is not spent", name)
		}
	}
}
