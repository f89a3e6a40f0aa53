package scenario

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// A report collects the problems a check finds, in the order found: Parse
// reports the one nearest the start of the file, the first found among
// those on the same line, so the checks below keep the file's order.
type report struct {
	*parser
	errs []*Error
}

func (r *report) add(line int, format string, args ...any) {
	r.errs = append(r.errs, r.errf(line, format, args...))
}

// checkValues checks each value on its own: required keys, allowed names,
// ranges, uniqueness.
func (p *parser) checkValues() []*Error {
	r := &report{parser: p}
	r.toolstackValues()
	r.xenstoredValues()
	r.domainValues()
	r.deviceValues()
	r.operationValues()
	r.xenstoreValues()
	r.faultValues()
	r.timingValues()
	r.checkSectionValues()
	return r.errs
}

func domainLabel(d Domain, i int) string {
	if d.Name != "" {
		return fmt.Sprintf("domain %q", d.Name)
	}
	return fmt.Sprintf("domain #%d", i+1)
}

func deviceLabel(d Device, i int) string {
	if d.Name != "" {
		return fmt.Sprintf("device %q", d.Name)
	}
	return fmt.Sprintf("device #%d", i+1)
}

func opLabel(o Operation, i int) string {
	if o.Kind != "" {
		return fmt.Sprintf("operation #%d (%s)", i+1, o.Kind)
	}
	return fmt.Sprintf("operation #%d", i+1)
}

// required reports a missing key at the table's header, or a value not
// among names at the key.
func (r *report) required(table string, index int, key, label, v string, names []string) {
	switch {
	case v == "":
		r.add(r.header(table, index), "%s: %s is required (one of %s)", label, key, strings.Join(names, ", "))
	case oneOf(v, names) != "":
		r.add(r.at(table, index, key), "%s: %s %s", label, key, oneOf(v, names))
	}
}

// allowed reports a value not among names, at its key.
func (r *report) allowed(table string, index int, key, label, v string, names []string) {
	if m := oneOf(v, names); m != "" {
		r.add(r.at(table, index, key), "%s: %s %s", label, key, m)
	}
}

func (r *report) toolstackValues() {
	ts := r.s.Toolstack
	r.required("toolstack", -1, "kind", "toolstack", ts.Kind, ToolstackKinds)
	versions := map[string][]string{"libxl": LibxlVersions, "xend": XendVersions}[ts.Kind]
	switch {
	case ts.Version == "":
		if versions != nil {
			r.add(r.header("toolstack", -1), "toolstack: version is required (one of %s)", strings.Join(versions, ", "))
		} else {
			r.add(r.header("toolstack", -1), "toolstack: version is required")
		}
	case versions != nil && oneOf(ts.Version, versions) != "":
		r.add(r.at("toolstack", -1, "version"), "toolstack: %s version %s", ts.Kind, oneOf(ts.Version, versions))
	}
}

func (r *report) xenstoredValues() {
	r.allowed("xenstored", -1, "conflict", "xenstored", r.s.Xenstored.Conflict, ConflictRules)
	r.allowed("xenstored", -1, "version", "xenstored", r.s.Xenstored.Version, XenstoredVers)
}

// domainValues checks each [[domain]] of the file (not the implicit dom0).
func (r *report) domainValues() {
	names := map[string]int{}
	ids := map[int]int{}
	dom0Kind := -1
	for i, d := range r.s.Domains {
		fi := r.domIdx(i)
		if fi < 0 {
			continue // the implicit dom0
		}
		l := domainLabel(d, fi)
		r.domainName(fi, d, l, names)
		r.domainID(fi, d, l, ids)
		r.domainKind(fi, d, l, &dom0Kind)
		r.allowed("domain", fi, "state", l, d.State, DomainStates)
		if r.given("domain", fi, "home") && !d.Dead() {
			r.add(r.at("domain", fi, "home"), "%s: home is only allowed with state = \"dying\" or \"gone\" (state is %q)", l, d.State)
		} else if d.Dead() {
			r.allowed("domain", fi, "home", l, d.Home, DomainHomes)
		}
	}
}

// domainName checks that the fi-th domain has a name no other has; names
// records the names seen.
func (r *report) domainName(fi int, d Domain, l string, names map[string]int) {
	switch j, dup := names[d.Name]; {
	case d.Name == "":
		r.add(r.header("domain", fi), "%s: name is required", l)
	case d.Name == r.s.Domains[0].Name && r.pos.domainShift == 1:
		r.add(r.at("domain", fi, "name"), "%s: the name %q is the implicit dom0's (no domain has id 0); give this domain id 0 and kind \"dom0\", or another name", l, d.Name)
	case dup:
		r.add(r.at("domain", fi, "name"), "%s: name already used by domain #%d (line %d)", l, j+1, r.at("domain", j, "name"))
	default:
		names[d.Name] = fi
	}
}

// domainID checks that the fi-th domain has an id >= 0 no other has; ids
// records the ids seen.
func (r *report) domainID(fi int, d Domain, l string, ids map[int]int) {
	switch {
	case d.ID == nil:
		r.add(r.header("domain", fi), "%s: id is required (an integer >= 0; 0 is dom0)", l)
	case *d.ID < 0:
		r.add(r.at("domain", fi, "id"), "%s: id %d is negative; want an integer >= 0", l, *d.ID)
	default:
		if j, dup := ids[*d.ID]; dup {
			r.add(r.at("domain", fi, "id"), "%s: id %d already used by domain #%d (line %d)", l, *d.ID, j+1, r.at("domain", j, "id"))
		} else {
			ids[*d.ID] = fi
		}
	}
}

// domainKind checks the fi-th domain's kind: one dom0, with id 0, and the
// domain with id 0 is it. dom0Kind is the first dom0-kind domain seen.
func (r *report) domainKind(fi int, d Domain, l string, dom0Kind *int) {
	switch {
	case d.Kind == "":
		r.add(r.header("domain", fi), "%s: kind is required (one of %s)", l, strings.Join(DomainKinds, ", "))
	case oneOf(d.Kind, DomainKinds) != "":
		r.add(r.at("domain", fi, "kind"), "%s: kind %s", l, oneOf(d.Kind, DomainKinds))
	case d.Kind == "dom0":
		if *dom0Kind >= 0 {
			r.add(r.at("domain", fi, "kind"), "%s: a second dom0-kind domain (the first is domain #%d); there is only one dom0", l, *dom0Kind+1)
		} else {
			*dom0Kind = fi
			if d.ID != nil && *d.ID != 0 {
				r.add(r.at("domain", fi, "id"), "%s: a dom0-kind domain must have id 0, not %d", l, *d.ID)
			}
		}
	}
	if d.ID != nil && *d.ID == 0 && d.Kind != "" && d.Kind != "dom0" && oneOf(d.Kind, DomainKinds) == "" {
		r.add(r.at("domain", fi, "kind"), "%s: the domain with id 0 is dom0 and must have kind \"dom0\", not %q", l, d.Kind)
	}
}

// deviceValues checks each [[device]] on its own; refs.go checks its
// domains and whether its drivers serve it.
func (r *report) deviceValues() {
	devNames := map[string]int{}
	for i, d := range r.s.Devices {
		l := deviceLabel(d, i)
		hdr := r.header("device", i)
		if d.Name == "" {
			r.add(hdr, "%s: name is required", l)
		} else if j, dup := devNames[d.Name]; dup {
			r.add(r.at("device", i, "name"), "%s: name already used by device #%d (line %d)", l, j+1, r.at("device", j, "name"))
		} else {
			devNames[d.Name] = i
		}
		r.required("device", i, "kind", l, d.Kind, DeviceKinds)
		if d.Frontend == "" {
			r.add(hdr, "%s: frontend is required (the name of the guest domain)", l)
		}
		if *d.DevID < 0 {
			r.add(r.at("device", i, "devid"), "%s: devid %d is negative; want an integer >= 0", l, *d.DevID)
		}
		r.allowed("device", i, "state", l, d.State, DeviceStates)
		r.allowed("device", i, "frontend-driver", l, d.FrontendDriver, FrontendDrivers)
		r.allowed("device", i, "backend-driver", l, d.BackendDriver, BackendDrivers)
		if r.given("device", i, "qemu") {
			if d.BackendDriver != "qemu" {
				r.add(r.at("device", i, "qemu"), "%s: qemu is only allowed for a device whose backend driver is qemu (it is %q)", l, d.BackendDriver)
			} else {
				r.allowed("device", i, "qemu", l, d.Qemu, QemuStates)
			}
		}
	}
}

func (r *report) operationValues() {
	s := r.s
	if len(s.Operations) == 0 {
		r.add(1, "no operations: want at least one [[operation]] (kind = one of %s for %s)", strings.Join(opKinds(s.Toolstack.Kind), ", "), s.Toolstack.Kind)
	}
	for i, o := range s.Operations {
		if o.Kind == "" {
			r.add(r.header("operation", i), "%s: kind is required", opLabel(o, i))
		}
	}
}

func (r *report) xenstoreValues() {
	for i, n := range r.s.Xenstore {
		l := fmt.Sprintf("xenstore node #%d", i+1)
		if n.Path != "" {
			l = fmt.Sprintf("xenstore node %q", n.Path)
		}
		if n.Path == "" {
			r.add(r.header("xenstore", i), "%s: path is required", l)
		} else if m := checkPath(n.Path); m != "" {
			r.add(r.at("xenstore", i, "path"), "%s: %s", l, m)
		}
		switch {
		case n.Value != nil && n.Remove:
			r.add(r.at("xenstore", i, "remove"), "%s: give either value or remove = true, not both", l)
		case n.Value == nil && !n.Remove:
			line := r.header("xenstore", i)
			if r.given("xenstore", i, "remove") {
				line = r.at("xenstore", i, "remove")
			}
			r.add(line, "%s: want a value (to set the node) or remove = true", l)
		}
	}
}

// faultValues checks the fault names; refs.go checks their domains.
func (r *report) faultValues() {
	seen := map[string]int{}
	for i, f := range r.s.Faults.Allow {
		line := r.at("faults", -1, "allow")
		if _, dup := seen[f]; dup {
			r.add(line, "faults: allow[%d] %q is listed twice", i, f)
			continue
		}
		seen[f] = i
		name, dom, hasDom := strings.Cut(f, ":")
		switch {
		case hasDom:
			if m := oneOf(name, DomainFaultNames); m != "" {
				r.add(line, "faults: allow[%d] %q: %s (only these take a :domain)", i, f, m)
			} else if dom == "" {
				r.add(line, "faults: allow[%d] %q: want a domain name after the colon", i, f)
			}
		case slices.Contains(DomainFaultNames, name):
			r.add(line, "faults: allow[%d] %q needs a domain: write \"%s:<domain>\"", i, f, name)
		default:
			if m := oneOf(name, append(slices.Clone(FaultNames), DomainFaultNames...)); m != "" {
				r.add(line, "faults: allow[%d] %s", i, m)
			}
		}
	}
}

func (r *report) timingValues() {
	if q := r.s.Timing.QemuExitWithin; q != "" {
		line := r.at("timing", -1, "qemu-exit-within")
		d, err := time.ParseDuration(q)
		switch {
		case err != nil:
			r.add(line, "timing: qemu-exit-within %q is not a duration (want e.g. \"5s\" or \"500ms\")", q)
		case d <= 0:
			r.add(line, "timing: qemu-exit-within %q must be positive", q)
		}
	}
	if t := r.s.Timing.Timers; t != "" && oneOf(t, TimerSemantics) != "" {
		r.add(r.at("timing", -1, "timers"), "timing: timers %q is not known; want %s", t, strings.Join(TimerSemantics, " or "))
	}
}

// checkSectionValues checks [check]: the properties, the expectation, the
// bound.
func (r *report) checkSectionValues() {
	c := r.s.Check
	if len(c.Properties) == 0 {
		r.add(r.at("check", -1, "properties"), "check: properties is required and must not be empty (known: %s)", strings.Join(PropertyNames, ", "))
	}
	seen := map[string]bool{}
	for i, pr := range c.Properties {
		line := r.at("check", -1, "properties")
		if m := oneOf(pr, PropertyNames); m != "" {
			r.add(line, "check: properties[%d] %s", i, m)
		} else if seen[pr] {
			r.add(line, "check: properties[%d] %q is listed twice", i, pr)
		}
		seen[pr] = true
	}
	switch {
	case c.Expect == "" || oneOf(c.Expect, Expectations) != "":
		r.required("check", -1, "expect", "check", c.Expect, Expectations)
	case c.Expect == "violation" && c.Violates == "":
		r.add(r.at("check", -1, "expect"), "check: expect = \"violation\" needs violates = \"<property>\" naming the property expected to fail")
	case c.Expect != "violation" && r.given("check", -1, "violates"):
		r.add(r.at("check", -1, "violates"), "check: violates is only allowed with expect = \"violation\" (expect is %q)", c.Expect)
	}
	if c.MaxStates < 0 {
		r.add(r.at("check", -1, "max-states"), "check: max-states %d is negative; want an integer >= 0 (0: no bound)", c.MaxStates)
	}
}

// checkPath checks a xenstore path; it returns what is wrong or "".
func checkPath(path string) string {
	if !strings.HasPrefix(path, "/") {
		return "path must be absolute (start with /)"
	}
	for _, r := range path {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("_@/.:-", r)) {
			return fmt.Sprintf("path has character %q; allowed: A-Z a-z 0-9 _ @ / . : -", r)
		}
	}
	if path == "/" {
		return ""
	}
	if strings.HasSuffix(path, "/") {
		return "path must not end with /"
	}
	if strings.Contains(path, "//") {
		return "path has an empty component (//)"
	}
	return ""
}
