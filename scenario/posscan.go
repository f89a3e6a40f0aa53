package scenario

import (
	"sort"
	"strconv"
	"strings"
)

// scanPositions indexes the tables and keys of a TOML text the parser has
// accepted (see positions for why it is not the library's). It is forgiving: on text it does not understand it skips ahead,
// and it never fails.
func scanPositions(data string) *positions {
	sc := &posScanner{
		s:      data,
		counts: map[string]int{},
		pos:    &positions{lines: map[posKey]int{}},
		cur:    nil,
		curIdx: -1,
	}
	for i := 0; i < len(data); i++ {
		if data[i] == '\n' {
			sc.nl = append(sc.nl, i)
		}
	}
	sc.scan()
	return sc.pos
}

type posScanner struct {
	s      string
	i      int
	nl     []int // offsets of the newlines
	cur    []string
	curIdx int
	counts map[string]int // [[name]] headers seen, by top-level name
	pos    *positions
}

// lineAt returns the 1-based line of byte offset off.
func (sc *posScanner) lineAt(off int) int {
	return sort.SearchInts(sc.nl, off) + 1
}

func (sc *posScanner) eof() bool { return sc.i >= len(sc.s) }

func (sc *posScanner) set(k posKey, line int) {
	if _, ok := sc.pos.lines[k]; !ok {
		sc.pos.lines[k] = line
	}
}

// recordKey records a key = value at full path.
func (sc *posScanner) recordKey(full []string, idx, line int) {
	if len(full) == 1 {
		sc.set(posKey{"", -1, full[0]}, line)
		return
	}
	sc.set(posKey{full[0], idx, strings.Join(full[1:], ".")}, line)
}

// recordTable records a table (header or inline) at full path.
func (sc *posScanner) recordTable(full []string, idx, line int) {
	if len(full) == 0 {
		return
	}
	sc.set(posKey{full[0], idx, strings.Join(full[1:], ".")}, line)
}

func (sc *posScanner) scan() {
	for {
		sc.skipSpace(true)
		if sc.eof() {
			return
		}
		start := sc.i
		line := sc.lineAt(sc.i)
		if sc.s[sc.i] == '[' {
			arr := sc.i+1 < len(sc.s) && sc.s[sc.i+1] == '['
			sc.i++
			if arr {
				sc.i++
			}
			path := sc.keyPath()
			if len(path) > 0 {
				if arr && len(path) == 1 {
					sc.counts[path[0]]++
				}
				sc.cur = path
				sc.curIdx = sc.counts[path[0]] - 1
				sc.recordTable(path, sc.curIdx, line)
			}
			sc.skipLine()
		} else {
			path := sc.keyPath()
			sc.skipBlank()
			if len(path) == 0 || sc.eof() || sc.s[sc.i] != '=' {
				sc.skipLine()
			} else {
				sc.i++
				full := append(append([]string(nil), sc.cur...), path...)
				sc.recordKey(full, sc.curIdx, line)
				sc.skipBlank()
				sc.value(full, sc.curIdx)
			}
		}
		if sc.i <= start {
			sc.i = start + 1
		}
	}
}

// skipBlank skips spaces and tabs.
func (sc *posScanner) skipBlank() {
	for !sc.eof() && (sc.s[sc.i] == ' ' || sc.s[sc.i] == '\t') {
		sc.i++
	}
}

// skipSpace skips blanks, comments and (if nl) newlines.
func (sc *posScanner) skipSpace(nl bool) {
	for !sc.eof() {
		switch c := sc.s[sc.i]; {
		case c == ' ' || c == '\t':
			sc.i++
		case nl && (c == '\n' || c == '\r'):
			sc.i++
		case c == '#':
			for !sc.eof() && sc.s[sc.i] != '\n' {
				sc.i++
			}
		default:
			return
		}
	}
}

// skipLine skips to the start of the next line.
func (sc *posScanner) skipLine() {
	for !sc.eof() && sc.s[sc.i] != '\n' {
		sc.i++
	}
	if !sc.eof() {
		sc.i++
	}
}

func isBare(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// keyPath reads a (dotted, possibly quoted) key. It stops before '=', ']'
// or anything else that cannot continue a key.
func (sc *posScanner) keyPath() []string {
	var path []string
	for {
		sc.skipBlank()
		if sc.eof() {
			return path
		}
		switch c := sc.s[sc.i]; {
		case c == '"':
			raw := sc.quoted('"')
			if k, err := strconv.Unquote(raw); err == nil {
				path = append(path, k)
			} else {
				path = append(path, strings.Trim(raw, `"`))
			}
		case c == '\'':
			raw := sc.quoted('\'')
			path = append(path, strings.Trim(raw, "'"))
		case isBare(c):
			start := sc.i
			for !sc.eof() && isBare(sc.s[sc.i]) {
				sc.i++
			}
			path = append(path, sc.s[start:sc.i])
		default:
			return path
		}
		sc.skipBlank()
		if sc.eof() || sc.s[sc.i] != '.' {
			return path
		}
		sc.i++
	}
}

// quoted reads a one-line string in quotes q ("..." with backslash
// escapes, or '...') and returns its text with the quotes.
func (sc *posScanner) quoted(q byte) string {
	start := sc.i
	sc.i++
	for !sc.eof() {
		switch sc.s[sc.i] {
		case '\\':
			if q == '"' {
				sc.i += 2
				continue
			}
		case q:
			sc.i++
			return sc.s[start:sc.i]
		case '\n':
			return sc.s[start:sc.i]
		}
		sc.i++
	}
	sc.i = len(sc.s)
	return sc.s[start:]
}

// multiString skips a multi-line string (three quotes q each side).
func (sc *posScanner) multiString(q byte) {
	sc.i += 3
	for !sc.eof() {
		c := sc.s[sc.i]
		if c == '\\' && q == '"' {
			sc.i += 2
			continue
		}
		if c == q && strings.HasPrefix(sc.s[sc.i:], strings.Repeat(string(q), 3)) {
			sc.i += 3
			// Up to two more quotes belong to the string's content.
			for n := 0; n < 2 && !sc.eof() && sc.s[sc.i] == q; n++ {
				sc.i++
			}
			return
		}
		sc.i++
	}
}

// value skips one value; full and idx say where it is, for the keys of
// inline tables in it.
func (sc *posScanner) value(full []string, idx int) {
	if sc.eof() {
		return
	}
	switch c := sc.s[sc.i]; c {
	case '"', '\'':
		if strings.HasPrefix(sc.s[sc.i:], strings.Repeat(string(c), 3)) {
			sc.multiString(c)
		} else {
			sc.quoted(c)
		}
	case '[':
		sc.i++
		sc.elements(']', func(elem int) {
			if len(full) == 1 && sc.s[sc.i] == '{' {
				// An inline array of tables: device = [{...}, {...}].
				sc.value(full, elem)
			} else {
				sc.value(full, idx)
			}
		})
	case '{':
		sc.recordTable(full, idx, sc.lineAt(sc.i))
		sc.i++
		sc.elements('}', func(int) {
			line := sc.lineAt(sc.i)
			path := sc.keyPath()
			sc.skipBlank()
			if len(path) > 0 && !sc.eof() && sc.s[sc.i] == '=' {
				sc.i++
				sub := append(append([]string(nil), full...), path...)
				sc.recordKey(sub, idx, line)
				sc.skipSpace(true)
				sc.value(sub, idx)
			}
		})
	default:
		for !sc.eof() && !strings.ContainsRune(" \t\r\n,]}#", rune(sc.s[sc.i])) {
			sc.i++
		}
	}
}

// elements reads the comma-separated elements of an array or inline table
// up to its closing byte, calling elem with each one's index at its start;
// it always moves forward.
func (sc *posScanner) elements(closing byte, elem func(n int)) {
	for n := 0; ; n++ {
		sc.skipSpace(true)
		if sc.eof() {
			return
		}
		if sc.s[sc.i] == closing {
			sc.i++
			return
		}
		start := sc.i
		elem(n)
		sc.skipSpace(true)
		if !sc.eof() && sc.s[sc.i] == ',' {
			sc.i++
		} else if sc.i <= start {
			sc.i = start + 1
		}
	}
}
