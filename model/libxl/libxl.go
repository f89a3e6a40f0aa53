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
// Simplifications, each named:
//   - hotplug scripts are run by libxl (run_hotplug_scripts, the xl
//     default), not udev; they exist for vbd and vif backends in dom0;
//   - the remove script writes nothing the model reads; the add script
//     writes physical-device (vbd) and hotplug-status;
//   - type keys (params, mode, mac, bridge, ...) are not written; only the
//     keys some actor reads are;
//   - libxl_domain_info is read from the model's domain run state;
//   - libxl__devices_destroy removes the scenario's devices of the domain
//     (4.2 enumerates /local/domain/<domid>/device, 4.7+ /libxl/<domid>).
package libxl

import (
	"fmt"
	"strconv"
	"strings"
)

// A Version is a modelled libxl release (Versions).
type Version struct{ Minor int }

// firstMinor and lastMinor bound the modelled releases, 4.firstMinor to
// 4.lastMinor: the one place that says which versions exist (a scenario's
// toolstack.version is checked against Versions). A release that changes
// behaviour also gets a feature predicate below.
const (
	firstMinor = 2
	lastMinor  = 17
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
// (5c9a00c571, 4.7).
func (v Version) OnlineUnconditional() bool { return v.Minor >= 7 }

// LibxlRecords: /libxl/<domid>/device records (811b188add, 4.7).
func (v Version) LibxlRecords() bool { return v.Minor >= 7 }

// EmptyHotplugStatus reports whether a vif's backend is created with an
// empty hotplug-status node (4.17+, "libxl: force netback to wait for
// hotplug execution before connecting"), so that netback defers
// Connected until the vif script has written "connected". Seen on the
// real Xen 4.17 host (docs/realhost.md).
func (v Version) EmptyHotplugStatus() bool { return v.Minor >= 17 }

// DriverDomainWait: on remove, dom0 waits for a driver domain to remove the
// backend directory instead of running scripts (libxl_device.c
// device_hotplug; the model enables it with the /libxl records, 4.7).
func (v Version) DriverDomainWait() bool { return v.Minor >= 7 }

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
