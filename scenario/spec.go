// Package scenario reads scenario files: declarative TOML descriptions of a
// Xen configuration (domains, devices and their backends, toolstack and
// driver versions), the operations requested, the faults allowed, the
// properties to check and the verdict expected. Build compiles a scenario
// into a model.System for the checker and the simulator.
//
// The package's files follow a run's order:
//
//   - spec.go: the Spec types a file decodes into, and Error;
//   - names.go, drivers.go: the names a file may use (most taken from the
//     model: libxl versions from model/libxl, properties from props) and
//     the driver table, each written once;
//   - parse.go: Parse, the TOML decoding and the defaults;
//   - pos.go, posscan.go: where each key was given (Spec.Line), for
//     file:line messages;
//   - types.go: each value's TOML type against its Spec field, unknown
//     keys (with suggest.go's "did you mean");
//   - values.go: each value on its own (required, allowed, ranges);
//   - refs.go: references between entries and toolstack dependencies;
//   - build.go, build_ops.go: compilation of a valid Spec to a
//     model.System with its properties.
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
	Version string `toml:"version"` // libxl: one of LibxlVersions ("4.2" to "4.22"); xend: one of XendVersions ("3.0", "3.1")
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
	Name string `toml:"name"`
	ID   *int   `toml:"id"`
	Kind string `toml:"kind"` // dom0, pv, hvm, driver, stubdom
	// State is the domain's run state (model.DomainStateNames): running
	// (default), paused, crashed, shutdown (listed; xenstored keeps its
	// nodes), dying (listed; its nodes were deleted), gone (not listed);
	// "dead" is the older name of gone.
	State string `toml:"state"`
	// Home, for a dying or gone domain, says whether /local/domain/<id>
	// was removed ("removed", the default) or its nodes were left behind
	// ("stale").
	Home string `toml:"home"`
}

// Dead reports whether the domain was destroyed: dying, or gone (also
// written "dead").
func (d Domain) Dead() bool { return d.State == "dying" || d.State == "gone" || d.State == "dead" }

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
