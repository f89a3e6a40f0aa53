package linux_test

import (
	"fmt"
	"testing"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/model/linux"
)

// deviceBuilder starts a system of dom0, a guest G and one device of
// kind (its backend kind the same) served by dom0, its frontend and
// backend entries in the store with the two states given and the given
// keys, with the fault request-fail allowed when fail is true.
func deviceBuilder(t *testing.T, name, kind string, devid int, feState, beState model.XenbusState, keys map[string]string, fail bool) (*model.Builder, int, model.Device) {
	t.Helper()
	b := model.NewBuilder(t.Name())
	b.Domain(0, "dom0", model.DomainRunning)
	b.Domain(1, "G", model.DomainRunning)
	di := b.NewDevice(model.DeviceSpec{Name: name, Kind: kind, BEKind: kind, DevID: devid, FEDom: 1, BEDom: 0})
	b.InitEntries(b.FrontendEntries(di))
	b.InitEntries(b.BackendEntries(di))
	dev := b.Sys().Devices[di]
	b.Init(dev.FEState, feState.Value())
	b.Init(dev.BEState, beState.Value())
	for k, v := range keys {
		b.Init(b.Path(k), b.Value(v))
	}
	if fail {
		b.Allow(model.RequestFailFault)
	}
	return b, di, dev
}

// failSystem builds dom0, a guest, a vbd and one driver (blkfront or
// blkback) bound with cached state cached, the store holding the
// backend's and frontend's states and the given keys, with the fault
// request-fail allowed.
func failSystem(t *testing.T, front bool, cached, feState, beState model.XenbusState, keys map[string]string) (*model.System, int, model.Device) {
	t.Helper()
	b, di, dev := deviceBuilder(t, "xvda", "vbd", 51712, feState, beState, keys, true)
	var ai int
	if front {
		ai = linux.Blkfront(b, di, linux.Bound{Bound: true, Cached: cached}, linux.FrontOptions{})
	} else {
		ai = linux.Blkback(b, di, linux.Bound{Bound: true, Cached: cached})
	}
	sys, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return sys, ai, dev
}

// take applies the enabled transition called name of actor ai.
func take(t *testing.T, sys *model.System, st model.State, ai int, name string) model.State {
	t.Helper()
	for i := range sys.Trans {
		tr := &sys.Trans[i]
		if tr.Actor == ai && tr.Name == name && sys.Enabled(st, tr) {
			return sys.Apply(st, tr)
		}
	}
	var have []string
	for i := range sys.Trans {
		if sys.Trans[i].Actor == ai && sys.Enabled(st, &sys.Trans[i]) {
			have = append(have, sys.Trans[i].Name)
		}
	}
	t.Fatalf("%q not enabled; enabled: %q", name, have)
	return nil
}

// pathNamed returns the path called name, which the driver interned.
func pathNamed(t *testing.T, sys *model.System, name string) model.PathID {
	t.Helper()
	p, ok := sys.PathByName(name)
	if !ok {
		t.Fatalf("no path %s", name)
	}
	return p
}

func varNamed(sys *model.System, name string) model.VarID {
	for v := range sys.Vars {
		if sys.Vars[v].Name == name {
			return model.VarID(v)
		}
	}
	return model.VarID(len(sys.Vars))
}

// TestBlkfrontRingTransactionFails: talk_to_blkback's failed request
// aborts the transaction and xenbus_dev_fatal switches to Closing; no
// ring-ref, no Initialised, and the run's one failure is spent.
func TestBlkfrontRingTransactionFails(t *testing.T) {
	for _, c := range []struct {
		name    string
		beState model.XenbusState
		keys    map[string]string
	}{
		{"sees InitWait (ring transaction fails)", model.StateInitWait, nil},
		{"sees Connected, catch up (ring transaction fails)", model.StateConnected, map[string]string{"/local/domain/0/backend/vbd/1/51712/sectors": "2097152"}},
	} {
		sys, ai, dev := failSystem(t, true, model.StateInitialising, model.StateInitialising, c.beState, c.keys)
		st := take(t, sys, sys.Initial(), ai, c.name)
		ring := pathNamed(t, sys, "/local/domain/1/device/vbd/51712/ring-ref")
		cache := varNamed(sys, sys.Actors[ai].Name+".state")
		if got := model.XenbusState(sys.Get(st, dev.FEState) - 2); sys.Get(st, dev.FEState) == model.Absent || got != model.StateClosing {
			t.Errorf("%s: frontend state %v; want Closing", c.name, sys.Get(st, dev.FEState))
		}
		if sys.Exists(st, ring) {
			t.Errorf("%s: ring-ref written", c.name)
		}
		if got := model.XenbusState(sys.VarValue(st, cache)); got != model.StateClosing {
			t.Errorf("%s: cached state %s; want Closing", c.name, got)
		}
		if sys.VarValue(st, varNamed(sys, "xenstored.failures-left")) != 0 {
			t.Errorf("%s: the failure is not spent", c.name)
		}
	}
}

// TestBlkbackConnectFails: connect's failed write switches to Closing and
// writes nothing; its failed commit switches to Closing and then, with
// nothing committed, to Connected (no sectors).
func TestBlkbackConnectFails(t *testing.T) {
	keys := map[string]string{
		"/local/domain/0/backend/vbd/1/51712/physical-device": "8:0",
		"/local/domain/1/device/vbd/51712/ring-ref":           "8",
		"/local/domain/1/device/vbd/51712/event-channel":      "17",
	}
	for _, c := range []struct {
		name string
		want model.XenbusState
	}{
		{"sees Initialised/Connected, connect (connect's write fails)", model.StateClosing},
		{"sees Initialised/Connected, connect (connect's commit fails)", model.StateConnected},
	} {
		sys, ai, dev := failSystem(t, false, model.StateInitWait, model.StateInitialised, model.StateInitWait, keys)
		st := take(t, sys, sys.Initial(), ai, "gate")
		st = take(t, sys, st, ai, c.name)
		sectors := pathNamed(t, sys, "/local/domain/0/backend/vbd/1/51712/sectors")
		if v := sys.Get(st, dev.BEState); v == model.Absent || model.XenbusState(v-2) != c.want {
			t.Errorf("%s: backend state %v; want %s", c.name, v, c.want)
		}
		if sys.Exists(st, sectors) {
			t.Errorf("%s: sectors written", c.name)
		}
	}
}

// TestFrontendPublishFails: pcifront's, kbdfront's and fbfront's
// publishing transaction fails in their probe: xenbus_dev_fatal writes
// Closing, none of the keys are written, the driver is not bound (it
// stays probe-failed), and the run's one failure is spent; without the
// fault there is no such variant.
func TestFrontendPublishFails(t *testing.T) {
	for _, c := range []struct {
		driver, kind string
		add          func(*model.Builder, int, linux.Bound) int
		key          string
	}{
		{"pcifront", "pci", linux.Pcifront, "pci-op-ref"},
		{"kbdfront", "vkbd", linux.Kbdfront, "page-ref"},
		{"fbfront", "vfb", linux.Fbfront, "page-ref"},
	} {
		for _, allowed := range []bool{true, false} {
			b, di, dev := deviceBuilder(t, "dev", c.kind, 0, model.StateInitialising, model.StateInitWait, nil, allowed)
			ai := c.add(b, di, linux.Bound{})
			sys, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			if !allowed {
				for i := range sys.Trans {
					if tr := &sys.Trans[i]; tr.Actor == ai && tr.Fault != "" {
						t.Errorf("%s without the fault: transition %q", c.driver, tr.Name)
					}
				}
				continue
			}
			st := take(t, sys, sys.Initial(), ai, "probe (transaction fails)")
			if v := sys.Get(st, dev.FEState); v == model.Absent || model.XenbusState(v-2) != model.StateClosing {
				t.Errorf("%s: frontend state %v; want Closing", c.driver, v)
			}
			if p, ok := sys.PathByName(sys.Paths[dev.FEDir].Name + "/" + c.key); ok && sys.Exists(st, p) {
				t.Errorf("%s: %s written", c.driver, c.key)
			}
			if got := sys.Actors[ai].LocName(sys.LocOf(st, ai)); got != "probe-failed" {
				t.Errorf("%s: at %s; want probe-failed", c.driver, got)
			}
			if sys.VarValue(st, varNamed(sys, "xenstored.failures-left")) != 0 {
				t.Errorf("%s: the failure is not spent", c.driver)
			}
		}
	}
}

// TestPcibackSetupFails: a failed request of xen_pcibk_setup_backend
// switches pciback to Closing after the state-N writes made before it,
// and never to Initialised.
func TestPcibackSetupFails(t *testing.T) {
	const slots = 2
	for k := 0; k <= slots; k++ {
		const base = "/local/domain/0/backend/pci/1/0"
		keys := map[string]string{}
		for key, v := range map[string]string{"num_devs": "2", "dev-0": "0000:00:01.0", "dev-1": "0000:00:02.0", "state-0": "1", "state-1": "1"} {
			keys[base+"/"+key] = v
		}
		b, di, dev := deviceBuilder(t, "pci", "pci", 0, model.StateInitialising, model.StateInitWait, keys, true)
		ai := linux.Pciback(b, di, linux.Bound{Bound: true, Cached: model.StateInitWait}, slots)
		sys, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		st := take(t, sys, sys.Initial(), ai, fmt.Sprintf("setup backend (request fails after %d writes)", k))
		if v := sys.Get(st, dev.BEState); v == model.Absent || model.XenbusState(v-2) != model.StateClosing {
			t.Errorf("after %d writes: backend state %v; want Closing", k, v)
		}
		for i := 0; i < slots; i++ {
			want := "1"
			if i < k {
				want = "3"
			}
			p := pathNamed(t, sys, fmt.Sprintf("%s/state-%d", base, i))
			if v, ok := sys.ValueByName(want); !ok || sys.Get(st, p) != v {
				t.Errorf("after %d writes: state-%d is not %q", k, i, want)
			}
		}
	}
}
