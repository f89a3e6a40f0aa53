package scenario

import (
	"fmt"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/model/libxl"
	"github.com/xbcheck/xbcheck/model/xend"
)

// operations adds the toolstack actor of each requested operation.
func (bl *builder) operations() error {
	sp, b := bl.sp, bl.b
	seen := map[string]int{}
	pciLock := map[int]model.VarID{}
	pciCount := 0
	for i, op := range sp.Operations {
		di, hasDev := bl.devIdx[op.Device]
		own := func(a int) {
			if hasDev {
				b.Device(di).Actors = append(b.Device(di).Actors, a)
			}
		}
		suffix := ""
		key := op.Kind + "/" + op.Device + op.Domain
		if seen[key] > 0 {
			suffix = fmt.Sprintf("#%d", seen[key]+1)
		}
		seen[key]++
		switch op.Kind {
		case "add":
			own(libxl.Add(b, di, bl.lv))
		case "add-remove":
			add := libxl.Add(b, di, bl.lv)
			rm := libxl.Remove(b, di, libxl.RemoveOptions{Version: bl.lv, Force: libxl.ForceAuto, Idle: true, NoQemuBodge: bl.noBodge(),
				GuestAlwaysListed: !bl.mayVanish(b.Sys().Devices[di].FEDom)})
			own(add)
			own(rm)
			sys := b.Sys()
			done, _ := sys.Actors[add].LocByName(libxl.LocDone)
			start, _ := sys.Actors[rm].LocByName(libxl.LocInitiate)
			b.Chain(add, done, rm, start)
		case "remove", "destroy", "safe-remove":
			force := libxl.ForceAuto
			if op.Kind == "destroy" {
				force = libxl.ForceOn
			} else if op.Kind == "safe-remove" {
				force = libxl.ForceOff
			}
			name := ""
			if op.Kind != "remove" {
				name = fmt.Sprintf("libxl-%s(%s)%s", op.Kind, sp.Devices[bl.specDev(op.Device)].Name, suffix)
			} else if suffix != "" {
				name = fmt.Sprintf("libxl-remove(%s)%s", op.Device, suffix)
			}
			own(libxl.Remove(b, di, libxl.RemoveOptions{Version: bl.lv, Force: force, Name: name, NoQemuBodge: bl.noBodge(),
				GuestAlwaysListed: !bl.mayVanish(b.Sys().Devices[di].FEDom)}))
		case "pci-attach":
			dev := b.Sys().Devices[di]
			lock, ok := pciLock[dev.FEDom]
			if !ok {
				lock = b.Var(fmt.Sprintf("userdata-lock(%s)", b.Sys().DomainNames[dev.FEDom]), 0, "free", "held")
				pciLock[dev.FEDom] = lock
			}
			pciCount++
			d := bl.domOf[dev.FEDom]
			libxl.PCIAdd(b, di, libxl.PCIOptions{Version: bl.lv, Starting: op.Starting,
				PV:  d.Kind == "pv" || d.Kind == "stubdom" || d.Kind == "driver",
				BDF: fmt.Sprintf("0000:0%d:00.0", pciCount+1), Lock: lock, Slots: pciSlots,
				Name: fmt.Sprintf("libxl-pci-add(0000:0%d:00.0)", pciCount+1)})
		case "domain-destroy":
			dom := bl.domID[op.Domain]
			var removals []int
			for _, sd := range sp.Devices {
				dj := bl.devIdx[sd.Name]
				if b.Sys().Devices[dj].FEDom == dom && sd.State != "absent" {
					removals = append(removals, libxl.Remove(b, dj, libxl.RemoveOptions{Version: bl.lv, Force: libxl.ForceOn, Idle: true,
						GuestAlwaysListed: !bl.mayVanish(b.Sys().Devices[dj].FEDom),
						Name:              fmt.Sprintf("libxl-devices-destroy(%s)", sd.Name), NoQemuBodge: bl.noBodge()}))
				}
			}
			q := -1
			if qa, ok := bl.qemus[dom]; ok {
				q = qa
			}
			libxl.DomainDestroy(b, dom, bl.lv, removals, q)
		case "create-devices":
			if err := bl.xendCreate(i, op); err != nil {
				return err
			}
		default:
			return bl.errAt("operation", i, "kind", "operation kind %q is not modelled", op.Kind)
		}
		_ = hasDev
	}
	return nil
}

func (bl *builder) noBodge() bool {
	return bl.sp.Toolstack.QemuBodge != nil && !*bl.sp.Toolstack.QemuBodge
}

func (bl *builder) specDev(name string) int {
	for i, d := range bl.sp.Devices {
		if d.Name == name {
			return i
		}
	}
	return -1
}

// xendCreate adds xend's createDevices for a domain, the xenfb daemon when
// the domain has a vfb and a vkbd, and udev hotplug for vbd and vif.
func (bl *builder) xendCreate(i int, op Operation) error {
	sp, b := bl.sp, bl.b
	dom := bl.domID[op.Domain]
	var mine []string
	for _, sd := range sp.Devices {
		if bl.domID[sd.Frontend] == dom {
			mine = append(mine, sd.Name)
		}
	}
	names := sp.Toolstack.DeviceOrder
	if len(names) == 0 {
		for _, k := range xend.DefaultOrder(sp.Toolstack.Version) {
			for _, sd := range sp.Devices {
				if sd.Kind == k && bl.domID[sd.Frontend] == dom {
					names = append(names, sd.Name)
				}
			}
		}
	}
	if len(names) != len(mine) {
		return bl.errAt("toolstack", -1, "device-order", "xend creates %d devices of %s but the order lists %d (xend models vbd, vif, vfb and vkbd)", len(mine), op.Domain, len(names))
	}
	vfb, vkbd := -1, -1
	var order []int
	for _, n := range names {
		di := bl.devIdx[n]
		order = append(order, di)
		switch sp.Devices[bl.specDev(n)].Kind {
		case "vfb":
			vfb = di
		case "vkbd":
			vkbd = di
		case "vbd", "vif":
			xend.Hotplug(b, di)
		}
	}
	spawn := -1
	if vfb >= 0 && vkbd >= 0 {
		spawn = xend.Xenfb(b, vfb, vkbd)
	} else if vfb >= 0 || vkbd >= 0 {
		return bl.errAt("operation", i, "domain", "xend's vncfb daemon serves a vfb and a vkbd together: declare both for %s", op.Domain)
	}
	xend.CreateDevices(b, dom, order, spawn)
	return nil
}
