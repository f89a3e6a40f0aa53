package checker

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// A crew runs the phases of the search's levels on its workers: worker 0
// is the goroutine that calls run, the others are goroutines started
// once per search, which between phases wait for the next one by
// spinning for up to crewSpin (yielding their processor to any other
// goroutine), then by sleeping. A level's phases follow each other within
// microseconds, and a goroutine started for each phase (as the explorer
// did before) began its work after the scheduler woke a thread for it:
// on the N=3 family with two workers, 15 to 20 ms of the expand phases'
// 690 (80 levels) went by before the later of the two started, and
// about as much in each of the other phases; on a virtual machine,
// waking a sleeping thread is an interrupt sent between processors.
type crew struct {
	n    int
	job  func(w int) // the phase's work (set before gen moves)
	stop bool        // the search is over (set before gen moves)
	gen  atomic.Uint32
	// left is the number of workers other than 0 still in the phase, and
	// crewWaiting when worker 0 sleeps until the last of them is done:
	// one word, so that the last one's decrement alone decides whether it
	// wakes worker 0 (with a flag of its own, a worker slow to look at
	// it after its decrement could see the flag of the next phase).
	left   atomic.Int32
	done   chan struct{}
	mates  []mate
	exited sync.WaitGroup
}

// A mate is a worker other than 0.
type mate struct {
	sleeping atomic.Bool
	wake     chan struct{}
	_        [64 - 16]byte // each on its own cache line
}

// crewHook, when not nil, is called by a worker after its decrement of
// left (TestCrew delays some workers there).
var crewHook func()

// crewWaiting is crew.left's flag.
const crewWaiting = 1 << 30

// crewSpin is how long a worker waits for the next phase, spinning,
// before it sleeps: longer than the serial work between two phases
// (what the explorer does between them), short beside a level. On the
// N = 3 family with two workers, the 159 gaps between parallel phases
// took 32 µs at the median, 229 at the 90th percentile and 771 at most;
// with 100 µs here, the mate slept in 39 of them, and the phases'
// starts waited for it 16 to 20 ms in all (four runs), against 5 to 15
// with 1 ms.
const crewSpin = time.Millisecond

func newCrew(n int) *crew {
	c := &crew{n: n, done: make(chan struct{}, 1), mates: make([]mate, max(0, n-1))}
	for i := range c.mates {
		c.mates[i].wake = make(chan struct{}, 1)
		c.exited.Add(1)
		go c.mate(i + 1)
	}
	return c
}

// run runs f(w) for every worker w, f(0) on the calling goroutine, and
// returns when all have returned.
func (c *crew) run(f func(w int)) {
	if c.n <= 1 {
		f(0)
		return
	}
	c.job = f
	c.left.Store(int32(c.n - 1))
	c.start()
	f(0)
	if c.left.Load() != 0 && !spinUntil(func() bool { return c.left.Load() == 0 }) {
		if c.left.Or(crewWaiting) != 0 {
			<-c.done // from the mate whose decrement left crewWaiting
		}
	}
	c.job = nil
}

// start moves to the next phase and wakes the mates that sleep.
func (c *crew) start() {
	c.gen.Add(1)
	for i := range c.mates {
		if m := &c.mates[i]; m.sleeping.CompareAndSwap(true, false) {
			m.wake <- struct{}{}
		}
	}
}

// close ends the mates' goroutines.
func (c *crew) close() {
	if c.n <= 1 {
		return
	}
	c.stop = true
	c.start()
	c.exited.Wait()
}

// mate is worker w's goroutine: each phase's job, until the search ends.
func (c *crew) mate(w int) {
	defer c.exited.Done()
	m := &c.mates[w-1]
	seen := uint32(0) // (not gen now: the first phase may have started)
	for {
		for c.gen.Load() == seen {
			if spinUntil(func() bool { return c.gen.Load() != seen }) {
				break
			}
			m.sleeping.Store(true)
			if c.gen.Load() != seen && m.sleeping.CompareAndSwap(true, false) {
				break
			}
			// A start saw this worker sleeping (and cleared the flag): it
			// sends a wake-up, which may be late, from an earlier phase's
			// start (then the loop waits again).
			<-m.wake
		}
		seen = c.gen.Load()
		if c.stop {
			return
		}
		c.job(w)
		left := c.left.Add(-1)
		if crewHook != nil {
			crewHook() // a worker slow after its decrement (tests)
		}
		if left == crewWaiting {
			c.done <- struct{}{}
		}
	}
}

// spinUntil calls cond, yielding the processor between calls, until it
// holds (true) or crewSpin has passed (false).
func spinUntil(cond func() bool) bool {
	deadline := time.Now().Add(crewSpin)
	for i := 1; ; i++ {
		runtime.Gosched()
		if cond() {
			return true
		}
		if i%16 == 0 && time.Now().After(deadline) {
			return false
		}
	}
}
