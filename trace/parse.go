package trace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Parse reads a trace in either form: JSON when the first non-blank byte
// is '{', the text form otherwise. Formatting the result again in the same
// form gives the same bytes.
func Parse(data []byte) (*Trace, error) {
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		return ParseJSON(data)
	}
	return ParseText(data)
}

// ParseJSON reads the JSON form. Unknown fields are ignored: the format
// only ever gains fields.
func ParseJSON(data []byte) (*Trace, error) {
	var t Trace
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("trace: %v", err)
	}
	if t.Scenario == "" {
		return nil, fmt.Errorf("trace: no scenario")
	}
	if t.Loop < -1 || t.Loop > len(t.Steps) {
		return nil, fmt.Errorf("trace: loop %d out of range for %d steps", t.Loop, len(t.Steps))
	}
	return &t, nil
}

// A SyntaxError is a problem in the text form, at a line of it.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("trace: line %d: %s", e.Line, e.Msg) }

const (
	cycleLine = "cycle: the steps below repeat forever"
	endLine   = "end: no transition but faults is enabled, and faults need not happen"
	// oldEndLine is how traces written before faults became optional end.
	oldEndLine = "end: no transition is enabled"
)

// ParseText reads the text form written by Text. Lines are taken as they
// are: a trace edited by hand must keep the layout (two spaces before op,
// = and at lines).
func ParseText(data []byte) (*Trace, error) {
	text := string(data)
	text = strings.TrimSuffix(text, "\n")
	lines := strings.Split(text, "\n")
	if len(data) == 0 || len(lines) == 0 {
		return nil, &SyntaxError{Line: 1, Msg: "empty trace"}
	}
	t, err := parseHeader(lines[0])
	if err != nil {
		return nil, err
	}
	cycleAt, end := -1, false
	for i := 1; i < len(lines); i++ {
		ln, line := i+1, lines[i]
		bad := func(format string, args ...any) error {
			return &SyntaxError{Line: ln, Msg: fmt.Sprintf(format, args...)}
		}
		if end {
			return nil, bad("text after %q", endLine)
		}
		switch {
		case line == cycleLine:
			if cycleAt >= 0 {
				return nil, bad("a second cycle marker")
			}
			cycleAt = len(t.Steps)
		case line == endLine || line == oldEndLine:
			end = true
		case strings.HasPrefix(line, "step "):
			s, err := parseStep(line, len(t.Steps)+1)
			if err != nil {
				return nil, bad("%v", err)
			}
			t.Steps = append(t.Steps, s)
		case strings.HasPrefix(line, "  op "), strings.HasPrefix(line, "  = "), strings.HasPrefix(line, "  at "):
			if len(t.Steps) == 0 {
				return nil, bad("%q before the first step", strings.TrimSpace(line))
			}
			s := &t.Steps[len(t.Steps)-1]
			switch line[2:4] {
			case "op":
				if len(s.Changes) > 0 {
					return nil, bad("op after the step's changes")
				}
				s.Ops = append(s.Ops, line[5:])
			case "= ":
				s.Changes = append(s.Changes, line[4:])
			default:
				rest := line[5:]
				if s.At != 0 || len(s.Ops) > 0 || len(s.Changes) > 0 {
					return nil, bad("at must come right after its step")
				}
				d, err := time.ParseDuration(rest)
				if err != nil || d == 0 || d.String() != rest {
					return nil, bad("bad time %q (want a Go duration such as 2.0015s)", rest)
				}
				s.At = d
			}
		default:
			return nil, bad("unexpected line %q (want step, op, =, at, cycle: or end:)", line)
		}
	}
	switch {
	case t.Loop == len(t.Steps) && !end:
		return nil, &SyntaxError{Line: len(lines), Msg: fmt.Sprintf("loop=%d says the run ends, but %q is missing", t.Loop, endLine)}
	case t.Loop != len(t.Steps) && end:
		return nil, &SyntaxError{Line: len(lines), Msg: fmt.Sprintf("%q but loop=%d with %d steps", endLine, t.Loop, len(t.Steps))}
	case t.Loop >= 0 && t.Loop < len(t.Steps) && cycleAt != t.Loop:
		return nil, &SyntaxError{Line: 1, Msg: fmt.Sprintf("loop=%d but the cycle marker is before step %d", t.Loop, cycleAt+1)}
	case (t.Loop < 0 || t.Loop >= len(t.Steps)) && cycleAt >= 0:
		return nil, &SyntaxError{Line: 1, Msg: fmt.Sprintf("a cycle marker but loop=%d", t.Loop)}
	case t.Loop < -1 || t.Loop > len(t.Steps):
		return nil, &SyntaxError{Line: 1, Msg: fmt.Sprintf("loop=%d out of range for %d steps", t.Loop, len(t.Steps))}
	}
	return t, nil
}

// parseHeader reads "trace scenario=NAME [property=P] loop=N [scheduler=S
// seed=N] [timers=T] [file="F"]".
func parseHeader(line string) (*Trace, error) {
	bad := func(format string, args ...any) error {
		return &SyntaxError{Line: 1, Msg: fmt.Sprintf(format, args...)}
	}
	rest, ok := strings.CutPrefix(line, "trace ")
	if !ok {
		return nil, bad("want \"trace scenario=NAME ... loop=N\", got %q", line)
	}
	t := &Trace{}
	order := []string{"scenario", "property", "loop", "scheduler", "seed", "timers", "file"}
	next := 0
	seen := map[string]bool{}
	for rest != "" {
		key, val, ok := strings.Cut(rest, "=")
		if !ok || key == "" || strings.ContainsAny(key, " \"") {
			return nil, bad("want key=value at %q", rest)
		}
		rest = val
		if strings.HasPrefix(rest, `"`) {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				return nil, bad("%s: bad quoted value", key)
			}
			val, _ = strconv.Unquote(q)
			rest = rest[len(q):]
		} else {
			val, rest, _ = strings.Cut(rest, " ")
			rest = " " + rest
			if rest == " " {
				rest = ""
			}
		}
		if rest != "" {
			if rest[0] != ' ' {
				return nil, bad("want a space after %s=", key)
			}
			rest = rest[1:]
		}
		i := next
		for i < len(order) && order[i] != key {
			i++
		}
		if i == len(order) {
			if seen[key] {
				return nil, bad("%s given twice", key)
			}
			return nil, bad("unknown or misplaced key %q", key)
		}
		next = i + 1
		seen[key] = true
		switch key {
		case "scenario":
			t.Scenario = val
		case "property":
			if val == "" {
				return nil, bad("empty property")
			}
			t.Property = val
		case "loop":
			n, err := strconv.Atoi(val)
			if err != nil || strconv.Itoa(n) != val {
				return nil, bad("bad loop %q", val)
			}
			t.Loop = n
		case "scheduler":
			if val == "" {
				return nil, bad("empty scheduler")
			}
			t.Scheduler = val
		case "seed":
			n, err := strconv.ParseUint(val, 10, 64)
			if err != nil || strconv.FormatUint(n, 10) != val {
				return nil, bad("bad seed %q", val)
			}
			t.Seed = n
		case "timers":
			if val == "" {
				return nil, bad("empty timers")
			}
			t.Timers = val
		case "file":
			if val == "" {
				return nil, bad("empty file")
			}
			t.File = val
		}
	}
	switch {
	case !seen["scenario"] || t.Scenario == "":
		return nil, bad("no scenario")
	case !seen["loop"]:
		return nil, bad("no loop")
	case seen["scheduler"] != seen["seed"]:
		return nil, bad("scheduler and seed go together")
	}
	return t, nil
}

// parseStep reads `step N ACTOR "TRANSITION" FROM -> TO`.
func parseStep(line string, want int) (Step, error) {
	var s Step
	rest := strings.TrimPrefix(line, "step ")
	num, rest, _ := strings.Cut(rest, " ")
	if n, err := strconv.Atoi(num); err != nil || n != want || strconv.Itoa(n) != num {
		return s, fmt.Errorf("step number %q, want %d", num, want)
	}
	i := strings.Index(rest, ` "`)
	if i <= 0 {
		return s, fmt.Errorf("want ACTOR \"TRANSITION\" FROM -> TO")
	}
	s.Actor, rest = rest[:i], rest[i+1:]
	q, err := strconv.QuotedPrefix(rest)
	if err != nil {
		return s, fmt.Errorf("bad transition name: %v", err)
	}
	s.Transition, _ = strconv.Unquote(q)
	rest, ok := strings.CutPrefix(rest[len(q):], " ")
	if !ok {
		return s, fmt.Errorf("want FROM -> TO after the transition")
	}
	s.From, s.To, ok = strings.Cut(rest, " -> ")
	if !ok || s.From == "" || s.To == "" {
		return s, fmt.Errorf("want FROM -> TO, got %q", rest)
	}
	if fmt.Sprintf("step %d %s %q %s -> %s", want, s.Actor, s.Transition, s.From, s.To) != line {
		return s, fmt.Errorf("not in the canonical form")
	}
	return s, nil
}
