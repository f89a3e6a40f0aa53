// Package libxl models the libxl toolstack's device operations in the
// versions the seed bugs need: device add, device remove and destroy with
// their force levels, the 4.2 qemu bodge, PCI add (before 0fdb48ffe7a1,
// with it, and with its fix 73ee2795aaef), and domain destroy.
//
// Every operation is one actor whose control locations are named after the
// libxl functions and the steps of the device-removal flowchart in
// libxl_internal.h (xenbus-protocol.md 6.2), so that the flowchart can be
// drawn from the model. Timers are transitions that may fire at any point
// while the actor waits (untimed semantics); their Timeout field carries
// the real constant (xenbus-protocol.md 6.1).
//
// Versions 4.2 to 4.22 (Version); the hotplug scripts are found through
// BE/script and BE/type as libxl_linux.c finds them (ScriptKeys).
//
// Simplifications, each named:
//   - hotplug scripts are run by libxl (run_hotplug_scripts, the xl
//     default), not udev; they exist for vbd and vif backends in dom0;
//   - the remove script writes nothing the model reads; the add script
//     writes physical-device (vbd) and hotplug-status;
//   - type keys (params, mode, mac, bridge, ...) are not written; only the
//     keys some actor reads are (script, and a vif's type, are read);
//   - libxl_domain_info is read from the model's domain run state;
//   - libxl__devices_destroy removes the scenario's devices of the domain
//     (4.2 enumerates /local/domain/<domid>/device, 4.7+ /libxl/<domid>).
package libxl

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/xbcheck/xbcheck/model"
)

// A Version is a modelled libxl release (Versions), 4.2 to 4.22.
//
// 4.18 to 4.22 model as 4.17: between RELEASE-4.17.0 and RELEASE-4.22.0
// the modelled functions of libxl_device.c (libxl__initiate_device_generic_remove,
// device_qemu_timeout, device_hotplug, device_hotplug_done,
// libxl__device_destroy, libxl__wait_device_connection,
// libxl__wait_for_backend, libxl__device_exists), libxl_pci.c
// (libxl__device_pci_add_xenstore, libxl__create_pci_backend), libxl_domain.c
// (libxl__destroy_domid), libxl_event.c (libxl__ev_devstate_wait),
// libxl_aoutils.c (libxl__xswait_start), libxl_xshelp.c
// (libxl__xs_path_cleanup) and libxl_nic.c (libxl__set_xenstore_nic) are
// unchanged. What changed: libxl__device_generic_add checks the result of
// every xenstore request from 4.19 (531d3bea5e, "libxl: Fix handling
// XenStore errors in device creation"), which matters only when a request
// fails (fault request-fail: Version.GenericAddChecked, fail.go); blktap's "vbd3" backend kind with its
// block-tap script (6d7d8d2b3e, 4.19), not modelled; devices_destroy_cb
// removes the empty-cdrom file (4e41947bad, 4.19), no xenstore effect;
// device_backend_callback logs rc (ed70714236, 4.18).
type Version struct{ Minor int }

// firstMinor and lastMinor bound the modelled releases, 4.firstMinor to
// 4.lastMinor: the one place that says which versions exist (a scenario's
// toolstack.version is checked against Versions). A release that changes
// behaviour also gets a feature predicate below.
const (
	firstMinor = 2
	lastMinor  = 22
)

// Versions lists the modelled releases as scenario files write them,
// oldest first: "4.2", "4.3", ...
func Versions() []string {
	var vs []string
	for n := firstMinor; n <= lastMinor; n++ {
		vs = append(vs, Version{Minor: n}.String())
	}
	return vs
}

// ParseVersion reads "4.N", N from firstMinor to lastMinor.
func ParseVersion(s string) (Version, error) {
	rest, ok := strings.CutPrefix(s, "4.")
	n, err := strconv.Atoi(rest)
	if !ok || err != nil || n < firstMinor || n > lastMinor {
		return Version{}, fmt.Errorf("libxl version %q: want %s to %s", s, Version{firstMinor}, Version{lastMinor})
	}
	return Version{Minor: n}, nil
}

func (v Version) String() string { return fmt.Sprintf("4.%d", v.Minor) }

// The features that change between the modelled versions, with the commit
// that brought each (xenbus-protocol.md, key commits table).

// BodgeChecked: device_qemu_timeout reads the state and writes Closed only
// if present and not Closed (f39b1af257, 4.4).
func (v Version) BodgeChecked() bool { return v.Minor >= 4 }

// HotplugTimeout is LIBXL_HOTPLUG_TIMEOUT in milliseconds (8928100064, 4.6).
func (v Version) HotplugTimeout() int {
	if v.Minor >= 6 {
		return 40000
	}
	return 10000
}

// OnlineUnconditional: online=0 is written whatever the state
// (5c9a00c571 "libxl: fix devd removal path", in 4.7, and cherry-picked
// into 4.6.0 as fe6a5ad304: RELEASE-4.6.0 tools/libxl/libxl_device.c
// libxl__initiate_device_remove writes "rc = libxl__xs_write_checked(gc,
// t, online_path, "0");" before the state check, where RELEASE-4.5.0
// writes it only "if (state && atoi(state) != XenbusStateClosed)").
func (v Version) OnlineUnconditional() bool { return v.Minor >= 6 }

// DevdChecksOnline: xl devd removes a device on state 6 only when online
// is 0 (the same commit, 4.6.0: "} else if (state == XenbusStateClosed &&
// online == 0) {"); 4.4 and 4.5 remove it on state 6 alone ("} else if
// (state == XenbusStateClosed) {", RELEASE-4.4.0 tools/libxl/libxl.c
// backend_watch_callback), so a frontend that closes by itself loses its
// backend.
func (v Version) DevdChecksOnline() bool { return v.Minor >= 6 }

// LibxlRecords: /libxl/<domid>/device records (811b188add, 4.7).
func (v Version) LibxlRecords() bool { return v.Minor >= 7 }

// EmptyHotplugStatus reports whether a vif's backend is created with an
// empty hotplug-status node (4.17+, "libxl: force netback to wait for
// hotplug execution before connecting"), so that netback defers
// Connected until the vif script has written "connected". Seen on the
// real Xen 4.17 host (docs/realhost.md).
func (v Version) EmptyHotplugStatus() bool { return v.Minor >= 17 }

// DriverDomainWait: on remove, dom0 waits for a driver domain to remove the
// backend directory instead of running scripts. From 4.4: RELEASE-4.4.0
// tools/libxl/libxl_device.c device_hotplug, "if (aodev->dev->backend_domid
// != domid) { if (aodev->action != LIBXL__DEVICE_ACTION_REMOVE) goto out;
// ... libxl__ev_xswatch_register(..., device_destroy_be_watch_cb, be_path)";
// 4.3's device_hotplug has only "if (aodev->dev->backend_domid !=
// LIBXL_TOOLSTACK_DOMID) goto out;" (no wait, no script). `xl devd`
// (libxl_device_events_handler) is in 4.4 too.
func (v Version) DriverDomainWait() bool { return v.Minor >= 4 }

// DeviceExists says what libxl__device_exists, called inside the add
// transaction, reads: "" before 4.5 (no check), "backend" in 4.5 and 4.6
// (0d5d5eca4a "libxl: disallow attaching the same device more than once":
// be_path = libxl__device_backend_path), "libxl" from 4.7 (be_path =
// libxl__device_libxl_path, with the /libxl records).
func (v Version) DeviceExists() string {
	switch {
	case v.Minor < 5:
		return ""
	case v.Minor < 7:
		return "backend"
	}
	return "libxl"
}

// BackendGoneEarlyOut: remove returns 0 when BE/state is missing
// (9eaaedfcdee5, 4.11).
func (v Version) BackendGoneEarlyOut() bool { return v.Minor >= 11 }

// DomainNotFound is what libxl_domain_info returns for a domain the
// hypervisor does not list: ERROR_DOMAIN_NOTFOUND from b0e0f7270c (4.6),
// ERROR_INVAL before.
func (v Version) DomainNotFound() uint8 {
	if v.Minor >= 6 {
		return RCDomainNotFound
	}
	return RCInval
}

// ForceLevels: LIBXL__FORCE_{AUTO,ON,OFF}; device_hotplug_done destroys
// only on FORCE_ON or rc == 0 (6df07f9fbe, 4.15).
func (v Version) ForceLevels() bool { return v.Minor >= 15 }

// PCIVariant is the PCI add code of section 7: "A" before 0fdb48ffe7a1,
// "B" with it (4.15.0, 4.15.1, 4.16.0), "C" with 73ee2795aaef (4.17).
func (v Version) PCIVariant() string {
	switch {
	case v.Minor < 15:
		return "A"
	case v.Minor < 17:
		return "B"
	}
	return "C"
}

// Return codes, the values of an operation's rc variable.
const (
	RCOk uint8 = iota
	RCFail
	RCInval
	RCTimedOut
	RCDeviceExists
	RCDomainNotFound
)

// RCNames names the return codes as libxl does.
var RCNames = []string{"0", "ERROR_FAIL", "ERROR_INVAL", "ERROR_TIMEDOUT", "ERROR_DEVICE_EXISTS", "ERROR_DOMAIN_NOTFOUND"}

// Force levels, the values of a remove operation's force variable. Before
// 4.15 only 0 and 1 exist (remove has force 0, destroy force 1), which the
// model writes as ForceAuto and ForceOn.
const (
	ForceAuto uint8 = iota
	ForceOn
	ForceOff
)

func forceNames(v Version) []string {
	if v.ForceLevels() {
		return []string{"FORCE_AUTO", "FORCE_ON", "FORCE_OFF"}
	}
	return []string{"0", "1"}
}

// Timer constants in milliseconds (xenbus-protocol.md 6.1).
const (
	InitTimeout       = 10000 // LIBXL_INIT_TIMEOUT
	DestroyTimeout    = 10000 // LIBXL_DESTROY_TIMEOUT
	QemuBodgeTimeout  = 2000  // LIBXL_QEMU_BODGE_TIMEOUT
	WaitForBackend    = 10000 // libxl__wait_for_backend: 100 × 100 ms
	DeviceModelStart  = 60000 // LIBXL_DEVICE_MODEL_START_TIMEOUT (4.17)
	XendDeviceTimeout = 100000
)

// QemuBackend is libxl's QEMU_BACKEND(dev): the backend kinds qemu serves.
func QemuBackend(beKind string) bool {
	return beKind == "qdisk" || beKind == "vfb" || beKind == "vkbd"
}

// hasScript reports whether libxl runs a hotplug script for the backend
// kind (libxl__get_hotplug_script_info: VBD and VIF only).
func hasScript(beKind string) bool { return beKind == "vbd" || beKind == "vif" }

// ScriptKeys returns the backend keys libxl's hotplug code reads before it
// runs a script: BE/script for a vbd (libxl_linux.c libxl__hotplug_disk:
// "script = libxl__xs_read(gc, XBT_NULL, GCSPRINTF("%s/%s", be_path,
// "script")); if (!script) { ... rc = ERROR_FAIL; goto error; }"), BE/script
// and BE/type for a vif (libxl__hotplug_nic reads script the same way, then
// "rc = libxl__nic_type(gc, dev, &nictype); if (rc) { ... rc = ERROR_FAIL;"
// and libxl__nic_type reads "%s/type"), RELEASE-4.2.0 to RELEASE-4.22.0.
// Other backend kinds run no script.
func ScriptKeys(b *model.Builder, di int) []model.PathID {
	switch b.Sys().Devices[di].BEKind {
	case "vbd":
		return []model.PathID{b.BEKey(di, "script")}
	case "vif":
		return []model.PathID{b.BEKey(di, "script"), b.BEKey(di, "type")}
	}
	return nil
}

// ScriptKeyOps returns the writes of the keys ScriptKeys names, as
// device_disk_add ("script" = the block script for a PHY disk) and
// libxl__set_xenstore_nic ("script", "type" = "vif") write them in the
// generic add's backend entries.
func ScriptKeyOps(b *model.Builder, di int) []model.Op {
	dev := b.Sys().Devices[di]
	switch dev.BEKind {
	case "vbd":
		return []model.Op{model.Write(b.BEKey(di, "script"), b.Value("/etc/xen/scripts/block"))}
	case "vif":
		return []model.Op{model.Write(b.BEKey(di, "script"), b.Value("/etc/xen/scripts/vif-bridge")),
			model.Write(b.BEKey(di, "type"), b.Value("vif"))}
	}
	return nil
}
