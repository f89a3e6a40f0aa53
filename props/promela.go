package props

import (
	"fmt"
	"strings"

	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/model"
)

func present(v func(int) string, o int) string { return fmt.Sprintf("(%s != 0)", v(o)) }
func absent(v func(int) string, o int) string  { return fmt.Sprintf("(%s == 0)", v(o)) }

// pmlCreated is "node p is missing before the step and there after".
func pmlCreated(s *model.System, pre, post func(int) string, p model.PathID) string {
	return fmt.Sprintf("(%s && %s)", absent(pre, s.PathOffset(p)), present(post, s.PathOffset(p)))
}

// Promela returns the SPIN translation of s with the named properties as
// assertions (each Def's promela) and, when deadlock is among them, SPIN's
// end-state check; it fails for a property with no translation (the
// eventually-properties). multiCore is model.System.Promela's.
func Promela(s *model.System, names []string, multiCore bool) (string, error) {
	var checks []model.PromelaCheck
	deadlock := false
	for _, n := range names {
		d, ok := Defs[n]
		switch {
		case !ok:
			return "", fmt.Errorf("unknown property %q", n)
		case d.Kind == checker.Deadlock:
			deadlock = true
			continue
		}
		f, by := d.promela, d.by
		if f == nil {
			return "", fmt.Errorf("promela: %s (%s) has no translation", n, d.Kind)
		}
		checks = append(checks, model.PromelaCheck{Name: n, Step: func(t, body *model.Transition, pre, post func(int) string) string {
			if !by.judges(s, t) {
				return ""
			}
			return strings.Join(f(s, t, body, pre, post), " && ")
		}})
	}
	return s.Promela(checks, deadlock, multiCore)
}
