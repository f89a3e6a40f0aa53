package model

import "fmt"

// A DeviceSpec describes one split device for NewDevice.
type DeviceSpec struct {
	Name   string
	Kind   string // frontend kind: vbd, vif, pci, vfb, vkbd
	BEKind string // backend kind: vbd, qdisk, vif, pci, vfb, vkbd
	DevID  int
	FEDom  int
	BEDom  int
	// LibxlRecord: the toolstack keeps /libxl/<domid>/device records (4.7+).
	LibxlRecord bool
}

// NewDevice interns the paths of a device after libxl__device_frontend_path,
// libxl__device_backend_path and libxl__device_libxl_path
// (xenbus-protocol.md 2.1), records the ownership of its directories
// (frontend: the guest; backend: the backend domain; 2.3) and the
// permission lists libxl__device_generic_add sets on them, and returns its
// index in System.Devices.
func (b *Builder) NewDevice(sp DeviceSpec) int {
	fe := b.Path(fmt.Sprintf("/local/domain/%d/device/%s/%d", sp.FEDom, sp.Kind, sp.DevID))
	be := b.Path(fmt.Sprintf("/local/domain/%d/backend/%s/%d/%d", sp.BEDom, sp.BEKind, sp.FEDom, sp.DevID))
	b.Own(fe, sp.FEDom)
	b.Own(be, sp.BEDom)
	b.SetACL(fe, FrontendACL(sp.FEDom, sp.BEDom))
	b.SetACL(be, BackendACL(sp.BEDom, sp.FEDom))
	d := Device{
		Name: sp.Name, Kind: sp.Kind, BEKind: sp.BEKind, DevID: sp.DevID, FEDom: sp.FEDom, BEDom: sp.BEDom,
		FEDir: fe, BEDir: be, FEState: b.Join(fe, "state"), BEState: b.Join(be, "state"),
		LibxlDir: NoPath, Hotplug: b.Join(be, "hotplug-status"), QemuActor: -1,
	}
	if sp.LibxlRecord {
		d.LibxlDir = b.Path(fmt.Sprintf("/libxl/%d/device/%s/%d", sp.FEDom, sp.Kind, sp.DevID))
	}
	return b.AddDevice(d)
}

// Key interns a key below the device's frontend or backend directory.
func (b *Builder) FEKey(d int, key string) PathID { return b.Join(b.sys.Devices[d].FEDir, key) }

// BEKey interns a key below the device's backend directory.
func (b *Builder) BEKey(d int, key string) PathID { return b.Join(b.sys.Devices[d].BEDir, key) }

// FrontendEntries returns the nodes the toolstack writes in the frontend
// directory (fents of libxl__device_generic_add, xend addStoreEntries):
// backend, backend-id, state=Initialising.
func (b *Builder) FrontendEntries(d int) []Op {
	dev := b.sys.Devices[d]
	return []Op{
		Write(b.FEKey(d, "backend"), b.Value(b.sys.Paths[dev.BEDir].Name)),
		Write(b.FEKey(d, "backend-id"), b.Value(fmt.Sprint(dev.BEDom))),
		Write(dev.FEState, StateInitialising.Value()),
	}
}

// BackendEntries returns the nodes the toolstack writes in the backend
// directory: frontend, frontend-id, online=1, state=Initialising.
func (b *Builder) BackendEntries(d int) []Op {
	dev := b.sys.Devices[d]
	return []Op{
		Write(b.BEKey(d, "frontend"), b.Value(b.sys.Paths[dev.FEDir].Name)),
		Write(b.BEKey(d, "frontend-id"), b.Value(fmt.Sprint(dev.FEDom))),
		Write(b.BEKey(d, "online"), b.Value("1")),
		Write(dev.BEState, StateInitialising.Value()),
	}
}

// InitEntries writes ops (WRITEs only) into the initial store.
func (b *Builder) InitEntries(ops []Op) {
	for _, op := range ops {
		if op.Kind == OpWrite {
			b.Init(op.Path, op.Val)
		}
	}
}
