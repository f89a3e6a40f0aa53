// Package scenario reads scenario files: declarative TOML descriptions of a
// Xen configuration (domains, devices and their backends, toolstack and
// driver versions), the operations requested, the faults allowed, the
// properties to check and the verdict expected. Build compiles a scenario
// into a model.System for the checker and the simulator.
package scenario

import "fmt"

// A Spec is one parsed and validated scenario file.
type Spec struct {
	// File is the path the scenario was read from.
	File        string `toml:"-"`
	Name        string `toml:"name"`
	Description string `toml:"description"`
	// Reference names the Xen commit or document the scenario comes from.
	Reference  string      `toml:"reference"`
	Xenstored  Xenstored   `toml:"xenstored"`
	Toolstack  Toolstack   `toml:"toolstack"`
	Domains    []Domain    `toml:"domain"`
	Devices    []Device    `toml:"device"`
	Operations []Operation `toml:"operation"`
	Xenstore   []Node      `toml:"xenstore"`
	Faults     Faults      `toml:"faults"`
	Timing     Timing      `toml:"timing"`
	Check      Check       `toml:"check"`

	pos *positions `toml:"-"` // where each key was given, for Line
}

// Xenstored chooses the xenstore daemon semantics.
type Xenstored struct {
	// Conflict is the transaction conflict rule: "oxenstored" (default) or
	// "cxenstored" (xenstore-wire.md 1.7).
	Conflict string `toml:"conflict"`
	// Version decides what a domain's destruction removes: "4.14" (nodes
	// stay), "4.15" (XSA-322: ownership passes to dom0, nodes stay), "4.17"
	// (default; XSA-419: nodes owned by the dead domain are deleted).
	Version string `toml:"version"`
}

// Toolstack names the toolstack and its version.
type Toolstack struct {
	Kind    string `toml:"kind"`    // "libxl" or "xend"
	Version string `toml:"version"` // libxl "4.2" to "4.17"; xend "3.0" or "3.1"
	// DeviceOrder is the order xend's _createDevices creates the guest's
	// devices in, by device name (xend only). The default is the version's
	// ordered_device_refs order.
	DeviceOrder []string `toml:"device-order"`
	// QemuBodge, libxl only, default true: set false to model libxl without
	// the 4.2 qemu bodge, so that qemu backends take the generic handshake
	// (xenbus-protocol.md section 9, seed 2 (b)).
	QemuBodge *bool `toml:"qemu-bodge"`
	// GuestWritesBackend, libxl only, default false: a deliberately broken
	// toolstack that gives the guest write access to its devices' backend
	// directories ([{backend, NONE}, {guest, READ|WRITE}] instead of
	// libxl__device_generic_add's backend_perms), the negative test of the
	// security properties. No real toolstack does this.
	GuestWritesBackend bool `toml:"guest-writes-backend"`
}

// Domain is one Xen domain.
type Domain struct {
	Name  string `toml:"name"`
	ID    *int   `toml:"id"`
	Kind  string `toml:"kind"`  // dom0, pv, hvm, driver, stubdom
	State string `toml:"state"` // running (default), paused, dead
	// Home, for a dead domain, says whether /local/domain/<id> was removed
	// ("removed", the default) or its nodes were left behind ("stale").
	Home string `toml:"home"`
}

// Device is one split device.
type Device struct {
	Name     string `toml:"name"`
	Kind     string `toml:"kind"`     // vbd, qdisk, vif, pci, vfb, vkbd
	Frontend string `toml:"frontend"` // domain name
	Backend  string `toml:"backend"`  // domain name; default dom0
	DevID    *int   `toml:"devid"`    // default 0
	// State is the device's initial state: "absent" (no xenstore nodes),
	// "connected" (both ends Connected, drivers bound), or "closed".
	State string `toml:"state"`
	// FrontendDriver and BackendDriver override the default drivers for
	// the kind; "none" leaves that end without an actor.
	FrontendDriver string `toml:"frontend-driver"`
	BackendDriver  string `toml:"backend-driver"`
	// Qemu is the initial state of the qemu serving a qemu backend:
	// "running" (default), "sighup" (signalled, not yet exited), "exited".
	Qemu string `toml:"qemu"`
}

// Operation is one toolstack operation requested at the start.
type Operation struct {
	// Kind is add, remove, destroy, safe-remove, add-remove, pci-attach,
	// domain-destroy (libxl) or create-devices (xend).
	Kind   string `toml:"kind"`
	Device string `toml:"device"` // device name, for device operations
	Domain string `toml:"domain"` // domain name, for domain operations
	// Starting is libxl's "starting" flag of PCI add (domain creation).
	Starting bool `toml:"starting"`
}

// Node sets or removes one xenstore node of the initial store, after the
// domains and devices have written theirs.
type Node struct {
	Path   string  `toml:"path"`
	Value  *string `toml:"value"`
	Remove bool    `toml:"remove"`
}

// Faults lists the faults the exploration may inject.
type Faults struct {
	Allow []string `toml:"allow"`
	// HostileWrites bounds how many writes (or removals) each hostile
	// guest ("hostile:<domain>") makes in a run, 1 to 8; default 1.
	HostileWrites int `toml:"hostile-writes"`
}

// Timing holds the few timing assumptions the untimed model can use.
type Timing struct {
	// QemuExitWithin bounds how long a qemu takes to exit after SIGHUP,
	// e.g. "5s". Timers longer than that cannot fire while a signalled
	// qemu still runs. Empty: unbounded.
	QemuExitWithin string `toml:"qemu-exit-within"`
	// Timeouts, default true: set false to explore a toolstack whose waits
	// have no timers (the 4.3+ plan of the removal flowchart, "TOOLSTACK
	// WAITS FOR QEMU"), to show what the timers are for.
	Timeouts *bool `toml:"timeouts"`
	// Timers says when a timer may fire: "last-resort" (default: only when
	// no protocol step is enabled but slow ones, such as qemu's exit after
	// SIGHUP; every timer outlasts a driver's reaction) or "any-time" (at
	// any point while its actor waits: fully untimed).
	Timers string `toml:"timers"`
}

// Check says what to check and what verdict to expect.
type Check struct {
	Properties []string `toml:"properties"`
	Expect     string   `toml:"expect"`   // "ok" or "violation"
	Violates   string   `toml:"violates"` // the property, with expect = "violation"
	// MaxStates bounds the exploration; when hit the verdict is unknown.
	MaxStates int `toml:"max-states"`
}

// An Error is a problem with a scenario file, at a line of it.
type Error struct {
	File string
	Line int // 0 when unknown
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// The names a scenario may use.
var (
	ToolstackKinds  = []string{"libxl", "xend"}
	LibxlVersions   = []string{"4.2", "4.3", "4.4", "4.5", "4.6", "4.7", "4.8", "4.9", "4.10", "4.11", "4.12", "4.13", "4.14", "4.15", "4.16", "4.17"}
	XendVersions    = []string{"3.0", "3.1"}
	XenstoredVers   = []string{"4.14", "4.15", "4.17"}
	ConflictRules   = []string{"oxenstored", "cxenstored"}
	DomainKinds     = []string{"dom0", "pv", "hvm", "driver", "stubdom"}
	DomainStates    = []string{"running", "paused", "dead"}
	DomainHomes     = []string{"removed", "stale"}
	DeviceKinds     = []string{"vbd", "qdisk", "vif", "pci", "vfb", "vkbd"}
	DeviceStates    = []string{"absent", "connected", "closed"}
	QemuStates      = []string{"running", "sighup", "exited"}
	FrontendDrivers = []string{"blkfront", "netfront", "pcifront", "kbdfront", "fbfront", "none"}
	BackendDrivers  = []string{"blkback", "netback", "pciback", "qemu", "xenfb", "none"}
	// LibxlOperations and XendOperations are the operation kinds per toolstack.
	// add-remove attaches a device and, once the add has completed,
	// removes it (the benchmark family's lifecycle).
	LibxlOperations = []string{"add", "remove", "destroy", "safe-remove", "add-remove", "pci-attach", "domain-destroy"}
	XendOperations  = []string{"create-devices"}
	// Faults; the last four take a domain name after a colon,
	// e.g. "domain-destroy:D". "hostile:G" makes guest G hostile: its
	// kernel writes any value to any node its permissions allow
	// (model.AddHostileGuest), faults.hostile-writes times at most.
	FaultNames       = []string{"eagain", "hotplug-fail", "hotplug-hang", "qemu-exit", "frontend-refuses-close", "request-fail"}
	DomainFaultNames = []string{"domain-destroy", "domain-crash", "domain-pause", "hostile"}
	Expectations     = []string{"ok", "violation"}
	TimerSemantics   = []string{"last-resort", "any-time"}
)

// DefaultDrivers gives the default frontend and backend drivers of a device
// kind under a toolstack kind.
func DefaultDrivers(kind, toolstack string) (frontend, backend string) {
	switch kind {
	case "vbd":
		return "blkfront", "blkback"
	case "qdisk":
		return "blkfront", "qemu"
	case "vif":
		return "netfront", "netback"
	case "pci":
		return "pcifront", "pciback"
	case "vfb":
		if toolstack == "xend" {
			return "fbfront", "xenfb"
		}
		return "fbfront", "qemu"
	case "vkbd":
		if toolstack == "xend" {
			return "kbdfront", "xenfb"
		}
		return "kbdfront", "qemu"
	}
	return "none", "none"
}

// PropertyNames are the properties a scenario may check; package props
// defines each (a test keeps the two lists equal).
var PropertyNames = []string{
	"result-reflects-state",
	"no-resurrection",
	"no-premature-teardown",
	"wait-only-on-existing-backend",
	"backend-created-by-toolstack",
	"reconfigure-only-when-connected",
	"already-connected-only-if-created",
	"deadlock",
	"operations-complete",
	"operations-succeed",
	"devices-connected",
	"hotplug-connected",
	"guest-changes-own-nodes-only",
	"guest-cannot-write-readonly",
	"backend-written-by-trusted",
}
