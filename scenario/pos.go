package scenario

// positions records the line each table and key of a scenario file was
// given on: the one source of every line a message of this package names.
// The TOML library's own errors (syntax errors, toml.ParseError) carry the
// library's line: they come before there is an accepted text to index.
//
// The index comes from posscan.go's scanner, not from the TOML library:
// BurntSushi/toml v1.6.0 records each key's position only in MetaData's
// unexported keyInfo (BurntSushi/toml#462 asks to export it), keyed by the
// dotted key without the array index, so the keys of the second [[device]]
// overwrite the first's. pelletier/go-toml/v2's unstable parser has
// positions but parses TOML 1.0 only, rejecting TOML 1.1 text
// BurntSushi/toml accepts (newlines in inline tables), and its syntax
// errors read differently from the ones scenario files are tested
// against.
type positions struct {
	lines map[posKey]int
	// domainShift is 1 when Parse prepended the implicit dom0 to
	// Spec.Domains: Line's index counts Spec.Domains, the index counts the
	// file's [[domain]] tables.
	domainShift int
}

// A posKey names a key: table is the top-level table ("" for top-level
// keys), index the element of an array table (-1 for a plain table) and
// key the dotted key inside it ("" for the table itself).
type posKey struct {
	table string
	index int
	key   string
}

// line returns the line of a key in file terms (index counts the file's
// tables), 0 when unknown.
func (p *positions) line(table string, index int, key string) int {
	if p == nil {
		return 0
	}
	return p.lines[posKey{table, index, key}]
}

// first returns the first line any element of table gives key on, 0 when
// none does.
func (p *positions) first(table, key string) int {
	if p == nil {
		return 0
	}
	best := 0
	for k, l := range p.lines {
		if k.table == table && k.key == key && (best == 0 || l < best) {
			best = l
		}
	}
	return best
}

// Line returns the line of the file where a key was given, e.g.
// Line("device", 2, "backend") for the "backend" key of the third
// [[device]] table, Line("check", -1, "expect") for a key of a plain table,
// Line("", -1, "name") for a top-level key, or Line("device", 2, "") for
// the table header itself; 0 when unknown (the key was not given, or the
// Spec was not read from a file). Index counts Spec.Domains, Spec.Devices,
// ... so Line("domain", 0, ...) is 0 for the implicit dom0 Parse adds.
func (s *Spec) Line(table string, index int, key string) int {
	if s == nil || s.pos == nil {
		return 0
	}
	if table == "domain" && index >= 0 {
		index -= s.pos.domainShift
		if index < 0 {
			return 0
		}
	}
	return s.pos.line(table, index, key)
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

// domIdx converts an index of s.Domains to the file's [[domain]] index.
func (p *parser) domIdx(i int) int { return i - p.pos.domainShift }
