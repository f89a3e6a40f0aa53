// Package bench holds the checker's benchmark family: N disks of one
// guest attached and then detached concurrently by libxl 4.17, with blkback
// and blkfront, for N = 1, 2, 3, ... The state space grows fast with N.
package bench

import (
	"github.com/xbcheck/xbcheck/bench/family"
	"github.com/xbcheck/xbcheck/scenario"
)

// AttachDetach returns the scenario with n disks: every disk is added and,
// once its add has completed, removed (operation add-remove), all disks
// concurrently. The properties are the safety ones that hold and deadlock
// freedom, so the checker explores the whole state space.
func AttachDetach(n int) (*scenario.Compiled, error) { return family.Build(n) }

// AttachDetachSource is the scenario file of AttachDetach(n), for running
// the family through xbcheck.
func AttachDetachSource(n int) string { return family.Source(n) }
