package scenario

import (
	"fmt"
	"strings"
	"time"

	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/model/libxl"
	"github.com/xbcheck/xbcheck/model/linux"
	"github.com/xbcheck/xbcheck/model/qemu"
	"github.com/xbcheck/xbcheck/model/xend"
	"github.com/xbcheck/xbcheck/props"
)

// A Compiled scenario is ready to check: the model and the properties.
type Compiled struct {
	Spec       *Spec
	System     *model.System
	Properties []checker.Property
	// POR is the partial-order reduction for these properties' safety
	// part (the checker does not use it when one of them is an
	// eventually-property, and says so).
	POR *model.POR
}

// Load parses, validates and builds the scenario file at path.
func Load(path string) (*Compiled, error) {
	sp, err := ParseFile(path)
	if err != nil {
		return nil, err
	}
	return Build(sp)
}

// Build compiles a validated scenario into a model.System with the
// scenario's actors, initial store and properties.
func Build(sp *Spec) (*Compiled, error) {
	bl := &builder{sp: sp, b: model.NewBuilder(sp.Name), domID: map[string]int{}, devIdx: map[string]int{}}
	if err := bl.build(); err != nil {
		return nil, err
	}
	sys, err := bl.b.Build()
	if err != nil {
		return nil, &Error{File: sp.File, Msg: "building the model: " + err.Error()}
	}
	ps, err := props.Build(sys, sp.Check.Properties)
	if err != nil {
		return nil, &Error{File: sp.File, Line: sp.Line("check", -1, "properties"), Msg: err.Error()}
	}
	c := &Compiled{Spec: sp, System: sys, Properties: ps}
	if offs, marks, ok := props.Visible(sys, sp.Check.Properties); ok {
		c.POR = sys.NewPOR(offs, marks)
	}
	return c, nil
}

type builder struct {
	sp     *Spec
	b      *model.Builder
	lv     libxl.Version
	domID  map[string]int
	domOf  map[int]*Domain
	devIdx map[string]int // device name → index in System.Devices
	qemus  map[int]int    // guest domid → qemu actor
	fronts map[int]int    // device index → frontend driver actor
}

func (bl *builder) errAt(table string, index int, key, format string, args ...any) error {
	return &Error{File: bl.sp.File, Line: bl.sp.Line(table, index, key), Msg: fmt.Sprintf(format, args...)}
}

func (bl *builder) build() error {
	sp, b := bl.sp, bl.b
	if sp.Timing.Timers == "any-time" {
		b.SetTimers(model.AnyTime)
	}
	if sp.Xenstored.Conflict == "cxenstored" {
		b.SetConflict(model.CXenstored)
	}
	b.SetRemoveOwnedOnDeath(sp.Xenstored.Version == "" || sp.Xenstored.Version == "4.17")
	isLibxl := sp.Toolstack.Kind == "libxl"
	if isLibxl {
		v, err := libxl.ParseVersion(sp.Toolstack.Version)
		if err != nil {
			return bl.errAt("toolstack", -1, "version", "%v", err)
		}
		bl.lv = v
	}
	for _, f := range sp.Faults.Allow {
		b.Allow(f)
	}
	if ms, err := time.ParseDuration(sp.Timing.QemuExitWithin); err == nil && ms > 0 {
		b.QemuExitWithin = int(ms / time.Millisecond)
	}

	// Domains: dom0 always; every live domain has its home.
	bl.domOf = map[int]*Domain{}
	hasDom0 := false
	for i := range sp.Domains {
		d := &sp.Domains[i]
		id := 0
		if d.ID != nil {
			id = *d.ID
		}
		bl.domID[d.Name] = id
		bl.domOf[id] = d
		if id == 0 {
			hasDom0 = true
		}
	}
	if !hasDom0 {
		bl.domID["dom0"] = 0
		bl.domOf[0] = &Domain{Name: "dom0", Kind: "dom0", State: "running"}
	}
	for _, id := range sortedIDs(bl.domOf) {
		d := bl.domOf[id]
		st := model.DomainRunning
		switch d.State {
		case "paused":
			st = model.DomainPaused
		case "dead":
			st = model.DomainDead
		}
		b.Domain(id, d.Name, st)
		home := b.Path(fmt.Sprintf("/local/domain/%d", id))
		b.Init(b.Join(home, "name"), b.Value(d.Name))
		if isLibxl && bl.lv.LibxlRecords() && id != 0 {
			b.Init(b.Path(fmt.Sprintf("/libxl/%d/type", id)), b.Value(d.Kind))
		}
	}

	// Devices, their initial nodes and their drivers.
	bl.qemus = map[int]int{}
	bl.fronts = map[int]int{}
	qemuDevs := map[int][]int{}
	qemuState := map[int]string{}
	var order []int
	for i := range sp.Devices {
		sd := &sp.Devices[i]
		fe, be := bl.domID[sd.Frontend], bl.domID[sd.Backend]
		devid := 0
		if sd.DevID != nil {
			devid = *sd.DevID
		}
		kind, beKind := sd.Kind, sd.Kind
		if sd.Kind == "qdisk" {
			kind = "vbd"
		}
		di := b.NewDevice(model.DeviceSpec{Name: sd.Name, Kind: kind, BEKind: beKind, DevID: devid, FEDom: fe, BEDom: be,
			LibxlRecord: isLibxl && bl.lv.LibxlRecords()})
		if sp.Toolstack.GuestWritesBackend {
			b.SetACL(b.Sys().Devices[di].BEDir, model.ACL{{Dom: be, Perm: model.PermNone}, {Dom: fe, Perm: model.PermBoth}})
		}
		bl.devIdx[sd.Name] = di
		order = append(order, i)
		bl.initDevice(di, sd)
		fdrv, bdrv := DefaultDrivers(sd.Kind, sp.Toolstack.Kind)
		if sd.FrontendDriver != "" {
			fdrv = sd.FrontendDriver
		}
		if sd.BackendDriver != "" {
			bdrv = sd.BackendDriver
		}
		start := linux.Bound{}
		switch sd.State {
		case "connected", "":
			start = linux.Bound{Bound: true, Cached: model.StateConnected}
		case "closed":
			start = linux.Bound{Bound: true, Cached: model.StateClosed}
		}
		own := func(a int) { b.Device(di).Actors = append(b.Device(di).Actors, a) }
		switch fdrv {
		case "blkfront":
			bl.fronts[di] = linux.Blkfront(b, di, start, linux.FrontOptions{RefuseClose: b.Allowed("frontend-refuses-close")})
		case "netfront":
			bl.fronts[di] = linux.Netfront(b, di, start, linux.FrontOptions{RefuseClose: b.Allowed("frontend-refuses-close")})
		case "pcifront":
			bl.fronts[di] = linux.Pcifront(b, di, start)
		case "kbdfront":
			bl.fronts[di] = linux.Kbdfront(b, di, start)
		case "fbfront":
			bl.fronts[di] = linux.Fbfront(b, di, start)
		}
		if f, ok := bl.fronts[di]; ok {
			own(f)
		}
		if isLibxl && bl.lv.DriverDomainWait() && be != 0 && (bdrv == "blkback" || bdrv == "netback") {
			own(libxl.Devd(b, di))
		}
		switch bdrv {
		case "blkback":
			own(linux.Blkback(b, di, start))
		case "netback":
			own(linux.Netback(b, di, start))
		case "pciback":
			own(linux.Pciback(b, di, start, pciSlots))
		case "qemu":
			qemuDevs[fe] = append(qemuDevs[fe], di)
			if _, ok := qemuState[fe]; !ok || sd.Qemu != "" {
				qemuState[fe] = sd.Qemu
			}
		}
	}
	for _, fe := range sortedKeys(qemuDevs) {
		st := qemuState[fe]
		if st == "" {
			st = qemu.Running
		}
		bl.qemus[fe] = qemu.Add(b, fe, qemuDevs[fe], st)
	}
	for _, n := range sp.Xenstore {
		p := b.Path(n.Path)
		if n.Remove {
			b.InitRemove(p)
		} else if n.Value != nil {
			b.Init(p, b.Value(*n.Value))
		}
	}
	// Dead domains whose home was removed: nothing of theirs is left.
	for _, id := range sortedIDs(bl.domOf) {
		d := bl.domOf[id]
		if d.State == "dead" && d.Home != "stale" {
			b.InitRemove(b.Path(fmt.Sprintf("/local/domain/%d", id)))
			if isLibxl && bl.lv.LibxlRecords() {
				b.InitRemove(b.Path(fmt.Sprintf("/libxl/%d", id)))
			}
		}
	}

	if err := bl.operations(); err != nil {
		return err
	}
	// Domain faults need the domain's lifecycle actor.
	lifecycle := map[int]bool{}
	hostile := map[int]bool{}
	for _, f := range sp.Faults.Allow {
		if dom, ok := strings.CutPrefix(f, model.HostileFault+":"); ok {
			hostile[bl.domID[dom]] = true
			continue
		}
		for _, k := range DomainFaultNames {
			if len(f) > len(k)+1 && f[:len(k)+1] == k+":" {
				lifecycle[bl.domID[f[len(k)+1:]]] = true
			}
		}
	}
	for _, id := range sortedIDs(bl.domOf) {
		if lifecycle[id] {
			b.AddLifecycle(id)
		}
	}
	if sp.Timing.Timeouts != nil && !*sp.Timing.Timeouts {
		b.DropTimeouts()
	}
	if b.QemuExitWithin > 0 {
		for _, q := range bl.qemus {
			qa := b.Sys().Actors[q]
			sig, _ := qa.LocByName(qemu.SIGHUP)
			b.GuardTimeouts(b.QemuExitWithin, model.VarNe(qa.Loc, uint8(sig)))
		}
	}
	// Hostile guests last: their values are gathered from every other
	// actor's transitions.
	for _, id := range sortedIDs(bl.domOf) {
		if hostile[id] {
			n := sp.Faults.HostileWrites
			if n == 0 {
				n = 1
			}
			b.AddHostileGuest(id, n)
		}
	}
	return nil
}

// pciSlots is how many PCI functions (dev-N) a pci device can hold in the
// model.
const pciSlots = 3

// initDevice writes a device's initial nodes for its state.
func (bl *builder) initDevice(di int, sd *Device) {
	b := bl.b
	if sd.State == "absent" {
		return
	}
	st := model.StateConnected
	if sd.State == "closed" {
		st = model.StateClosed
	}
	sys := b.Sys()
	dev := sys.Devices[di]
	b.InitEntries(b.FrontendEntries(di))
	b.InitEntries(b.BackendEntries(di))
	b.Init(dev.FEState, st.Value())
	b.Init(dev.BEState, st.Value())
	if sd.Kind == "vif" {
		// netfront's keys (talk_to_netback; model/linux.Netfront).
		b.Init(b.FEKey(di, "tx-ring-ref"), b.Value("8"))
		b.Init(b.FEKey(di, "rx-ring-ref"), b.Value("9"))
		b.Init(b.FEKey(di, "event-channel-tx"), b.Value("17"))
		b.Init(b.FEKey(di, "event-channel-rx"), b.Value("18"))
	} else {
		b.Init(b.FEKey(di, "ring-ref"), b.Value("8"))
		b.Init(b.FEKey(di, "event-channel"), b.Value("17"))
	}
	switch sd.Kind {
	case "vbd":
		b.Init(b.BEKey(di, "physical-device"), b.Value("8:0"))
		b.Init(dev.Hotplug, b.Value("connected"))
		b.Init(b.BEKey(di, "sectors"), b.Value("2097152"))
	case "vif":
		b.Init(dev.Hotplug, b.Value("connected"))
	case "pci":
		b.Init(b.BEKey(di, "num_devs"), b.Value("1"))
		b.Init(b.BEKey(di, "key-0"), b.Value("0000:01:00.0"))
		b.Init(b.BEKey(di, "dev-0"), b.Value("0000:01:00.0"))
		b.Init(b.BEKey(di, "state-0"), b.Value("3"))
		b.Init(b.FEKey(di, "pci-op-ref"), b.Value("8"))
	case "vfb", "vkbd":
		if bl.sp.Toolstack.Kind == "xend" {
			b.Init(dev.Hotplug, b.Value("connected"))
		}
	}
	if dev.LibxlDir != model.NoPath {
		b.InitEntries(libxl.LibxlRecordOps(b, di))
	}
}

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
			rm := libxl.Remove(b, di, libxl.RemoveOptions{Version: bl.lv, Force: libxl.ForceAuto, Idle: true, NoQemuBodge: bl.noBodge()})
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
			own(libxl.Remove(b, di, libxl.RemoveOptions{Version: bl.lv, Force: force, Name: name, NoQemuBodge: bl.noBodge()}))
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
						Name: fmt.Sprintf("libxl-devices-destroy(%s)", sd.Name), NoQemuBodge: bl.noBodge()}))
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

func sortedIDs(m map[int]*Domain) []int {
	var ids []int
	for id := range m {
		ids = append(ids, id)
	}
	for i := 1; i < len(ids); i++ {
		for j := i; j > 0 && ids[j] < ids[j-1]; j-- {
			ids[j], ids[j-1] = ids[j-1], ids[j]
		}
	}
	return ids
}

func sortedKeys(m map[int][]int) []int {
	var ids []int
	for id := range m {
		ids = append(ids, id)
	}
	for i := 1; i < len(ids); i++ {
		for j := i; j > 0 && ids[j] < ids[j-1]; j-- {
			ids[j], ids[j-1] = ids[j-1], ids[j]
		}
	}
	return ids
}
