package scenario

import (
	"fmt"
	"slices"
	"strings"

	"github.com/xbcheck/xbcheck/model/libxl"
)

// A refIndex indexes what entries may refer to, for checkRefs.
type refIndex struct {
	dom0     string          // the name of the domain with id 0
	domains  map[string]bool // declared domains
	declared string          // every domain, for messages
	guests   string          // every domain but dom0, for messages
	devices  map[string]int  // declared devices, by name
	listDev  string          // every device, for messages
}

func (p *parser) refIndex() *refIndex {
	s := p.s
	n := &refIndex{dom0: s.Domains[p.dom0].Name, domains: map[string]bool{}, devices: map[string]int{}}
	var doms, guests, devs []string
	for _, d := range s.Domains {
		doms = append(doms, d.Name)
		n.domains[d.Name] = true
		if d.Name != n.dom0 {
			guests = append(guests, d.Name)
		}
	}
	n.declared = strings.Join(doms, ", ")
	n.guests = strings.Join(guests, ", ")
	if len(guests) == 0 {
		n.guests = "none besides " + n.dom0
	}
	for i, d := range s.Devices {
		n.devices[d.Name] = i
		devs = append(devs, d.Name)
	}
	n.listDev = strings.Join(devs, ", ")
	if n.listDev == "" {
		n.listDev = "none"
	}
	return n
}

// checkRefs checks what refers to other entries or depends on the
// toolstack: devices' domains and drivers, operations, device-order,
// fault domains, the violated property.
func (p *parser) checkRefs() []*Error {
	r := &report{parser: p}
	n := p.refIndex()
	r.deviceRefs(n)
	r.toolstackRefs(n)
	for i, o := range p.s.Operations {
		r.operationRefs(n, i, o)
	}
	r.faultRefs(n)
	c := p.s.Check
	if c.Expect == "violation" && c.Violates != "" && !slices.Contains(c.Properties, c.Violates) {
		r.add(r.at("check", -1, "violates"), "check: violates %q is not one of check.properties (%s)", c.Violates, strings.Join(c.Properties, ", "))
	}
	return r.errs
}

// guest reports a reference to a domain that is not declared or is dom0,
// at line; what says what refers ("device \"vif0\": frontend domain").
func (r *report) guest(n *refIndex, line int, what, dom string) {
	switch {
	case !n.domains[dom]:
		r.add(line, "%s %q is not declared (declared: %s)", what, dom, n.guests)
	case dom == n.dom0:
		r.add(line, "%s %q is dom0; want a guest domain (declared: %s)", what, dom, n.guests)
	}
}

// deviceRefs checks each device's domains, that no two devices are the
// same device of a guest, and that its drivers serve its kind.
func (r *report) deviceRefs(n *refIndex) {
	s := r.s
	type fdKey struct {
		kind, frontend string
		devid          int
	}
	seen := map[fdKey]int{}
	for i, d := range s.Devices {
		l := deviceLabel(d, i)
		r.guest(n, r.at("device", i, "frontend"), l+": frontend domain", d.Frontend)
		if !n.domains[d.Backend] {
			r.add(r.at("device", i, "backend"), "%s: backend domain %q is not declared (declared: %s)", l, d.Backend, n.declared)
		}
		k := fdKey{d.Kind, d.Frontend, *d.DevID}
		if j, dup := seen[k]; dup {
			r.add(r.at("device", i, "devid"), "%s: a second %s of domain %q with devid %d (the first is %s); give it another devid", l, d.Kind, d.Frontend, *d.DevID, deviceLabel(s.Devices[j], j))
		} else {
			seen[k] = i
		}
		r.driverRefs(i, d, l)
	}
}

// driverRefs checks that the i-th device's drivers serve its kind, under
// the scenario's toolstack.
func (r *report) driverRefs(i int, d Device, l string) {
	ts := r.s.Toolstack.Kind
	if fe := serving(frontends, d.Kind); len(fe) > 0 && !slices.Contains(fe, d.FrontendDriver) && d.FrontendDriver != "none" {
		r.add(r.at("device", i, "frontend-driver"), "%s: frontend-driver %q does not serve a %s device; want %s or none", l, d.FrontendDriver, d.Kind, strings.Join(fe, " or "))
	}
	be := serving(backends, d.Kind)
	if len(be) > 0 && !slices.Contains(be, d.BackendDriver) && d.BackendDriver != "none" {
		r.add(r.at("device", i, "backend-driver"), "%s: backend-driver %q does not serve a %s device; want %s", l, d.BackendDriver, d.Kind, strings.Join(append(be, "none"), " or "))
	} else if drv := findDriver(backends, d.BackendDriver); drv != nil && drv.toolstack != "" && drv.toolstack != ts {
		var usable []string
		for _, name := range be {
			if t := findDriver(backends, name).toolstack; t == "" || t == ts {
				usable = append(usable, name)
			}
		}
		r.add(r.at("device", i, "backend-driver"), "%s: backend-driver %q is only used with toolstack %s (toolstack is %q); want %s", l, d.BackendDriver, drv.toolstack, ts, strings.Join(append(usable, "none"), " or "))
	}
}

// toolstackRefs checks the keys of [toolstack] that only one toolstack
// has, and xend's device-order against the devices.
func (r *report) toolstackRefs(n *refIndex) {
	s := r.s
	ts := s.Toolstack
	if ts.QemuBodge != nil && ts.Kind != "libxl" {
		r.add(r.at("toolstack", -1, "qemu-bodge"), "toolstack: qemu-bodge is only for toolstack libxl (toolstack is %q)", ts.Kind)
	}
	if ts.GuestWritesBackend && ts.Kind != "libxl" {
		r.add(r.at("toolstack", -1, "guest-writes-backend"), "toolstack: guest-writes-backend is only for toolstack libxl (toolstack is %q)", ts.Kind)
	}
	if len(ts.DeviceOrder) == 0 && !r.given("toolstack", -1, "device-order") {
		return
	}
	line := r.at("toolstack", -1, "device-order")
	if ts.Kind != "xend" {
		r.add(line, "toolstack: device-order is only for toolstack xend (toolstack is %q)", ts.Kind)
		return
	}
	inOrder := map[string]bool{}
	for i, name := range ts.DeviceOrder {
		if _, ok := n.devices[name]; !ok {
			r.add(line, "toolstack: device-order[%d] %q is not a declared device (declared: %s)", i, name, n.listDev)
		} else if inOrder[name] {
			r.add(line, "toolstack: device-order[%d] %q is listed twice", i, name)
		}
		inOrder[name] = true
	}
	for _, o := range s.Operations {
		if o.Kind != "create-devices" || !n.domains[o.Domain] {
			continue
		}
		for _, d := range s.Devices {
			if d.Frontend == o.Domain && !inOrder[d.Name] {
				r.add(line, "toolstack: device-order misses device %q of domain %q (create-devices creates every device of the domain)", d.Name, o.Domain)
			}
		}
	}
}

// operationRefs checks the i-th operation: a kind of the toolstack, only
// the keys it takes, and the device or domain it names.
func (r *report) operationRefs(n *refIndex, i int, o Operation) {
	ts := r.s.Toolstack
	l := opLabel(o, i)
	kl := r.at("operation", i, "kind")
	if m := oneOf(o.Kind, opKinds(ts.Kind)); m != "" {
		r.add(kl, "operation #%d: kind %s (the operations of toolstack %s)", i+1, m, ts.Kind)
		return
	}
	keys := operationKeys(o.Kind)
	for _, key := range []string{"device", "domain", "starting"} {
		if r.given("operation", i, key) && !slices.Contains(keys, key) {
			r.add(r.at("operation", i, key), "%s: key %q is not used by %s (it takes: %s)", l, key, o.Kind, strings.Join(append([]string{"kind"}, keys...), ", "))
		}
	}
	if slices.Contains(keys, "device") {
		r.operationDevice(n, i, o, l)
	}
	if slices.Contains(keys, "domain") {
		if o.Domain == "" {
			r.add(r.header("operation", i), "%s: domain is required (declared: %s)", l, n.guests)
		} else {
			r.guest(n, r.at("operation", i, "domain"), l+": domain", o.Domain)
		}
	}
	if o.Kind == "safe-remove" {
		if v, err := libxl.ParseVersion(ts.Version); err != nil || !v.ForceLevels() {
			r.add(kl, "%s: safe-remove needs libxl 4.15 or later (toolstack version is %s)", l, ts.Version)
		}
	}
}

// operationDevice checks the device the i-th operation names: declared,
// of the kind and in the state the operation wants.
func (r *report) operationDevice(n *refIndex, i int, o Operation, l string) {
	j, ok := n.devices[o.Device]
	switch {
	case o.Device == "":
		r.add(r.header("operation", i), "%s: device is required (declared: %s)", l, n.listDev)
		return
	case !ok:
		r.add(r.at("operation", i, "device"), "%s: device %q is not declared (declared: %s)", l, o.Device, n.listDev)
		return
	}
	d := r.s.Devices[j]
	dl := r.at("operation", i, "device")
	switch o.Kind {
	case "pci-attach":
		// A pci device is one xenbus device per guest: the first attach
		// creates it, later ones add functions to it.
		if d.Kind != "pci" {
			r.add(dl, "%s: device %q is a %s device; pci-attach wants a pci device", l, d.Name, d.Kind)
		}
	case "add", "add-remove":
		if d.State != "absent" {
			r.add(dl, "%s: device %q has state %q; %s wants a device with state = \"absent\"", l, d.Name, d.State, o.Kind)
		}
	default:
		if d.State == "absent" {
			r.add(dl, "%s: device %q has state \"absent\"; %s wants an existing device (state connected or closed)", l, d.Name, o.Kind)
		}
	}
}

// faultRefs checks the domains of the domain faults.
func (r *report) faultRefs(n *refIndex) {
	for i, f := range r.s.Faults.Allow {
		_, dom, ok := strings.Cut(f, ":")
		if !ok || dom == "" {
			continue
		}
		r.guest(n, r.at("faults", -1, "allow"), fmt.Sprintf("faults: allow[%d] %q: domain", i, f), dom)
	}
	// faults.hostile-writes
	if h := r.s.Faults.HostileWrites; h != 0 || r.given("faults", -1, "hostile-writes") {
		hostile := false
		for _, f := range r.s.Faults.Allow {
			hostile = hostile || strings.HasPrefix(f, "hostile:")
		}
		switch {
		case h < 1 || h > 8:
			r.add(r.at("faults", -1, "hostile-writes"), "faults: hostile-writes = %d: want 1 to 8", h)
		case !hostile:
			r.add(r.at("faults", -1, "hostile-writes"), "faults: hostile-writes without a hostile guest: allow \"hostile:<domain>\" too")
		}
	}
}
