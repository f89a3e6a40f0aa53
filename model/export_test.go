package model

import "testing"

// PermanentPaths exposes permanentPaths to the external tests.
func (s *System) PermanentPaths() []bool { return s.permanentPaths() }

// Interpreted returns a copy of s without its compiled guards: every
// guard goes through the interpreter (the reference for compile.go).
func (s *System) Interpreted() *System {
	c := *s
	c.fast, c.gen = nil, nil
	return &c
}

// SetScenarioLoader lets the external tests hand the internal ones the
// compiled scenarios (package scenario imports model).
func SetScenarioLoader(f func(t *testing.T, glob string) map[string]*System) { loadScenarios = f }

// GenTest is genTest for the external tests: the Go condition "st[off]
// is in set".
func GenTest(off int, set [4]uint64) string { return genTest(off, byteSet(set)) }
