//go:build !race

package realxs_test

const raceEnabled = false
