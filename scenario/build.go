package scenario

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/model/libxl"
	"github.com/xbcheck/xbcheck/model/linux"
	"github.com/xbcheck/xbcheck/model/qemu"
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
	// The properties' per-step reads where they declare them
	// (props.VisibilityOf), which let more sets through than their whole
	// reads (props.Visible): on the benchmark family with symmetry, 8,115
	// classes against 13,553 at N = 3, 36,233 against 78,184 at N = 4.
	// (Under the breadth-first cycle proviso it was the other way round,
	// 52,878 against 44,498 at N = 3: the larger sets' successors were
	// more often old.)
	if v, ok := props.VisibilityOf(sys, sp.Check.Properties); ok {
		c.POR = sys.NewPORFor(v)
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
	// qemuDevs and qemuState gather, per guest domid, the devices its
	// qemu serves and the state it starts in.
	qemuDevs  map[int][]int
	qemuState map[int]string
}

func (bl *builder) errAt(table string, index int, key, format string, args ...any) error {
	return &Error{File: bl.sp.File, Line: bl.sp.Line(table, index, key), Msg: fmt.Sprintf(format, args...)}
}

func (bl *builder) isLibxl() bool { return bl.sp.Toolstack.Kind == "libxl" }

// libxlRecords reports whether the toolstack keeps /libxl/<domid> records.
func (bl *builder) libxlRecords() bool { return bl.isLibxl() && bl.lv.LibxlRecords() }

func (bl *builder) build() error {
	if err := bl.settings(); err != nil {
		return err
	}
	bl.domains()
	bl.devices()
	bl.storeNodes()
	if err := bl.operations(); err != nil {
		return err
	}
	bl.lifecycles()
	bl.timeouts()
	bl.hostiles()
	return nil
}

// settings sets the daemon's, the toolstack's and the timing's options.
func (bl *builder) settings() error {
	sp, b := bl.sp, bl.b
	if sp.Timing.Timers == "any-time" {
		b.SetTimers(model.AnyTime)
	}
	if sp.Xenstored.Conflict == "cxenstored" {
		b.SetConflict(model.CXenstored)
	}
	b.SetRemoveOwnedOnDeath(removeOwnedOnDeath(sp.Xenstored.Version))
	b.SetDeathFiresWatches(sp.Xenstored.Conflict == "cxenstored")
	if bl.isLibxl() {
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
	return nil
}

// domains adds the domains, dom0 always; every live domain has its home.
func (bl *builder) domains() {
	sp, b := bl.sp, bl.b
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
	for _, id := range slices.Sorted(maps.Keys(bl.domOf)) {
		d := bl.domOf[id]
		st := model.DomainRunning
		switch d.State {
		case "dead":
			st = model.DomainUnlisted
		default:
			if i := slices.Index(model.DomainStateNames, d.State); i >= 0 {
				st = uint8(i)
			}
		}
		b.Domain(id, d.Name, st)
		home := b.Path(fmt.Sprintf("/local/domain/%d", id))
		b.Init(b.Join(home, "name"), b.Value(d.Name))
		if bl.libxlRecords() && id != 0 {
			b.Init(b.Path(fmt.Sprintf("/libxl/%d/type", id)), b.Value(d.Kind))
		}
	}
}

// devices adds the devices, their initial nodes and their drivers, then
// one qemu per guest whose devices it serves.
func (bl *builder) devices() {
	sp, b := bl.sp, bl.b
	bl.qemus = map[int]int{}
	bl.fronts = map[int]int{}
	bl.qemuDevs = map[int][]int{}
	bl.qemuState = map[int]string{}
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
			LibxlRecord: bl.libxlRecords()})
		if sp.Toolstack.GuestWritesBackend {
			b.SetACL(b.Sys().Devices[di].BEDir, model.ACL{{Dom: be, Perm: model.PermNone}, {Dom: fe, Perm: model.PermBoth}})
		}
		bl.devIdx[sd.Name] = di
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
		bl.addDrivers(di, sd, fdrv, bdrv, start)
	}
	for _, fe := range slices.Sorted(maps.Keys(bl.qemuDevs)) {
		st := bl.qemuState[fe]
		if st == "" {
			st = qemu.Running
		}
		bl.qemus[fe] = qemu.Add(b, fe, bl.qemuDevs[fe], st, qemu.ForLibxl(bl.lv.Minor))
	}
}

// qemuDevice records that the guest's qemu serves device di.
func (bl *builder) qemuDevice(di int, sd *Device) {
	fe := bl.domID[sd.Frontend]
	bl.qemuDevs[fe] = append(bl.qemuDevs[fe], di)
	if _, ok := bl.qemuState[fe]; !ok || sd.Qemu != "" {
		bl.qemuState[fe] = sd.Qemu
	}
}

// storeNodes applies the scenario's [[xenstore]] nodes, then removes what
// dead domains whose home was removed left: nothing of theirs is left.
func (bl *builder) storeNodes() {
	sp, b := bl.sp, bl.b
	for _, n := range sp.Xenstore {
		p := b.Path(n.Path)
		if n.Remove {
			b.InitRemove(p)
		} else if n.Value != nil {
			b.Init(p, b.Value(*n.Value))
		}
	}
	for _, id := range slices.Sorted(maps.Keys(bl.domOf)) {
		d := bl.domOf[id]
		if d.Dead() && d.Home != "stale" {
			b.InitRemove(b.Path(fmt.Sprintf("/local/domain/%d", id)))
			if bl.libxlRecords() {
				b.InitRemove(b.Path(fmt.Sprintf("/libxl/%d", id)))
			}
		}
	}
}

// lifecycles adds the lifecycle actor of each domain a domain fault names.
func (bl *builder) lifecycles() {
	sp, b := bl.sp, bl.b
	lifecycle := map[int]bool{}
	for _, f := range sp.Faults.Allow {
		if strings.HasPrefix(f, model.HostileFault+":") {
			continue // a hostile guest is an actor of its own (hostiles)
		}
		for _, k := range DomainFaultNames {
			if len(f) > len(k)+1 && f[:len(k)+1] == k+":" {
				lifecycle[bl.domID[f[len(k)+1:]]] = true
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(bl.domOf)) {
		if lifecycle[id] {
			b.AddLifecycle(id)
		}
	}
	// A dying domain is released by the hypervisor (it is gone from then
	// on), which only libxl's existence check of a device's domain can
	// tell: added where the domain can be dying and a remove of one of its
	// devices may start.
	for _, id := range slices.Sorted(maps.Keys(bl.domOf)) {
		removes := false
		for _, op := range sp.Operations {
			switch op.Kind {
			case "remove", "destroy", "safe-remove", "add-remove":
				if dev, ok := bl.devIdx[op.Device]; ok && b.Sys().Devices[dev].FEDom == id {
					removes = true
				}
			}
		}
		if d := bl.domOf[id]; removes && id != 0 && d.State != "gone" && d.State != "dead" && bl.mayVanish(id) {
			b.AddRelease(id)
		}
	}
}

// mayVanish reports whether domain id can be gone at some point: it is
// gone (or dying) from the start, or a fault or an operation destroys it.
func (bl *builder) mayVanish(id int) bool {
	d := bl.domOf[id]
	if id == 0 || d == nil {
		return false
	}
	if d.Dead() || slices.Contains(bl.sp.Faults.Allow, "domain-destroy:"+d.Name) {
		return true
	}
	for _, op := range bl.sp.Operations {
		if op.Kind == "domain-destroy" && bl.domID[op.Domain] == id {
			return true
		}
	}
	return false
}

// timeouts drops the toolstack's timers when the scenario has none, and
// guards them with qemu's exit bound.
func (bl *builder) timeouts() {
	sp, b := bl.sp, bl.b
	if sp.Timing.Timeouts != nil && !*sp.Timing.Timeouts {
		b.DropTimeouts()
	}
	if b.QemuExitWithin > 0 {
		// In guest order: each guard is a conjunction, and its atoms'
		// order shows in exports and traces.
		for _, fe := range slices.Sorted(maps.Keys(bl.qemus)) {
			qa := b.Sys().Actors[bl.qemus[fe]]
			sig, _ := qa.LocByName(qemu.SIGHUP)
			b.GuardTimeouts(b.QemuExitWithin, model.VarNe(qa.Loc, uint8(sig)))
		}
	}
}

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
	if bl.isLibxl() {
		b.InitEntries(libxl.ScriptKeyOps(b, di)) // BE/script (vbd, vif), BE/type (vif)
	}
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
	case "qdisk":
		b.Init(b.BEKey(di, "sectors"), b.Value("2097152")) // qemu's, written before Connected (model/qemu)
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

// hostiles adds the hostile guests ("hostile:<domain>" faults), last:
// their values are gathered from every other actor's transitions.
func (bl *builder) hostiles() {
	sp, b := bl.sp, bl.b
	hostile := map[int]bool{}
	for _, f := range sp.Faults.Allow {
		if dom, ok := strings.CutPrefix(f, model.HostileFault+":"); ok {
			hostile[bl.domID[dom]] = true
		}
	}
	for _, id := range slices.Sorted(maps.Keys(hostile)) {
		n := sp.Faults.HostileWrites
		if n == 0 {
			n = 1
		}
		b.AddHostileGuest(id, n)
	}
}
