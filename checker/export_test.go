package checker

import "runtime"

// SetTestHook sets the explorer's test hook (testHook) for the tests of
// package checker_test and returns a function that clears it.
func SetTestHook(f func(event string, depth int) bool) (restore func()) {
	testHook = f
	return func() { testHook = nil }
}

// BudgetFor returns a MemoryBudget under which the explorer's own
// structures may hold about search bytes, given what the process holds
// now (newBudget's split, solved for the total).
func BudgetFor(search int64) int64 {
	runtime.GC()
	mapped, inUse := goMemory()
	outside := int64(0)
	if rss := residentBytes(); rss > mapped {
		outside = rss - mapped
	}
	return int64((float64(search+inUse)/(1-gcShare) + float64(outside)) / (1 - outsideShare))
}
