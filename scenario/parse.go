package scenario

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

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

// syntaxError turns an error of the TOML decoder into an *Error at the
// decoder's line. Every error toml.Decode returns for a map is a
// toml.ParseError; decoding into a Spec after checkTypes returns none
// (checkTypes turns what would fail into messages of this package), so
// another error is reported at line 1.
func syntaxError(file string, err error) *Error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return &Error{File: file, Line: max(pe.Position.Line, 1), Msg: oneLine("TOML syntax: " + pe.Message)}
	}
	return &Error{File: file, Line: 1, Msg: oneLine(strings.TrimPrefix(err.Error(), "toml: "))}
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

func (p *parser) defaults() {
	s := p.s
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(p.file), ".toml")
	}
	if s.Xenstored.Conflict == "" {
		s.Xenstored.Conflict = "oxenstored"
	}
	if s.Xenstored.Version == "" {
		s.Xenstored.Version = defaultXenstored()
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
		if d.Home == "" && d.Dead() {
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
