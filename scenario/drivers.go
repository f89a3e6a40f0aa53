package scenario

import (
	"slices"

	"github.com/xbcheck/xbcheck/model/libxl"
	"github.com/xbcheck/xbcheck/model/linux"
)

// A driver serves one end of a device: what a [[device]]'s
// frontend-driver and backend-driver name. The tables below are the one
// place that says which drivers exist, which device kinds each serves,
// which is the default, and how Build adds each to the model.
type driver struct {
	name string
	// serves lists the device kinds the driver serves.
	serves []string
	// toolstack, when set, is the only toolstack the driver is used with;
	// under it, it is the default for its kinds.
	toolstack string
	// devd: in a driver domain, libxl 4.7+ has xl devd there run the
	// backend's hotplug and remove it (model/libxl.Devd).
	devd bool
	// add adds the driver's actor for device di of sd, its end starting
	// in start, and returns the actor, or -1 when the driver has no
	// actor of its own for the device (qemu: one per guest, added after
	// the devices; xend's xenfb: added by create-devices).
	add func(bl *builder, di int, sd *Device, start linux.Bound) int
}

// frontends and backends list the drivers, in the order messages list
// them ("none", no actor, comes last): the Linux drivers of model/linux
// (linux.Drivers, which says which kinds each serves), then qemu and
// xend's xenfb.
var (
	frontends = linuxDrivers(true)
	backends  = append(linuxDrivers(false),
		driver{name: "qemu", serves: []string{"qdisk", "vfb", "vkbd"}, add: func(bl *builder, di int, sd *Device, _ linux.Bound) int {
			bl.qemuDevice(di, sd)
			return -1
		}},
		driver{name: "xenfb", serves: []string{"vfb", "vkbd"}, toolstack: "xend"},
	)
)

// linuxDrivers returns linux.Drivers' frontends (or backends) as drivers
// of a scenario: blkback and netback are served by xl devd in a driver
// domain.
func linuxDrivers(frontend bool) []driver {
	var ds []driver
	for _, ld := range linux.Drivers {
		if ld.Frontend != frontend {
			continue
		}
		ds = append(ds, driver{name: ld.Name, serves: ld.Kinds, devd: ld.Name == "blkback" || ld.Name == "netback",
			add: func(bl *builder, di int, _ *Device, start linux.Bound) int {
				return ld.Add(bl.b, di, start, linux.Options{RefuseClose: bl.b.Allowed("frontend-refuses-close"), PCISlots: pciSlots})
			}})
	}
	return ds
}

// pciSlots is how many PCI functions (dev-N) a pci device can hold in the
// model.
const pciSlots = 3

func driverNames(ds []driver) []string {
	var ns []string
	for _, d := range ds {
		ns = append(ns, d.name)
	}
	return ns
}

// findDriver returns the driver called name, or nil ("none", or unknown).
func findDriver(ds []driver, name string) *driver {
	for i := range ds {
		if ds[i].name == name {
			return &ds[i]
		}
	}
	return nil
}

// serving returns the names of the drivers that serve a device kind.
func serving(ds []driver, kind string) []string {
	var ns []string
	for _, d := range ds {
		if slices.Contains(d.serves, kind) {
			ns = append(ns, d.name)
		}
	}
	return ns
}

// defaultDriver returns the driver of ds that serves kind under
// toolstack: the one used only with that toolstack if there is one, else
// the first that serves it; "none" when none does.
func defaultDriver(ds []driver, kind, toolstack string) string {
	def := "none"
	for _, d := range ds {
		if !slices.Contains(d.serves, kind) {
			continue
		}
		if d.toolstack == toolstack && d.toolstack != "" {
			return d.name
		}
		if d.toolstack == "" && def == "none" {
			def = d.name
		}
	}
	return def
}

// DefaultDrivers gives the default frontend and backend drivers of a device
// kind under a toolstack kind.
func DefaultDrivers(kind, toolstack string) (frontend, backend string) {
	return defaultDriver(frontends, kind, toolstack), defaultDriver(backends, kind, toolstack)
}

// addDrivers adds the actors of device di's drivers, frontend first, and
// makes the device own them; a driver domain's backend first gets xl devd
// when the libxl version waits for it.
func (bl *builder) addDrivers(di int, sd *Device, fdrv, bdrv string, start linux.Bound) {
	b := bl.b
	own := func(a int) { b.Device(di).Actors = append(b.Device(di).Actors, a) }
	if d := findDriver(frontends, fdrv); d != nil {
		bl.fronts[di] = d.add(bl, di, sd, start)
		own(bl.fronts[di])
	}
	be := findDriver(backends, bdrv)
	if be == nil {
		return
	}
	if be.devd && bl.isLibxl() && bl.lv.DriverDomainWait() && bl.domID[sd.Backend] != 0 {
		own(libxl.Devd(b, di, bl.lv))
	}
	if be.add != nil {
		if a := be.add(bl, di, sd, start); a >= 0 {
			own(a)
		}
	}
}
