package scenario

import (
	"github.com/xbcheck/xbcheck/model/libxl"
	"github.com/xbcheck/xbcheck/model/xend"
	"github.com/xbcheck/xbcheck/props"
)

// The names a scenario may use. Each is written once: the toolstacks'
// versions come from model/libxl and model/xend, the drivers from the
// driver table (drivers.go), the operations from the operation table
// below, the properties from package props.
var (
	ToolstackKinds  = []string{"libxl", "xend"}
	LibxlVersions   = libxl.Versions()
	XendVersions    = xend.Versions()
	XenstoredVers   = xenstoredNames()
	ConflictRules   = []string{"oxenstored", "cxenstored"}
	DomainKinds     = []string{"dom0", "pv", "hvm", "driver", "stubdom"}
	DomainStates    = []string{"running", "paused", "crashed", "shutdown", "dying", "gone", "dead"}
	DomainHomes     = []string{"removed", "stale"}
	DeviceKinds     = []string{"vbd", "qdisk", "vif", "pci", "vfb", "vkbd"}
	DeviceStates    = []string{"absent", "connected", "closed"}
	QemuStates      = []string{"running", "sighup", "exited"}
	FrontendDrivers = append(driverNames(frontends), "none")
	BackendDrivers  = append(driverNames(backends), "none")
	// LibxlOperations and XendOperations are the operation kinds per toolstack.
	// add-remove attaches a device and, once the add has completed,
	// removes it (the benchmark family's lifecycle).
	LibxlOperations = operationsOf("libxl")
	XendOperations  = operationsOf("xend")
	// Faults; the last four take a domain name after a colon,
	// e.g. "domain-destroy:D". "hostile:G" makes guest G hostile: its
	// kernel writes any value to any node its permissions allow
	// (model.AddHostileGuest), faults.hostile-writes times at most.
	FaultNames       = []string{"eagain", "hotplug-fail", "hotplug-hang", "qemu-exit", "frontend-refuses-close", "request-fail"}
	DomainFaultNames = []string{"domain-destroy", "domain-crash", "domain-pause", "hostile"}
	Expectations     = []string{"ok", "violation"}
	TimerSemantics   = []string{"last-resort", "any-time"}
	// PropertyNames are the properties a scenario may check, in the
	// order messages list them: props' catalogue.
	PropertyNames = props.Listed()
)

// xenstoredVersions lists the daemon versions a scenario may name, oldest
// first, with what a domain's destruction does to the nodes the domain
// owns (Xenstored.Version); the last is the default.
var xenstoredVersions = []struct {
	version string
	// removeOwned: the nodes the dead domain owns are deleted (XSA-419);
	// before, they stay (4.15, XSA-322: their ownership passes to dom0).
	removeOwned bool
}{
	{"4.14", false},
	{"4.15", false},
	{"4.17", true},
}

func xenstoredNames() []string {
	var ns []string
	for _, x := range xenstoredVersions {
		ns = append(ns, x.version)
	}
	return ns
}

// defaultXenstored is the daemon version of a scenario that names none.
func defaultXenstored() string { return xenstoredVersions[len(xenstoredVersions)-1].version }

// removeOwnedOnDeath reports whether daemon version v ("": the default)
// deletes the nodes a dead domain owns.
func removeOwnedOnDeath(v string) bool {
	if v == "" {
		v = defaultXenstored()
	}
	for _, x := range xenstoredVersions {
		if x.version == v {
			return x.removeOwned
		}
	}
	return false
}

// An operation kind a scenario may request: the toolstack that has it and
// the keys of an [[operation]] it takes besides kind.
type operationKind struct {
	kind, toolstack string
	keys            []string
}

// operations lists every operation kind, in the order messages list them.
var operations = []operationKind{
	{"add", "libxl", []string{"device"}},
	{"remove", "libxl", []string{"device"}},
	{"destroy", "libxl", []string{"device"}},
	{"safe-remove", "libxl", []string{"device"}},
	{"add-remove", "libxl", []string{"device"}},
	{"pci-attach", "libxl", []string{"device", "starting"}},
	{"domain-destroy", "libxl", []string{"domain"}},
	{"create-devices", "xend", []string{"domain"}},
}

// operationsOf returns the operation kinds of a toolstack kind.
func operationsOf(toolstack string) []string {
	var ks []string
	for _, o := range operations {
		if o.toolstack == toolstack {
			ks = append(ks, o.kind)
		}
	}
	return ks
}

// operationKeys returns the keys an operation kind takes besides kind.
func operationKeys(kind string) []string {
	for _, o := range operations {
		if o.kind == kind {
			return o.keys
		}
	}
	return nil
}

// opKinds returns the operation kinds of a toolstack kind: xend's, or
// libxl's for any other.
func opKinds(toolstack string) []string {
	if toolstack == "xend" {
		return XendOperations
	}
	return LibxlOperations
}
