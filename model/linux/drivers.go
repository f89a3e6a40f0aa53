package linux

import "github.com/xbcheck/xbcheck/model"

// A Driver is one Linux xenbus driver of the model: the device kinds it
// serves, which end it runs, and how to add its actor.
type Driver struct {
	Name string
	// Kinds lists the device kinds the driver serves, the one its own
	// device type names first (blkfront: vbd, also qdisk).
	Kinds    []string
	Frontend bool
	// Add adds the driver's actor for device di, its end starting in
	// start, and returns the actor.
	Add func(b *model.Builder, di int, start Bound, o Options) int
}

// Options are what a scenario chooses about a driver.
type Options struct {
	// RefuseClose: see FrontOptions (frontends only).
	RefuseClose bool
	// PCISlots is how many PCI functions a pci device can hold (pciback).
	PCISlots int
}

// Drivers lists the modelled drivers, frontends first; the one home of
// which drivers exist and which device kinds each serves (scenario's
// frontend-driver and backend-driver, the diagrams' driver machines).
var Drivers = []Driver{
	{Name: "blkfront", Kinds: []string{"vbd", "qdisk"}, Frontend: true, Add: func(b *model.Builder, di int, start Bound, o Options) int {
		return Blkfront(b, di, start, FrontOptions{RefuseClose: o.RefuseClose})
	}},
	{Name: "netfront", Kinds: []string{"vif"}, Frontend: true, Add: func(b *model.Builder, di int, start Bound, o Options) int {
		return Netfront(b, di, start, FrontOptions{RefuseClose: o.RefuseClose})
	}},
	{Name: "pcifront", Kinds: []string{"pci"}, Frontend: true, Add: func(b *model.Builder, di int, start Bound, _ Options) int {
		return Pcifront(b, di, start)
	}},
	{Name: "kbdfront", Kinds: []string{"vkbd"}, Frontend: true, Add: func(b *model.Builder, di int, start Bound, _ Options) int {
		return Kbdfront(b, di, start)
	}},
	{Name: "fbfront", Kinds: []string{"vfb"}, Frontend: true, Add: func(b *model.Builder, di int, start Bound, _ Options) int {
		return Fbfront(b, di, start)
	}},
	{Name: "blkback", Kinds: []string{"vbd"}, Add: func(b *model.Builder, di int, start Bound, _ Options) int {
		return Blkback(b, di, start)
	}},
	{Name: "netback", Kinds: []string{"vif"}, Add: func(b *model.Builder, di int, start Bound, _ Options) int {
		return Netback(b, di, start)
	}},
	{Name: "pciback", Kinds: []string{"pci"}, Add: func(b *model.Builder, di int, start Bound, o Options) int {
		return Pciback(b, di, start, o.PCISlots)
	}},
}

// DriverByName returns the driver called name.
func DriverByName(name string) (Driver, bool) {
	for _, d := range Drivers {
		if d.Name == name {
			return d, true
		}
	}
	return Driver{}, false
}
