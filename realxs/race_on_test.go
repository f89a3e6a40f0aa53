//go:build race

package realxs_test

// raceEnabled: the race detector slows the Go client down several
// times; timing comparisons are not asserted then.
const raceEnabled = true
