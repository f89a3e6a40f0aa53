package linux_test

import (
	"testing"

	"github.com/xbcheck/xbcheck/model"
)

// The state tables of xenbus-protocol.md section 4, one test per driver.
// Each row is a trigger (the values a watch handler would read) and the
// driver's documented reaction; see harness_test.go for how a row is run.
//
// Notation in the rows: own is the driver's own state node, other the other
// end's; the values written besides the state nodes ("8", "17", "2097152",
// "1") are the model's stand-ins for ring references, event channels and
// feature keys (package doc of model/linux: feature keys are reduced to the
// ones another actor reads).

const (
	s0 = model.StateUnknown
	s1 = model.StateInitialising
	s2 = model.StateInitWait
	s3 = model.StateInitialised
	s4 = model.StateConnected
	s5 = model.StateClosing
	s6 = model.StateClosed
	s7 = model.StateReconfiguring
	s8 = model.StateReconfigured
)

func TestBlkbackTable(t *testing.T) {
	pdev := map[string]string{"physical-device": "8:0"}
	rows := []row{
		// Discovery and probe (section 3, xenbus_probe_node; 4.1 first row).
		{name: "probe on Initialising", drv: unbound, own: s1, other: s1,
			want: []outcome{to("probe", s2, s2)}},
		{name: "probe: own state not Initialising, not new", drv: unbound, own: s6, other: s1, want: ignore},
		{name: "probe: frontend directory missing (backend_bus_id -ENOENT)", drv: unbound, own: s1, other: s1, rmOther: true, want: ignore},
		{name: "probe: frontend key missing", drv: unbound, own: s1, other: s1, be: map[string]string{"frontend": absent}, want: ignore},
		{name: "probe: frontend-id key missing", drv: unbound, own: s1, other: s1, be: map[string]string{"frontend-id": absent}, want: ignore},

		// The physical-device gate (backend_changed, xen_update_blkif_status).
		{name: "gate: physical-device absent", drv: bound(s2), own: s2, other: s1, want: ignore},
		{name: "gate: physical-device written, rings not mapped", drv: bound(s2), own: s2, other: s1, be: pdev,
			want: []outcome{to("gate", s2, s2, "gate=yes")}},
		{name: "gate: physical-device written, rings mapped: connect", drv: bound(s2), own: s2, other: s3, be: pdev, vars: map[string]string{"rings": "yes"},
			want: []outcome{to("gate, connect", s4, s4, "BE/sectors=2097152", "gate=yes")}},
		{name: "gate: physical-device processed, Connected already", drv: bound(s4), own: s4, other: s4, be: pdev, want: ignore},

		// FE Initialised/Connected: connect_ring, connect only once the gate is open.
		{name: "FE Initialised, gate closed: connect_ring only", drv: bound(s2), own: s2, other: s3,
			want: []outcome{to("sees Initialised/Connected", s2, s2, "rings=yes")}},
		{name: "FE Connected, gate closed: connect_ring only", drv: bound(s2), own: s2, other: s4,
			want: []outcome{to("sees Initialised/Connected", s2, s2, "rings=yes")}},
		{name: "FE Initialised, physical-device written, not processed yet", drv: bound(s2), own: s2, other: s3, be: pdev,
			want: []outcome{to("gate", s2, s2, "gate=yes"), to("sees Initialised/Connected", s2, s2, "rings=yes")}},
		{name: "FE Initialised, gate open: connect", drv: bound(s2), own: s2, other: s3, be: pdev, vars: map[string]string{"gate": "yes"},
			want: []outcome{to("sees Initialised/Connected, connect", s4, s4, "BE/sectors=2097152", "rings=yes")}},
		{name: "FE Connected, gate open: connect (missed Initialised)", drv: bound(s2), own: s2, other: s4, be: pdev, vars: map[string]string{"gate": "yes"},
			want: []outcome{to("sees Initialised/Connected, connect", s4, s4, "BE/sectors=2097152", "rings=yes")}},
		{name: "FE Initialised, BE Closed, gate open: connect", drv: bound(s6), own: s6, other: s3, be: pdev, vars: map[string]string{"gate": "yes"},
			want: []outcome{to("sees Initialised/Connected, connect", s4, s4, "BE/sectors=2097152", "rings=yes")}},
		{name: "FE Initialised while Connected: BE≠4 guard", drv: bound(s4), own: s4, other: s3, be: pdev, want: ignore},
		{name: "FE Connected while Connected", drv: bound(s4), own: s4, other: s4, be: pdev, want: ignore},

		// FE Initialising: reconnect only from Closed.
		{name: "FE Initialising while Closed: reconnect", drv: bound(s6), own: s6, other: s1,
			want: []outcome{to("sees Initialising, reconnect", s2, s2)}},
		{name: "FE Initialising while InitWait", drv: bound(s2), own: s2, other: s1, want: ignore},
		{name: "FE Initialising while Connected", drv: bound(s4), own: s4, other: s1, be: pdev, want: ignore},

		// Closing and Closed.
		{name: "FE Closing", drv: bound(s4), own: s4, other: s5, be: pdev,
			want: []outcome{to("sees Closing", s5, s5)}},
		{name: "FE Closing while Closing", drv: bound(s5), own: s5, other: s5, want: ignore},
		{name: "FE Closed, online=1: Closed, stays bound", drv: bound(s4), own: s4, other: s6, be: pdev,
			want: []outcome{to("sees Closed, online", s6, s6, "rings=no")}},
		{name: "FE Closed, online=0: Closed, unbound", drv: bound(s5), own: s5, other: s6, be: map[string]string{"online": "0"},
			want: []outcome{unreg("sees Closed, offline", s6)}},
		{name: "FE Closed, online missing: Closed, unbound", drv: bound(s5), own: s5, other: s6, be: map[string]string{"online": absent},
			want: []outcome{unreg("sees Closed, offline", s6)}},
		{name: "FE Closed while Closed, online=1", drv: bound(s6), own: s6, other: s6, want: ignore},
		// Fidelity issue 10, item 6: cached Closed means frontend_changed(Closed)
		// ran with online 1; online's change to 0 alone is no event.
		{name: "FE Closed while Closed, online=0: no event, stays bound", drv: bound(s6), own: s6, other: s6, be: map[string]string{"online": "0"},
			want: ignore},

		// The frontend directory is gone: FE state reads Unknown.
		{name: "FE gone, BE Closing: unregister, writes Closed", drv: bound(s5), own: s5, other: s0, rmOther: true,
			want: []outcome{unreg("sees Unknown", s6)}},
		{name: "FE gone, BE Connected: unregister, no write", drv: bound(s4), own: s4, other: s0, rmOther: true, be: pdev,
			want: []outcome{unreg("sees Unknown", s4)}},
		{name: "FE state node gone, directory left: unregister", drv: bound(s4), own: s4, other: s0, be: pdev,
			want: []outcome{unreg("sees Unknown", s4)}},
		{name: "FE gone, BE reads Closing but cached Closed: no write", drv: bound(s6), own: s5, other: s0, rmOther: true,
			want: []outcome{unreg("sees Unknown", s5)}},
		{name: "FE state reads \"0\": Unknown, unregister", drv: bound(s4), own: s4, other: s1, fe: map[string]string{"state": "0"}, be: pdev,
			want: []outcome{unreg("sees Unknown", s4)}},

		// Bad frontend states: xenbus_dev_fatal → Closing.
		{name: "FE InitWait: fatal", drv: bound(s4), own: s4, other: s2, be: pdev, want: []outcome{to("sees bad state", s5, s5)}},
		{name: "FE Reconfiguring: fatal", drv: bound(s4), own: s4, other: s7, be: pdev, want: []outcome{to("sees bad state", s5, s5)}},
		{name: "FE Reconfigured: fatal", drv: bound(s2), own: s2, other: s8, want: []outcome{to("sees bad state", s5, s5)}},
		{name: "FE Reconfiguring while Closing", drv: bound(s5), own: s5, other: s7, want: ignore},

		// Own directory removed: unregister; the switch cannot resurrect it.
		{name: "own directory removed", drv: bound(s4), own: s4, other: s4, rmOwn: true, be: pdev,
			want: []outcome{unreg("directory removed", gone)}},
		// The switch aborts (node gone): nothing written, but the cache
		// takes the new state (__xenbus_switch_state's abort path).
		{name: "own state node removed, FE Closing: nothing written", drv: bound(s4), own: s0, other: s5, be: pdev,
			want: []outcome{to("sees Closing", gone, s5)}},
	}
	runTable(t, blkback, rows)
	// Reference: xenbus-protocol.md 4.1 (drivers/block/xen-blkback/xenbus.c, frontend_changed, backend_changed, xen_update_blkif_status; xenbus_probe.c, xenbus_dev_remove)
}

// netback after Linux 6.1 drivers/net/xen-netback/xenbus.c and a real Xen
// 4.17 host (docs/realhost.md: network-attach writes 2, then 4 only
// after hotplug-status reads "connected"; network-detach writes 5 and 6
// and removes hotplug-status). "want" is be->state, "hpwatch"
// have_hotplug_status_watch.
func TestNetbackTable(t *testing.T) {
	hs := func(v string) map[string]string { return map[string]string{"hotplug-status": v} }
	w := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	rows := []row{
		{name: "probe on Initialising", drv: unbound, own: s1, other: s1, be: w("script", "/etc/xen/scripts/vif-bridge"), want: []outcome{to("probe", s2, s2, "want=InitWait")}},
		// Fidelity issue 10, item 7: netback_probe reads BE/script after InitWait.
		{name: "probe, script missing: InitWait, Closing, Closed, probe failed", drv: unbound, own: s1, other: s1,
			want: []outcome{{Trans: "probe, script missing", Loc: "probe-failed", State: "Closed", Cached: "Closed"}}},
		{name: "FE Initialised: nothing (frontend_changed ignores it)", drv: bound(s2), own: s2, other: s3, vars: w("want", "InitWait"), want: ignore},
		{name: "FE Connected: connect, the write deferred by the hotplug-status watch", drv: bound(s2), own: s2, other: s4, be: hs(""), vars: w("want", "InitWait"),
			want: []outcome{to("sees Connected", s2, s2, "hpwatch=yes", "want=Connected")}},
		{name: "hotplug-status connected, deferred Connected: written", drv: bound(s2), own: s2, other: s4, be: hs("connected"), vars: w("want", "Connected", "hpwatch", "yes"),
			want: []outcome{to("hotplug-status connected", s4, s4, "hpwatch=no")}},
		{name: "hotplug-status empty: still deferred", drv: bound(s2), own: s2, other: s4, be: hs(""), vars: w("want", "Connected", "hpwatch", "yes"), want: ignore},
		{name: "hotplug-status error: still deferred", drv: bound(s2), own: s2, other: s4, be: hs("error"), vars: w("want", "Connected", "hpwatch", "yes"), want: ignore},
		{name: "hotplug-status connected, no watch: nothing", drv: bound(s2), own: s2, other: s3, be: hs("connected"), vars: w("want", "InitWait"), want: ignore},
		{name: "physical-device is nothing to netback", drv: bound(s2), own: s2, other: s3, be: map[string]string{"physical-device": "8:0"}, vars: w("want", "InitWait"), want: ignore},
		{name: "FE Closing while Connected: disconnect → Closing", drv: bound(s4), own: s4, other: s5, be: hs("connected"),
			want: []outcome{to("sees Closing", s5, s5, "want=Closing")}},
		{name: "FE Closing while the Connected write is deferred: nothing written", drv: bound(s2), own: s2, other: s5, be: hs(""), vars: w("want", "Connected", "hpwatch", "yes"),
			want: []outcome{to("sees Closing, deferred", s2, s2, "want=Closing")}},
		// The real detach: libxl wrote 5 and online 0, the frontend Closed;
		// netback, cached Connected, writes 5 and 6, unregisters, and
		// netback_remove removes hotplug-status.
		{name: "FE Closed, online=0, BE node Closing, cached Connected: 5, 6, unregister", drv: bound(s4), own: s5, other: s6, be: w("online", "0", "hotplug-status", "connected"),
			want: []outcome{unreg("sees Closed, offline", s6, "BE/hotplug-status=⊥", "want=Initialising")}},
		{name: "FE Closed, online=1: walk to Closed, stay", drv: bound(s4), own: s4, other: s6, be: hs("connected"),
			want: []outcome{to("sees Closed, online", s6, s6, "want=Closed")}},
		// Fidelity issue 10, item 6: be->state Closed means frontend_changed(Closed)
		// ran with online 1; online's change to 0 alone is no event.
		{name: "FE Closed, online=0, already Closed: no event, stays bound", drv: bound(s6), own: s6, other: s6, be: w("online", "0", "hotplug-status", "connected"), vars: w("want", "Closed"),
			want: ignore},
		{name: "FE gone, already Closed: unregister", drv: bound(s6), own: s6, other: s0, be: w("online", "0", "hotplug-status", "connected"), vars: w("want", "Closed"),
			want: []outcome{unreg("sees Unknown", s6, "BE/hotplug-status=⊥", "want=Initialising")}},
		{name: "FE Initialising while Closed: reconnect → InitWait", drv: bound(s6), own: s6, other: s1, vars: w("want", "Closed"),
			want: []outcome{to("sees Initialising", s2, s2, "want=InitWait")}},
		{name: "FE gone, Connected: 5, 6, unregister", drv: bound(s4), own: s4, other: s0, rmOther: true, be: hs("connected"),
			want: []outcome{unreg("sees Unknown", s6, "BE/hotplug-status=⊥", "want=Initialising")}},
		{name: "FE InitWait: fatal → Closing", drv: bound(s4), own: s4, other: s2, want: []outcome{to("sees bad state", s5, s5)}},
		{name: "own directory removed", drv: bound(s4), own: s4, other: s4, rmOwn: true, want: []outcome{unreg("directory removed", gone, "want=Initialising")}},
	}
	runTable(t, netback, rows)
}

// netfront after Linux 6.1 drivers/net/xen-netfront.c netback_changed and a
// real Xen 4.17 host: InitWait → rings, then Connected; never Initialised.
func TestNetfrontTable(t *testing.T) {
	rings := []string{"FE/event-channel-rx=18", "FE/event-channel-tx=17", "FE/rx-ring-ref=9", "FE/tx-ring-ref=8"}
	rows := []row{
		{name: "probe on Initialising: stays Initialising", drv: unbound, own: s1, other: s1, want: []outcome{to("probe", s1, s1)}},
		{name: "BE InitWait: rings, Connected", drv: bound(s1), own: s1, other: s2, want: []outcome{to("sees InitWait", s4, s4, rings...)}},
		{name: "BE InitWait, not Initialising: nothing", drv: bound(s4), own: s4, other: s2, want: ignore},
		{name: "BE Connected while Initialising: nothing (netdev_notify_peers)", drv: bound(s1), own: s1, other: s4, want: ignore},
		{name: "BE Initialised: nothing", drv: bound(s1), own: s1, other: s3, want: ignore},
		{name: "BE Closing: Closed", drv: bound(s4), own: s4, other: s5, want: []outcome{to("sees Closing", s6, s6)}},
		{name: "BE Closed, not Closed: Closed", drv: bound(s4), own: s4, other: s6, want: []outcome{to("sees Closed", s6, s6)}},
		{name: "BE Closed while Closed: nothing", drv: bound(s6), own: s6, other: s6, want: ignore},
		{name: "own directory removed", drv: bound(s4), own: s4, other: s4, rmOwn: true, want: []outcome{unreg("directory removed", gone)}},
	}
	runTable(t, netfront, rows)
}

func TestPcibackTable(t *testing.T) {
	two := map[string]string{"num_devs": "2", "dev-1": "0000:04:00.0", "state-1": "1"}
	rows := []row{
		{name: "probe on Initialising", drv: unbound, own: s1, other: s1, want: []outcome{to("probe", s2, s2)}},
		{name: "probe: own state not Initialising", drv: unbound, own: s4, other: s1, want: ignore},

		// xen_pcibk_setup_backend: only on BE==InitWait.
		{name: "setup on InitWait: state-0 1→3, Initialised", drv: bound(s2), own: s2, other: s1,
			want: []outcome{to("setup backend", s3, s3, "BE/state-0=3")}},
		{name: "setup on InitWait, two devices", drv: bound(s2), own: s2, other: s3, be: two,
			want: []outcome{to("setup backend", s3, s3, "BE/state-0=3", "BE/state-1=3")}},
		{name: "setup: FE Initialised, BE InitWait: setup first, no attach", drv: bound(s2), own: s2, other: s3,
			want: []outcome{to("setup backend", s3, s3, "BE/state-0=3")}},
		{name: "setup: own node not InitWait", drv: bound(s2), own: s5, other: s1, want: ignore},
		{name: "setup: num_devs missing: fatal", drv: bound(s2), own: s2, other: s1, be: map[string]string{"num_devs": absent},
			want: []outcome{to("setup backend", s5, s5)}},
		{name: "setup: dev-0 missing: fatal", drv: bound(s2), own: s2, other: s1, be: map[string]string{"dev-0": absent},
			want: []outcome{to("setup backend", s5, s5)}},

		// xen_pcibk_attach: only if BE==3 and FE==3.
		{name: "attach: BE and FE Initialised", drv: bound(s3), own: s3, other: s3, be: map[string]string{"state-0": "3"},
			want: []outcome{to("attach", s4, s4)}},
		{name: "attach: FE Initialising", drv: bound(s3), own: s3, other: s1, want: ignore},
		{name: "attach: BE node Closing (toolstack wrote 5), FE Initialised", drv: bound(s3), own: s5, other: s3, want: ignore},

		// Reconfiguring / Reconfigured round (4.3 PCI hot-add).
		{name: "FE and BE Reconfiguring: reconfigure", drv: bound(s4), own: s7, other: s7, be: map[string]string{"num_devs": "2", "state-0": "3", "dev-1": "0000:04:00.0", "state-1": "1"},
			want: []outcome{to("sees Reconfiguring", s8, s8, "BE/state-1=3")}},
		{name: "reconfigure detaches state-N 5", drv: bound(s4), own: s7, other: s7, be: map[string]string{"state-0": "5"},
			want: []outcome{to("sees Reconfiguring", s8, s8, "BE/state-0=6")}},
		{name: "FE Reconfiguring, BE not Reconfiguring", drv: bound(s4), own: s4, other: s7, want: ignore},
		{name: "FE Connected after Reconfigured", drv: bound(s8), own: s8, other: s4, want: []outcome{to("sees Connected", s4, s4)}},
		{name: "FE Connected while Connected", drv: bound(s4), own: s4, other: s4, want: ignore},
		{name: "FE Connected while Initialised", drv: bound(s3), own: s3, other: s4, want: []outcome{to("sees Connected", s4, s4)}},
		{name: "FE Initialising while Connected", drv: bound(s4), own: s4, other: s1, want: ignore},

		// Closing, Closed, gone.
		{name: "FE Closing", drv: bound(s4), own: s4, other: s5, want: []outcome{to("sees Closing", s5, s5)}},
		{name: "FE Closing while Closing", drv: bound(s5), own: s5, other: s5, want: ignore},
		{name: "FE Closed, online=1: stays bound", drv: bound(s5), own: s5, other: s6, want: []outcome{to("sees Closed, online", s6, s6)}},
		{name: "FE Closed, online=0: unbound", drv: bound(s5), own: s5, other: s6, be: map[string]string{"online": "0"},
			want: []outcome{unreg("sees Closed, offline", s6)}},
		{name: "FE gone, BE Closing: writes Closed", drv: bound(s5), own: s5, other: s0, rmOther: true, want: []outcome{unreg("sees Unknown", s6)}},
		{name: "FE gone, BE Connected: remove writes Closed (no allow_rebind)", drv: bound(s4), own: s4, other: s0, rmOther: true,
			want: []outcome{unreg("sees Unknown", s6)}},
		{name: "own directory removed", drv: bound(s4), own: s4, other: s4, rmOwn: true, want: []outcome{unreg("directory removed", gone)}},
	}
	runTable(t, pciback, rows)
	// Reference: xenbus-protocol.md 4.1 "pciback", 4.3 PCI hot-add (drivers/xen/xen-pciback/xenbus.c, xen_pcibk_be_watch, xen_pcibk_setup_backend, xen_pcibk_attach, xen_pcibk_reconfigure, xen_pcibk_frontend_changed)
}

func TestBlkfrontTable(t *testing.T) {
	ring := []string{"FE/event-channel=17", "FE/ring-ref=8"}
	sectors := map[string]string{"sectors": "2097152"}
	refuse := func(r row) row { r.opt.RefuseClose = true; return r }
	rows := []row{
		{name: "probe stays Initialising", drv: unbound, own: s1, other: s1, want: []outcome{to("probe", s1, s1)}},
		{name: "probe: own state not Initialising", drv: unbound, own: s6, other: s2, want: ignore},
		{name: "probe: backend key missing: fatal", drv: unbound, own: s1, other: s1, fe: map[string]string{"backend": absent},
			want: []outcome{failed("probe", s5)}},
		{name: "probe: backend-id key missing: fatal", drv: unbound, own: s1, other: s1, fe: map[string]string{"backend-id": absent},
			want: []outcome{failed("probe", s5)}},
		{name: "probe: backend directory missing: fatal", drv: unbound, own: s1, other: s0, rmOther: true,
			want: []outcome{failed("probe", s5)}},

		{name: "BE InitWait, FE Initialising: talk_to_blkback", drv: bound(s1), own: s1, other: s2,
			want: []outcome{to("sees InitWait", s3, s3, ring...)}},
		{name: "BE InitWait, FE Initialised", drv: bound(s3), own: s3, other: s2, want: ignore},
		{name: "BE InitWait, FE Connected", drv: bound(s4), own: s4, other: s2, want: ignore},
		{name: "BE Connected, FE Initialised: connect", drv: bound(s3), own: s3, other: s4, be: sectors,
			want: []outcome{to("sees Connected", s4, s4)}},
		{name: "BE Connected, FE Initialised, sectors missing: fatal", drv: bound(s3), own: s3, other: s4,
			want: []outcome{to("sees Connected", s5, s5)}},
		{name: "BE Connected, FE Initialising: catch up", drv: bound(s1), own: s1, other: s4, be: sectors,
			want: []outcome{to("sees Connected, catch up", s4, s4, ring...)}},
		{name: "BE Connected, FE Connected: capacity change only", drv: bound(s4), own: s4, other: s4, want: ignore},
		{name: "BE Connected, FE Closed: catch up", drv: bound(s6), own: s6, other: s4, be: sectors,
			want: []outcome{to("sees Connected, catch up", s4, s4, ring...)}},

		{name: "BE Closing, FE Connected", drv: bound(s4), own: s4, other: s5, want: []outcome{to("sees Closing", s6, s6)}},
		{name: "BE Closing, FE Initialised", drv: bound(s3), own: s3, other: s5, want: []outcome{to("sees Closing", s6, s6)}},
		{name: "BE Closing, FE Closing", drv: bound(s5), own: s5, other: s5, want: ignore},
		{name: "BE Closed, FE Connected: missed Closing", drv: bound(s4), own: s4, other: s6, want: []outcome{to("sees Closed", s6, s6)}},
		{name: "BE Closed, FE Closed", drv: bound(s6), own: s6, other: s6, want: ignore},
		{name: "BE Closed, FE Closing: blkfront_closing returns early", drv: bound(s5), own: s5, other: s6, want: ignore},

		{name: "BE missing (Unknown)", drv: bound(s4), own: s4, other: s0, rmOther: true, want: ignore},
		{name: "BE state reads \"0\"", drv: bound(s4), own: s4, other: s1, be: map[string]string{"state": "0"}, want: ignore},
		{name: "BE Initialising", drv: bound(s3), own: s3, other: s1, want: ignore},
		{name: "BE Initialised", drv: bound(s3), own: s3, other: s3, want: ignore},
		{name: "BE Reconfiguring", drv: bound(s4), own: s4, other: s7, want: ignore},
		{name: "BE Reconfigured", drv: bound(s4), own: s4, other: s8, want: ignore},

		{name: "own directory removed", drv: bound(s4), own: s4, other: s4, rmOwn: true, want: []outcome{unreg("directory removed", gone)}},

		// Old blkfront: "Device in use; refusing to close".
		refuse(row{name: "refuse-close allowed, BE Closing: Closed or refuse", drv: bound(s4), own: s4, other: s5, allow: []string{"frontend-refuses-close"},
			want: []outcome{to("sees Closing", s6, s6), to("sees Closing, in use", s5, s5)}}),
		refuse(row{name: "refuse-close allowed, BE Closed: Closed or refuse", drv: bound(s4), own: s4, other: s6, allow: []string{"frontend-refuses-close"},
			want: []outcome{to("sees Closed", s6, s6), to("sees Closing, in use", s5, s5)}}),
		refuse(row{name: "refuse-close not allowed: Closed only", drv: bound(s4), own: s4, other: s5,
			want: []outcome{to("sees Closing", s6, s6)}}),
		refuse(row{name: "refused: stays Closing", drv: bound(s5), own: s5, other: s5, allow: []string{"frontend-refuses-close"}, want: ignore}),
	}
	runTable(t, blkfront, rows)
	// Reference: xenbus-protocol.md 4.2 (drivers/block/xen-blkfront.c, blkfront_probe, blkback_changed, blkfront_closing)
}

func TestPcifrontTable(t *testing.T) {
	rows := []row{
		{name: "probe: publish → Initialised", drv: unbound, own: s1, other: s1,
			want: []outcome{to("probe", s3, s3, "FE/event-channel=17", "FE/pci-op-ref=8")}},
		{name: "probe: own state not Initialising", drv: unbound, own: s4, other: s4, want: ignore},
		{name: "probe: backend key missing: fatal", drv: unbound, own: s1, other: s1, fe: map[string]string{"backend": absent},
			want: []outcome{failed("probe", s5)}},
		{name: "probe: backend directory missing: fatal", drv: unbound, own: s1, other: s0, rmOther: true,
			want: []outcome{failed("probe", s5)}},

		{name: "BE Connected, FE Initialised: try_connect", drv: bound(s3), own: s3, other: s4, want: []outcome{to("sees Connected", s4, s4)}},
		{name: "BE Connected, FE Connected", drv: bound(s4), own: s4, other: s4, want: ignore},
		{name: "BE Reconfiguring, FE Connected: detach", drv: bound(s4), own: s4, other: s7, want: []outcome{to("sees Reconfiguring", s7, s7)}},
		{name: "BE Reconfiguring, FE Initialised", drv: bound(s3), own: s3, other: s7, want: ignore},
		{name: "BE Reconfigured, FE Reconfiguring: attach", drv: bound(s7), own: s7, other: s8, want: []outcome{to("sees Reconfigured", s4, s4)}},
		{name: "BE Reconfigured, FE Connected", drv: bound(s4), own: s4, other: s8, want: ignore},
		{name: "BE Closing", drv: bound(s4), own: s4, other: s5, want: []outcome{to("sees Closing/Closed", s6, s6)}},
		{name: "BE Closed", drv: bound(s4), own: s4, other: s6, want: []outcome{to("sees Closing/Closed", s6, s6)}},
		{name: "BE Closed, FE Closed", drv: bound(s6), own: s6, other: s6, want: ignore},
		{name: "BE missing (Unknown)", drv: bound(s4), own: s4, other: s0, rmOther: true, want: ignore},
		{name: "BE Initialising", drv: bound(s3), own: s3, other: s1, want: ignore},
		{name: "BE InitWait", drv: bound(s3), own: s3, other: s2, want: ignore},
		{name: "BE Initialised", drv: bound(s3), own: s3, other: s3, want: ignore},
		{name: "own directory removed", drv: bound(s4), own: s4, other: s4, rmOwn: true, want: []outcome{unreg("directory removed", gone)}},
	}
	runTable(t, pcifront, rows)
	// Reference: xenbus-protocol.md 4.2 "pcifront" (drivers/pci/xen-pcifront.c, pcifront_xenbus_probe, pcifront_backend_changed)
}

// pvFrontRows are the rows kbdfront and fbfront share (4.2: "BE 5/6 → 6, as
// kbdfront").
func pvFrontRows(probeWrites, initWaitWrites []string) []row {
	return []row{
		{name: "probe: connect_backend → Initialised", drv: unbound, own: s1, other: s1,
			want: []outcome{to("probe", s3, s3, probeWrites...)}},
		{name: "probe: own state not Initialising", drv: unbound, own: s6, other: s1, want: ignore},
		{name: "probe: backend key missing: fatal", drv: unbound, own: s1, other: s1, fe: map[string]string{"backend": absent},
			want: []outcome{failed("probe", s5)}},
		{name: "probe: backend directory missing: fatal", drv: unbound, own: s1, other: s0, rmOther: true,
			want: []outcome{failed("probe", s5)}},
		{name: "BE InitWait, FE Initialised", drv: bound(s3), own: s3, other: s2,
			want: []outcome{to("sees InitWait", s4, s4, initWaitWrites...)}},
		{name: "BE Connected, FE Initialised: connected twice", drv: bound(s3), own: s3, other: s4, want: []outcome{to("sees Connected", s4, s4)}},
		{name: "BE Connected, FE Connected", drv: bound(s4), own: s4, other: s4, want: ignore},
		{name: "BE InitWait, FE Connected", drv: bound(s4), own: s4, other: s2, want: ignore},
		{name: "BE InitWait, FE Closed", drv: bound(s6), own: s6, other: s2,
			want: []outcome{to("sees InitWait", s4, s4, initWaitWrites...)}},
		{name: "BE Connected, FE Closed", drv: bound(s6), own: s6, other: s4, want: []outcome{to("sees Connected", s4, s4)}},
		{name: "BE Closing, FE Connected", drv: bound(s4), own: s4, other: s5, want: []outcome{to("sees Closing/Closed", s6, s6)}},
		{name: "BE Closed, FE Connected", drv: bound(s4), own: s4, other: s6, want: []outcome{to("sees Closing/Closed", s6, s6)}},
		{name: "BE Closed, FE Closed", drv: bound(s6), own: s6, other: s6, want: ignore},
		{name: "BE missing (Unknown)", drv: bound(s4), own: s4, other: s0, rmOther: true, want: ignore},
		{name: "BE Initialising", drv: bound(s3), own: s3, other: s1, want: ignore},
		{name: "BE Initialised", drv: bound(s3), own: s3, other: s3, want: ignore},
		{name: "BE Reconfiguring", drv: bound(s4), own: s4, other: s7, want: ignore},
		{name: "BE Reconfigured", drv: bound(s4), own: s4, other: s8, want: ignore},
		{name: "own directory removed", drv: bound(s4), own: s4, other: s4, rmOwn: true, want: []outcome{unreg("directory removed", gone)}},
	}
}

func TestKbdfrontTable(t *testing.T) {
	rows := pvFrontRows([]string{"FE/event-channel=17", "FE/page-ref=8"}, []string{"FE/request-abs-pointer=1"})
	runTable(t, kbdfront, rows)
	// Reference: xenbus-protocol.md 4.2 "kbdfront" (drivers/input/misc/xen-kbdfront.c, xenkbd_probe, xenkbd_connect_backend, xenkbd_backend_changed)
}

func TestFbfrontTable(t *testing.T) {
	// The model publishes feature-update on InitWait, the doc at probe:
	// the shared rows compare states only, two extra rows pin the keys.
	rows := pvFrontRows(nil, nil)
	for i := range rows {
		rows[i].stateOnly = true
	}
	rows = append(rows,
		row{name: "probe publishes feature-update", drv: unbound, own: s1, other: s1,
			want: []outcome{to("probe", s3, s3, "FE/event-channel=17", "FE/feature-update=1", "FE/page-ref=8")}},
		row{name: "BE InitWait writes only the state", drv: bound(s3), own: s3, other: s2,
			want: []outcome{to("sees InitWait", s4, s4)}},
	)
	runTable(t, fbfront, rows)
	// Reference: xenbus-protocol.md 4.2 "fbfront" (drivers/video/fbdev/xen-fbfront.c, xenfb_probe, xenfb_connect_backend, xenfb_backend_changed)
}

// TestCachedStateRule pins xenbus_switch_state's cache: a driver whose
// cached state already equals the target writes nothing, even when the node
// holds another value (written by someone else), and a switch never
// re-creates a missing node.
func TestCachedStateRule(t *testing.T) {
	pdev := map[string]string{"physical-device": "8:0"}
	cases := []struct {
		sp driverSpec
		r  row
	}{
		{blkback, row{name: "blkback: FE Closing, cached Closing, node Connected", drv: bound(s5), own: s4, other: s5, want: ignore}},
		{blkback, row{name: "blkback: FE InitWait, cached Closing, node Connected", drv: bound(s5), own: s4, other: s2, want: ignore}},
		{blkback, row{name: "blkback: FE Closed, online=1, cached Closed, node Closing", drv: bound(s6), own: s5, other: s6, want: ignore}},
		{blkback, row{name: "blkback: FE Connected, cached Connected, node InitWait", drv: bound(s4), own: s2, other: s4, be: pdev, want: ignore}},
		{netback, row{name: "netback: FE Closing, cached Closing, node Connected", drv: bound(s5), own: s4, other: s5, want: ignore}},
		{pciback, row{name: "pciback: FE Closing, cached Closing, node Connected", drv: bound(s5), own: s4, other: s5, want: ignore}},
		{pciback, row{name: "pciback: FE Connected, cached Connected, node Reconfigured", drv: bound(s4), own: s8, other: s4, want: ignore}},
		{pciback, row{name: "pciback: reconfigure with cached Reconfigured: state-N only", drv: bound(s8), own: s7, other: s7,
			be:   map[string]string{"num_devs": "2", "state-0": "3", "dev-1": "0000:04:00.0", "state-1": "1"},
			want: []outcome{to("sees Reconfiguring", s7, s8, "BE/state-1=3")}}},
		{blkfront, row{name: "blkfront: BE Closing, cached Closed, node Connected", drv: bound(s6), own: s4, other: s5, want: ignore}},
		{blkfront, row{name: "blkfront: BE InitWait, cached Initialised, node Initialising", drv: bound(s3), own: s1, other: s2, want: ignore}},
		{pcifront, row{name: "pcifront: BE Closing, cached Closed, node Connected", drv: bound(s6), own: s4, other: s5, want: ignore}},
		{kbdfront, row{name: "kbdfront: BE Connected, cached Connected, node Initialised", drv: bound(s4), own: s3, other: s4, want: ignore}},
		{fbfront, row{name: "fbfront: BE Closed, cached Closed, node Connected", drv: bound(s6), own: s4, other: s6, want: ignore}},
		// The node exists check: "we don't want to resurrect that directory".
		// Nothing is written, yet the cache takes the new state: the abort
		// path of __xenbus_switch_state ends the transaction without error,
		// so it sets dev->state (Linux xenbus_client.c).
		{blkback, row{name: "blkback: own state node missing: no write, cache updated", drv: bound(s4), own: s0, other: s5, be: pdev,
			want: []outcome{to("sees Closing", gone, s5)}}},
		{blkfront, row{name: "blkfront: own state node missing: no write, cache updated", drv: bound(s4), own: s0, other: s6,
			want: []outcome{to("sees Closed", gone, s6)}}},
	}
	for _, c := range cases {
		t.Run(c.r.name, func(t *testing.T) { runRow(t, c.sp, c.r) })
	}
	// Reference: xenbus-protocol.md 10.5 and 3 (drivers/xen/xenbus/xenbus_client.c, __xenbus_switch_state)
}

// TestPausedDomain checks that a driver in a paused or dead domain takes no
// step, and that a backend in dom0 is not held back by the guest's pause.
func TestPausedDomain(t *testing.T) {
	cases := []struct {
		sp      driverSpec
		r       row
		dom     int // the domain whose run state varies
		running []outcome
	}{
		{blkfront, row{name: "blkfront probe", drv: unbound, own: s1, other: s1}, 1, []outcome{to("probe", s1, s1)}},
		{blkfront, row{name: "blkfront sees InitWait", drv: bound(s1), own: s1, other: s2}, 1,
			[]outcome{to("sees InitWait", s3, s3, "FE/event-channel=17", "FE/ring-ref=8")}},
		{blkfront, row{name: "blkfront sees Closing", drv: bound(s4), own: s4, other: s5}, 1, []outcome{to("sees Closing", s6, s6)}},
		{pcifront, row{name: "pcifront probe", drv: unbound, own: s1, other: s1}, 1,
			[]outcome{to("probe", s3, s3, "FE/event-channel=17", "FE/pci-op-ref=8")}},
		{kbdfront, row{name: "kbdfront sees InitWait", drv: bound(s3), own: s3, other: s2}, 1,
			[]outcome{to("sees InitWait", s4, s4, "FE/request-abs-pointer=1")}},
		{fbfront, row{name: "fbfront sees Connected", drv: bound(s3), own: s3, other: s4}, 1, []outcome{to("sees Connected", s4, s4)}},
		{blkback, row{name: "blkback in driver domain: FE Closing", drv: bound(s4), own: s4, other: s5, beDom: 2}, 2, []outcome{to("sees Closing", s5, s5)}},
		{pciback, row{name: "pciback in driver domain: probe", drv: unbound, own: s1, other: s1, beDom: 2}, 2, []outcome{to("probe", s2, s2)}},
		{netback, row{name: "netback in driver domain: FE gone", drv: bound(s5), own: s5, other: s0, rmOther: true, beDom: 2}, 2,
			[]outcome{unreg("sees Unknown", s6, "want=Initialising")}},
	}
	for _, c := range cases {
		for st := range uint8(len(model.DomainStateNames)) {
			r := c.r
			r.name = c.r.name + ", domain " + model.DomainStateNames[st]
			r.run = map[int]uint8{c.dom: st}
			r.want = ignore
			if st == model.DomainRunning {
				r.want = c.running
			}
			t.Run(r.name, func(t *testing.T) { runRow(t, c.sp, r) })
		}
	}
	// The guest's pause does not stop a backend in dom0.
	r := row{name: "blkback in dom0, guest paused: probe", drv: unbound, own: s1, other: s1,
		run: map[int]uint8{1: model.DomainPaused}, want: []outcome{to("probe", s2, s2)}}
	t.Run(r.name, func(t *testing.T) { runRow(t, blkback, r) })
	// Reference: xenbus-protocol.md 10.4 (model/system.go, Actor.Domain; model/step.go, Successors)
}
