package model

// PermanentPaths exposes permanentPaths to the external tests.
func (s *System) PermanentPaths() []bool { return s.permanentPaths() }
