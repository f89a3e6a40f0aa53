package scenario

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// ParseFile reads and parses one file.
func ParseFile(path string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &Error{File: path, Msg: oneLine("cannot read: " + err.Error())}
	}
	return Parse(path, data)
}

// Parse reads a scenario from data; file names it in errors. It returns a
// validated Spec, defaults filled, or an *Error with file:line and what was
// expected. The error is the first problem found: a TOML syntax error, then
// a value of the wrong type or an unknown key, then a missing or invalid
// value, then a bad reference between entries (a device's backend that is
// not declared, ...); within each class the one nearest the start of the
// file.
//
// If no domain has id 0, Parse prepends the implicit dom0 (name "dom0",
// id 0, kind "dom0") to Spec.Domains.
func Parse(file string, data []byte) (spec *Spec, err error) {
	defer func() {
		if r := recover(); r != nil {
			spec, err = nil, &Error{File: file, Line: 1, Msg: oneLine(fmt.Sprintf("internal error: %v", r))}
		}
	}()
	text := string(data)
	var raw map[string]any
	if _, err := toml.Decode(text, &raw); err != nil {
		return nil, syntaxError(file, err)
	}
	p := &parser{file: file, raw: raw, pos: scanPositions(text)}
	if e := p.first(p.checkTypes()); e != nil {
		return nil, e
	}
	s := &Spec{}
	md, err := toml.Decode(text, s)
	if err != nil {
		// checkTypes should have caught it.
		return nil, syntaxError(file, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		// checkTypes should have caught it too.
		k := und[0]
		line := 0
		if len(k) == 1 {
			line = p.topLine(k[0])
		} else {
			line = p.pos.first(k[0], strings.Join(k[1:], "."))
		}
		return nil, p.errf(line, "unknown key %q", k.String())
	}
	s.File = file
	s.pos = p.pos
	p.s = s
	p.defaults()
	if e := p.first(p.checkValues()); e != nil {
		return nil, e
	}
	if e := p.first(p.checkRefs()); e != nil {
		return nil, e
	}
	return s, nil
}

var lineRE = regexp.MustCompile(`line (\d+)`)

// syntaxError turns an error of the TOML decoder into an *Error.
func syntaxError(file string, err error) *Error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		line := pe.Position.Line
		if line < 1 {
			line = 1
		}
		return &Error{File: file, Line: line, Msg: oneLine("TOML syntax: " + pe.Message)}
	}
	line := 1
	if m := lineRE.FindStringSubmatch(err.Error()); m != nil {
		if n, e := strconv.Atoi(m[1]); e == nil && n > 0 {
			line = n
		}
	}
	return &Error{File: file, Line: line, Msg: oneLine(strings.TrimPrefix(err.Error(), "toml: "))}
}

// oneLine replaces line breaks with spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '\n', '\r', '\v', '\f', 0x85, 0x2028, 0x2029:
			return ' '
		}
		return r
	}, s)
}

type parser struct {
	file string
	raw  map[string]any
	pos  *positions
	s    *Spec
	// dom0 is the index in s.Domains of the domain with id 0.
	dom0 int
}

func (p *parser) errf(line int, format string, args ...any) *Error {
	if line < 1 {
		line = 1
	}
	return &Error{File: p.file, Line: line, Msg: oneLine(fmt.Sprintf(format, args...))}
}

// first returns the error nearest the start of the file, the first listed
// among those on the same line.
func (p *parser) first(errs []*Error) *Error {
	var best *Error
	for _, e := range errs {
		if best == nil || e.Line < best.Line {
			best = e
		}
	}
	return best
}

// at returns the line of key in the index-th table (file terms), falling
// back to the table's header, then to the first line.
func (p *parser) at(table string, index int, key string) int {
	if key != "" {
		if l := p.pos.line(table, index, key); l > 0 {
			return l
		}
	}
	return p.header(table, index)
}

// header returns the line of a table's header, or of its first key when
// it has no header (dotted keys), or 1.
func (p *parser) header(table string, index int) int {
	if table == "" {
		return 1
	}
	if l := p.pos.line(table, index, ""); l > 0 {
		return l
	}
	best := 0
	for k, l := range p.pos.lines {
		if k.table == table && k.index == index && (best == 0 || l < best) {
			best = l
		}
	}
	if best == 0 {
		best = 1
	}
	return best
}

// topLine returns the line of top-level key k: a key = value, a [k] or the
// first [[k]].
func (p *parser) topLine(k string) int {
	for _, l := range []int{p.pos.line("", -1, k), p.pos.line(k, -1, ""), p.pos.line(k, 0, "")} {
		if l > 0 {
			return l
		}
	}
	return p.header(k, -1)
}

// ---- types and unknown keys ----

// tomlType names the TOML type of a decoded value.
func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case time.Time:
		return "a date/time"
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("a %T", v)
}

// fieldsOf returns the toml names of a struct type's fields, in order.
func fieldsOf(t reflect.Type) ([]string, map[string]reflect.StructField) {
	var names []string
	m := map[string]reflect.StructField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("toml")
		if !f.IsExported() || tag == "" || tag == "-" {
			continue
		}
		names = append(names, tag)
		m[tag] = f
	}
	return names, m
}

// checkTypes checks every value of the file against the type of its Spec
// field and reports keys Spec has no field for.
func (p *parser) checkTypes() []*Error {
	return p.checkTable(p.raw, reflect.TypeFor[Spec](), "", -1, "")
}

// checkTable checks the table m against struct type t; table and index
// locate it, where describes it in messages ("" at the top level).
func (p *parser) checkTable(m map[string]any, t reflect.Type, table string, index int, where string) []*Error {
	names, fields := fieldsOf(t)
	var errs []*Error
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := m[k]
		// Where the key is: top-level keys are keys of table "".
		line := p.at(table, index, k)
		if table == "" {
			line = p.topLine(k)
		}
		f, ok := fields[k]
		if !ok {
			msg := fmt.Sprintf("unknown key %q", k)
			if where == "" {
				if _, isTable := v.(map[string]any); isTable {
					msg = fmt.Sprintf("unknown table [%s]", k)
				} else if _, isArr := v.([]map[string]any); isArr {
					msg = fmt.Sprintf("unknown table [[%s]]", k)
				}
			} else {
				msg += " in " + where
			}
			if s := closest(k, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else {
				msg += " (known: " + strings.Join(names, ", ") + ")"
			}
			errs = append(errs, p.errf(line, "%s", msg))
			continue
		}
		name := k
		if where != "" {
			name = where + ": " + k
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		want := ""
		switch ft.Kind() {
		case reflect.String:
			if _, ok := v.(string); !ok {
				want = "a string"
			}
		case reflect.Int:
			if _, ok := v.(int64); !ok {
				want = "an integer"
			}
		case reflect.Bool:
			if _, ok := v.(bool); !ok {
				want = "a boolean (true or false)"
			}
		case reflect.Struct:
			sub, ok := v.(map[string]any)
			if !ok {
				want = fmt.Sprintf("a table [%s]", k)
				break
			}
			errs = append(errs, p.checkTable(sub, ft, k, -1, k)...)
		case reflect.Slice:
			if ft.Elem().Kind() == reflect.String {
				arr, ok := v.([]any)
				if !ok {
					want = "an array of strings"
					break
				}
				for i, e := range arr {
					if _, ok := e.(string); !ok {
						errs = append(errs, p.errf(line, "%s[%d] must be a string, not %s", name, i, tomlType(e)))
						break
					}
				}
				break
			}
			// An array of tables.
			var elems []map[string]any
			switch a := v.(type) {
			case []map[string]any:
				elems = a
			case []any:
				for _, e := range a {
					em, ok := e.(map[string]any)
					if !ok {
						want = fmt.Sprintf("an array of tables [[%s]]", k)
						break
					}
					elems = append(elems, em)
				}
			default:
				want = fmt.Sprintf("an array of tables [[%s]]", k)
			}
			if want != "" {
				break
			}
			for i, e := range elems {
				errs = append(errs, p.checkTable(e, ft.Elem(), k, i, rawLabel(k, i, e))...)
			}
		}
		if want != "" {
			errs = append(errs, p.errf(line, "%s must be %s, not %s", name, want, tomlType(v)))
		}
	}
	return errs
}

// rawLabel describes the i-th element of array table k, by its name when
// it has one.
func rawLabel(k string, i int, m map[string]any) string {
	if n, ok := m["name"].(string); ok && n != "" {
		return fmt.Sprintf("%s %q", k, n)
	}
	if k == "xenstore" {
		if n, ok := m["path"].(string); ok && n != "" {
			return fmt.Sprintf("xenstore node %q", n)
		}
	}
	return fmt.Sprintf("%s #%d", k, i+1)
}

// closest returns the name in names nearest to s, if near enough to be a
// likely typo, or "". Version numbers get no suggestion: "4.16" is not a
// typo of "4.14".
func closest(s string, names []string) string {
	if s == "" || strings.Trim(s, "0123456789.") == "" {
		return ""
	}
	ls := strings.ToLower(s)
	for _, n := range names {
		if len(ls) >= 2 && (strings.HasPrefix(n, ls) || strings.HasPrefix(ls, n)) {
			return n
		}
	}
	// An abbreviation: "drv" for "driver".
	for _, n := range names {
		if len(ls) >= 3 && n != "" && ls[0] == n[0] && isSubsequence(ls, n) {
			return n
		}
	}
	best, bestD := "", min(1+len(s)/3, 3)+1
	for _, n := range names {
		if d := editDistance(ls, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// isSubsequence reports whether the bytes of a appear in b in order.
func isSubsequence(a, b string) bool {
	j := 0
	for i := 0; i < len(b) && j < len(a); i++ {
		if a[j] == b[i] {
			j++
		}
	}
	return j == len(a)
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		if a == b {
			return 0
		}
		return 1 << 20
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			c = min(c, prev[j]+1, cur[j-1]+1)
			cur[j] = c
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// ---- defaults ----

func (p *parser) defaults() {
	s := p.s
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(p.file), ".toml")
	}
	if s.Xenstored.Conflict == "" {
		s.Xenstored.Conflict = "oxenstored"
	}
	if s.Xenstored.Version == "" {
		s.Xenstored.Version = "4.17"
	}
	p.dom0 = -1
	for i, d := range s.Domains {
		if d.ID != nil && *d.ID == 0 {
			p.dom0 = i
			break
		}
	}
	if p.dom0 < 0 {
		zero := 0
		s.Domains = append([]Domain{{Name: "dom0", ID: &zero, Kind: "dom0"}}, s.Domains...)
		s.pos.domainShift = 1
		p.dom0 = 0
	}
	for i := range s.Domains {
		d := &s.Domains[i]
		if d.State == "" {
			d.State = "running"
		}
		if d.Home == "" && d.State == "dead" {
			d.Home = "removed"
		}
	}
	for i := range s.Devices {
		d := &s.Devices[i]
		if d.Backend == "" {
			d.Backend = s.Domains[p.dom0].Name
		}
		if d.DevID == nil {
			zero := 0
			d.DevID = &zero
		}
		if d.State == "" {
			d.State = "connected"
		}
		fe, be := DefaultDrivers(d.Kind, s.Toolstack.Kind)
		if d.FrontendDriver == "" {
			d.FrontendDriver = fe
		}
		if d.BackendDriver == "" {
			d.BackendDriver = be
		}
		if d.Qemu == "" && d.BackendDriver == "qemu" {
			d.Qemu = "running"
		}
	}
}

// ---- values ----

// domIdx converts an index of s.Domains to the file's [[domain]] index.
func (p *parser) domIdx(i int) int { return i - p.pos.domainShift }

// oneOf checks that v is one of names; what names the key in messages.
func oneOf(v string, names []string) string {
	if slices.Contains(names, v) {
		return ""
	}
	msg := fmt.Sprintf("%q is not one of %s", v, strings.Join(names, ", "))
	if c := closest(v, names); c != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", c)
	}
	return msg
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

// given reports whether the index-th table of array table `table` gives key.
func (p *parser) given(table string, index int, key string) bool {
	switch a := p.raw[table].(type) {
	case []map[string]any:
		if index >= 0 && index < len(a) {
			_, ok := a[index][key]
			return ok
		}
	case []any:
		if index >= 0 && index < len(a) {
			if m, ok := a[index].(map[string]any); ok {
				_, ok := m[key]
				return ok
			}
		}
	case map[string]any:
		if index < 0 {
			_, ok := a[key]
			return ok
		}
	}
	return false
}

// checkValues checks each value on its own: required keys, allowed names,
// ranges, uniqueness.
func (p *parser) checkValues() []*Error {
	s := p.s
	var errs []*Error
	add := func(line int, format string, args ...any) {
		errs = append(errs, p.errf(line, format, args...))
	}

	// toolstack
	ts := s.Toolstack
	switch {
	case ts.Kind == "":
		add(p.header("toolstack", -1), "toolstack: kind is required (one of %s)", strings.Join(ToolstackKinds, ", "))
	case oneOf(ts.Kind, ToolstackKinds) != "":
		add(p.at("toolstack", -1, "kind"), "toolstack: kind %s", oneOf(ts.Kind, ToolstackKinds))
	}
	versions := map[string][]string{"libxl": LibxlVersions, "xend": XendVersions}[ts.Kind]
	switch {
	case ts.Version == "":
		if versions != nil {
			add(p.header("toolstack", -1), "toolstack: version is required (one of %s)", strings.Join(versions, ", "))
		} else {
			add(p.header("toolstack", -1), "toolstack: version is required")
		}
	case versions != nil && oneOf(ts.Version, versions) != "":
		add(p.at("toolstack", -1, "version"), "toolstack: %s version %s", ts.Kind, oneOf(ts.Version, versions))
	}

	// xenstored
	if m := oneOf(s.Xenstored.Conflict, ConflictRules); m != "" {
		add(p.at("xenstored", -1, "conflict"), "xenstored: conflict %s", m)
	}
	if m := oneOf(s.Xenstored.Version, XenstoredVers); m != "" {
		add(p.at("xenstored", -1, "version"), "xenstored: version %s", m)
	}

	// domains
	names := map[string]int{}
	ids := map[int]int{}
	dom0Kind := -1
	for i, d := range s.Domains {
		fi := p.domIdx(i)
		if fi < 0 {
			continue // the implicit dom0
		}
		l := domainLabel(d, fi)
		hdr := p.header("domain", fi)
		if d.Name == "" {
			add(hdr, "%s: name is required", l)
		} else if d.Name == s.Domains[0].Name && p.pos.domainShift == 1 {
			add(p.at("domain", fi, "name"), "%s: the name %q is the implicit dom0's (no domain has id 0); give this domain id 0 and kind \"dom0\", or another name", l, d.Name)
		} else if j, dup := names[d.Name]; dup {
			add(p.at("domain", fi, "name"), "%s: name already used by domain #%d (line %d)", l, j+1, p.at("domain", j, "name"))
		} else {
			names[d.Name] = fi
		}
		switch {
		case d.ID == nil:
			add(hdr, "%s: id is required (an integer >= 0; 0 is dom0)", l)
		case *d.ID < 0:
			add(p.at("domain", fi, "id"), "%s: id %d is negative; want an integer >= 0", l, *d.ID)
		default:
			if j, dup := ids[*d.ID]; dup {
				add(p.at("domain", fi, "id"), "%s: id %d already used by domain #%d (line %d)", l, *d.ID, j+1, p.at("domain", j, "id"))
			} else {
				ids[*d.ID] = fi
			}
		}
		switch {
		case d.Kind == "":
			add(hdr, "%s: kind is required (one of %s)", l, strings.Join(DomainKinds, ", "))
		case oneOf(d.Kind, DomainKinds) != "":
			add(p.at("domain", fi, "kind"), "%s: kind %s", l, oneOf(d.Kind, DomainKinds))
		case d.Kind == "dom0":
			if dom0Kind >= 0 {
				add(p.at("domain", fi, "kind"), "%s: a second dom0-kind domain (the first is domain #%d); there is only one dom0", l, dom0Kind+1)
			} else {
				dom0Kind = fi
				if d.ID != nil && *d.ID != 0 {
					add(p.at("domain", fi, "id"), "%s: a dom0-kind domain must have id 0, not %d", l, *d.ID)
				}
			}
		}
		if d.ID != nil && *d.ID == 0 && d.Kind != "" && d.Kind != "dom0" && oneOf(d.Kind, DomainKinds) == "" {
			add(p.at("domain", fi, "kind"), "%s: the domain with id 0 is dom0 and must have kind \"dom0\", not %q", l, d.Kind)
		}
		if m := oneOf(d.State, DomainStates); m != "" {
			add(p.at("domain", fi, "state"), "%s: state %s", l, m)
		}
		if p.given("domain", fi, "home") && d.State != "dead" {
			add(p.at("domain", fi, "home"), "%s: home is only allowed with state = \"dead\" (state is %q)", l, d.State)
		} else if d.State == "dead" {
			if m := oneOf(d.Home, DomainHomes); m != "" {
				add(p.at("domain", fi, "home"), "%s: home %s", l, m)
			}
		}
	}

	// devices
	devNames := map[string]int{}
	for i, d := range s.Devices {
		l := deviceLabel(d, i)
		hdr := p.header("device", i)
		if d.Name == "" {
			add(hdr, "%s: name is required", l)
		} else if j, dup := devNames[d.Name]; dup {
			add(p.at("device", i, "name"), "%s: name already used by device #%d (line %d)", l, j+1, p.at("device", j, "name"))
		} else {
			devNames[d.Name] = i
		}
		switch {
		case d.Kind == "":
			add(hdr, "%s: kind is required (one of %s)", l, strings.Join(DeviceKinds, ", "))
		case oneOf(d.Kind, DeviceKinds) != "":
			add(p.at("device", i, "kind"), "%s: kind %s", l, oneOf(d.Kind, DeviceKinds))
		}
		if d.Frontend == "" {
			add(hdr, "%s: frontend is required (the name of the guest domain)", l)
		}
		if *d.DevID < 0 {
			add(p.at("device", i, "devid"), "%s: devid %d is negative; want an integer >= 0", l, *d.DevID)
		}
		if m := oneOf(d.State, DeviceStates); m != "" {
			add(p.at("device", i, "state"), "%s: state %s", l, m)
		}
		if m := oneOf(d.FrontendDriver, FrontendDrivers); m != "" {
			add(p.at("device", i, "frontend-driver"), "%s: frontend-driver %s", l, m)
		}
		if m := oneOf(d.BackendDriver, BackendDrivers); m != "" {
			add(p.at("device", i, "backend-driver"), "%s: backend-driver %s", l, m)
		}
		if p.given("device", i, "qemu") {
			if d.BackendDriver != "qemu" {
				add(p.at("device", i, "qemu"), "%s: qemu is only allowed for a device whose backend driver is qemu (it is %q)", l, d.BackendDriver)
			} else if m := oneOf(d.Qemu, QemuStates); m != "" {
				add(p.at("device", i, "qemu"), "%s: qemu %s", l, m)
			}
		}
	}

	// operations
	if len(s.Operations) == 0 {
		add(1, "no operations: want at least one [[operation]] (kind = one of %s for %s)", strings.Join(opKinds(s.Toolstack.Kind), ", "), s.Toolstack.Kind)
	}
	for i, o := range s.Operations {
		if o.Kind == "" {
			add(p.header("operation", i), "%s: kind is required", opLabel(o, i))
		}
	}

	// xenstore nodes
	for i, n := range s.Xenstore {
		l := fmt.Sprintf("xenstore node #%d", i+1)
		if n.Path != "" {
			l = fmt.Sprintf("xenstore node %q", n.Path)
		}
		if n.Path == "" {
			add(p.header("xenstore", i), "%s: path is required", l)
		} else if m := checkPath(n.Path); m != "" {
			add(p.at("xenstore", i, "path"), "%s: %s", l, m)
		}
		switch {
		case n.Value != nil && n.Remove:
			add(p.at("xenstore", i, "remove"), "%s: give either value or remove = true, not both", l)
		case n.Value == nil && !n.Remove:
			line := p.header("xenstore", i)
			if p.given("xenstore", i, "remove") {
				line = p.at("xenstore", i, "remove")
			}
			add(line, "%s: want a value (to set the node) or remove = true", l)
		}
	}

	// faults: the names; the domains are references.
	seenF := map[string]int{}
	for i, f := range s.Faults.Allow {
		line := p.at("faults", -1, "allow")
		if _, dup := seenF[f]; dup {
			add(line, "faults: allow[%d] %q is listed twice", i, f)
			continue
		}
		seenF[f] = i
		name, dom, hasDom := strings.Cut(f, ":")
		switch {
		case hasDom:
			if m := oneOf(name, DomainFaultNames); m != "" {
				add(line, "faults: allow[%d] %q: %s (only these take a :domain)", i, f, m)
			} else if dom == "" {
				add(line, "faults: allow[%d] %q: want a domain name after the colon", i, f)
			}
		case slices.Contains(DomainFaultNames, name):
			add(line, "faults: allow[%d] %q needs a domain: write \"%s:<domain>\"", i, f, name)
		default:
			if m := oneOf(name, append(slices.Clone(FaultNames), DomainFaultNames...)); m != "" {
				add(line, "faults: allow[%d] %s", i, m)
			}
		}
	}

	// timing
	if q := s.Timing.QemuExitWithin; q != "" {
		line := p.at("timing", -1, "qemu-exit-within")
		d, err := time.ParseDuration(q)
		switch {
		case err != nil:
			add(line, "timing: qemu-exit-within %q is not a duration (want e.g. \"5s\" or \"500ms\")", q)
		case d <= 0:
			add(line, "timing: qemu-exit-within %q must be positive", q)
		}
	}

	if t := s.Timing.Timers; t != "" && oneOf(t, TimerSemantics) != "" {
		add(p.at("timing", -1, "timers"), "timing: timers %q is not known; want %s", t, strings.Join(TimerSemantics, " or "))
	}

	// check
	c := s.Check
	if len(c.Properties) == 0 {
		add(p.at("check", -1, "properties"), "check: properties is required and must not be empty (known: %s)", strings.Join(PropertyNames, ", "))
	}
	seenP := map[string]bool{}
	for i, pr := range c.Properties {
		line := p.at("check", -1, "properties")
		if m := oneOf(pr, PropertyNames); m != "" {
			add(line, "check: properties[%d] %s", i, m)
		} else if seenP[pr] {
			add(line, "check: properties[%d] %q is listed twice", i, pr)
		}
		seenP[pr] = true
	}
	switch {
	case c.Expect == "":
		add(p.header("check", -1), "check: expect is required (one of %s)", strings.Join(Expectations, ", "))
	case oneOf(c.Expect, Expectations) != "":
		add(p.at("check", -1, "expect"), "check: expect %s", oneOf(c.Expect, Expectations))
	case c.Expect == "violation" && c.Violates == "":
		add(p.at("check", -1, "expect"), "check: expect = \"violation\" needs violates = \"<property>\" naming the property expected to fail")
	case c.Expect != "violation" && p.given("check", -1, "violates"):
		add(p.at("check", -1, "violates"), "check: violates is only allowed with expect = \"violation\" (expect is %q)", c.Expect)
	}
	if c.MaxStates < 0 {
		add(p.at("check", -1, "max-states"), "check: max-states %d is negative; want an integer >= 0 (0: no bound)", c.MaxStates)
	}
	return errs
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

// ---- references ----

// checkRefs checks what refers to other entries or depends on the
// toolstack: devices' domains and drivers, operations, device-order,
// fault domains, the violated property.
func (p *parser) checkRefs() []*Error {
	s := p.s
	var errs []*Error
	add := func(line int, format string, args ...any) {
		errs = append(errs, p.errf(line, format, args...))
	}
	dom0 := s.Domains[p.dom0].Name
	var domNames []string
	domains := map[string]bool{}
	for _, d := range s.Domains {
		domNames = append(domNames, d.Name)
		domains[d.Name] = true
	}
	declared := strings.Join(domNames, ", ")
	devices := map[string]int{}
	var devNames []string
	for i, d := range s.Devices {
		devices[d.Name] = i
		devNames = append(devNames, d.Name)
	}
	listDev := strings.Join(devNames, ", ")
	if listDev == "" {
		listDev = "none"
	}
	nonDom0 := func() string {
		var ns []string
		for _, n := range domNames {
			if n != dom0 {
				ns = append(ns, n)
			}
		}
		if len(ns) == 0 {
			return "none besides " + dom0
		}
		return strings.Join(ns, ", ")
	}

	// devices
	type fdKey struct {
		kind, frontend string
		devid          int
	}
	seen := map[fdKey]int{}
	for i, d := range s.Devices {
		l := deviceLabel(d, i)
		switch {
		case !domains[d.Frontend]:
			add(p.at("device", i, "frontend"), "%s: frontend domain %q is not declared (declared: %s)", l, d.Frontend, nonDom0())
		case d.Frontend == dom0:
			add(p.at("device", i, "frontend"), "%s: frontend domain %q is dom0; want a guest domain (declared: %s)", l, d.Frontend, nonDom0())
		}
		if !domains[d.Backend] {
			add(p.at("device", i, "backend"), "%s: backend domain %q is not declared (declared: %s)", l, d.Backend, declared)
		}
		k := fdKey{d.Kind, d.Frontend, *d.DevID}
		if j, dup := seen[k]; dup {
			line := p.at("device", i, "devid")
			add(line, "%s: a second %s of domain %q with devid %d (the first is %s); give it another devid", l, d.Kind, d.Frontend, *d.DevID, deviceLabel(s.Devices[j], j))
		} else {
			seen[k] = i
		}
		if fe := wantFrontend[d.Kind]; fe != "" && d.FrontendDriver != fe && d.FrontendDriver != "none" {
			add(p.at("device", i, "frontend-driver"), "%s: frontend-driver %q does not serve a %s device; want %s or none", l, d.FrontendDriver, d.Kind, fe)
		}
		if be := wantBackend[d.Kind]; be != nil && !slices.Contains(be, d.BackendDriver) {
			add(p.at("device", i, "backend-driver"), "%s: backend-driver %q does not serve a %s device; want %s", l, d.BackendDriver, d.Kind, strings.Join(be, " or "))
		} else if d.BackendDriver == "xenfb" && s.Toolstack.Kind != "xend" {
			add(p.at("device", i, "backend-driver"), "%s: backend-driver \"xenfb\" is only used with toolstack xend (toolstack is %q); want qemu or none", l, s.Toolstack.Kind)
		}
	}

	// faults.hostile-writes
	if n := s.Faults.HostileWrites; n != 0 || p.given("faults", -1, "hostile-writes") {
		hostile := false
		for _, f := range s.Faults.Allow {
			hostile = hostile || strings.HasPrefix(f, "hostile:")
		}
		switch {
		case n < 1 || n > 8:
			add(p.at("faults", -1, "hostile-writes"), "faults: hostile-writes = %d: want 1 to 8", n)
		case !hostile:
			add(p.at("faults", -1, "hostile-writes"), "faults: hostile-writes without a hostile guest: allow \"hostile:<domain>\" too")
		}
	}

	// toolstack.guest-writes-backend
	if s.Toolstack.GuestWritesBackend && s.Toolstack.Kind != "libxl" {
		add(p.at("toolstack", -1, "guest-writes-backend"), "toolstack: guest-writes-backend is only for toolstack libxl (toolstack is %q)", s.Toolstack.Kind)
	}

	// toolstack.qemu-bodge
	ts := s.Toolstack
	if ts.QemuBodge != nil && ts.Kind != "libxl" {
		add(p.at("toolstack", -1, "qemu-bodge"), "toolstack: qemu-bodge is only for toolstack libxl (toolstack is %q)", ts.Kind)
	}

	// toolstack.device-order
	if len(ts.DeviceOrder) > 0 || p.given("toolstack", -1, "device-order") {
		line := p.at("toolstack", -1, "device-order")
		if ts.Kind != "xend" {
			add(line, "toolstack: device-order is only for toolstack xend (toolstack is %q)", ts.Kind)
		} else {
			inOrder := map[string]bool{}
			for i, n := range ts.DeviceOrder {
				if _, ok := devices[n]; !ok {
					add(line, "toolstack: device-order[%d] %q is not a declared device (declared: %s)", i, n, listDev)
				} else if inOrder[n] {
					add(line, "toolstack: device-order[%d] %q is listed twice", i, n)
				}
				inOrder[n] = true
			}
			for _, o := range s.Operations {
				if o.Kind != "create-devices" || !domains[o.Domain] {
					continue
				}
				for _, d := range s.Devices {
					if d.Frontend == o.Domain && !inOrder[d.Name] {
						add(line, "toolstack: device-order misses device %q of domain %q (create-devices creates every device of the domain)", d.Name, o.Domain)
					}
				}
			}
		}
	}

	// operations
	for i, o := range s.Operations {
		l := opLabel(o, i)
		kl := p.at("operation", i, "kind")
		if m := oneOf(o.Kind, opKinds(ts.Kind)); m != "" {
			add(kl, "operation #%d: kind %s (the operations of toolstack %s)", i+1, m, ts.Kind)
			continue
		}
		allowed := map[string][]string{
			"add":            {"device"},
			"add-remove":     {"device"},
			"remove":         {"device"},
			"destroy":        {"device"},
			"safe-remove":    {"device"},
			"pci-attach":     {"device", "starting"},
			"domain-destroy": {"domain"},
			"create-devices": {"domain"},
		}[o.Kind]
		for _, key := range []string{"device", "domain", "starting"} {
			if p.given("operation", i, key) && !slices.Contains(allowed, key) {
				add(p.at("operation", i, key), "%s: key %q is not used by %s (it takes: %s)", l, key, o.Kind, strings.Join(append([]string{"kind"}, allowed...), ", "))
			}
		}
		if slices.Contains(allowed, "device") {
			j, ok := devices[o.Device]
			switch {
			case o.Device == "":
				add(p.header("operation", i), "%s: device is required (declared: %s)", l, listDev)
			case !ok:
				add(p.at("operation", i, "device"), "%s: device %q is not declared (declared: %s)", l, o.Device, listDev)
			default:
				d := s.Devices[j]
				dl := p.at("operation", i, "device")
				if o.Kind == "pci-attach" && d.Kind != "pci" {
					add(dl, "%s: device %q is a %s device; pci-attach wants a pci device", l, d.Name, d.Kind)
				}
				switch o.Kind {
				case "pci-attach":
					// A pci device is one xenbus device per guest: the first
					// attach creates it, later ones add functions to it.
				case "add", "add-remove":
					if d.State != "absent" {
						add(dl, "%s: device %q has state %q; %s wants a device with state = \"absent\"", l, d.Name, d.State, o.Kind)
					}
				default:
					if d.State == "absent" {
						add(dl, "%s: device %q has state \"absent\"; %s wants an existing device (state connected or closed)", l, d.Name, o.Kind)
					}
				}
			}
		}
		if slices.Contains(allowed, "domain") {
			switch {
			case o.Domain == "":
				add(p.header("operation", i), "%s: domain is required (declared: %s)", l, nonDom0())
			case !domains[o.Domain]:
				add(p.at("operation", i, "domain"), "%s: domain %q is not declared (declared: %s)", l, o.Domain, nonDom0())
			case o.Domain == dom0:
				add(p.at("operation", i, "domain"), "%s: domain %q is dom0; want a guest domain (declared: %s)", l, o.Domain, nonDom0())
			}
		}
		if o.Kind == "safe-remove" && libxlMinor(ts.Version) < 15 {
			add(kl, "%s: safe-remove needs libxl 4.15 or later (toolstack version is %s)", l, ts.Version)
		}
	}

	// faults with a domain
	for i, f := range s.Faults.Allow {
		_, dom, ok := strings.Cut(f, ":")
		if !ok || dom == "" {
			continue
		}
		line := p.at("faults", -1, "allow")
		switch {
		case !domains[dom]:
			add(line, "faults: allow[%d] %q: domain %q is not declared (declared: %s)", i, f, dom, nonDom0())
		case dom == dom0:
			add(line, "faults: allow[%d] %q: domain %q is dom0; want a guest domain (declared: %s)", i, f, dom, nonDom0())
		}
	}

	// check.violates
	c := s.Check
	if c.Expect == "violation" && c.Violates != "" && !slices.Contains(c.Properties, c.Violates) {
		add(p.at("check", -1, "violates"), "check: violates %q is not one of check.properties (%s)", c.Violates, strings.Join(c.Properties, ", "))
	}
	return errs
}

// wantFrontend and wantBackend are the drivers that serve each device
// kind, besides "none".
var (
	wantFrontend = map[string]string{
		"vbd": "blkfront", "qdisk": "blkfront", "vif": "netfront",
		"pci": "pcifront", "vfb": "fbfront", "vkbd": "kbdfront",
	}
	wantBackend = map[string][]string{
		"vbd": {"blkback", "none"}, "qdisk": {"qemu", "none"},
		"vif": {"netback", "none"}, "pci": {"pciback", "none"},
		"vfb": {"qemu", "xenfb", "none"}, "vkbd": {"qemu", "xenfb", "none"},
	}
)

// opKinds returns the operation kinds of a toolstack kind.
func opKinds(toolstack string) []string {
	if toolstack == "xend" {
		return XendOperations
	}
	return LibxlOperations
}

// libxlMinor returns the minor number of a libxl version "4.N", or -1.
func libxlMinor(v string) int {
	rest, ok := strings.CutPrefix(v, "4.")
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(rest)
	if err != nil {
		return -1
	}
	return n
}
