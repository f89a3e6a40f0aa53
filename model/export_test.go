package model

import "testing"

// PermanentPaths exposes permanentPaths to the external tests.
func (s *System) PermanentPaths() []bool { return s.permanentPaths() }

// SetScenarioLoader lets the external tests hand the internal ones the
// compiled scenarios (package scenario imports model).
func SetScenarioLoader(f func(t *testing.T, glob string) map[string]*System) { loadScenarios = f }
