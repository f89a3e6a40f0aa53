package checker

import (
	"sync"
	"sync/atomic"
	"time"
)

// Progress is a report on a running check (Options.Progress).
type Progress struct {
	// Stats are those of the last completed level; Depth is the level
	// being expanded.
	Stats
	// Frontier is the number of states at Depth, and Expanded how many of
	// them have been expanded so far.
	Frontier, Expanded int
	// Rate is the number of states expanded per second since the previous
	// report (since the check started, for the first).
	Rate float64
	// Memory is what the process holds (ProcessMemory), and Budget is
	// Options.MemoryBudget (0: none).
	Memory, Budget int64
	// Checkpoint is the last checkpoint written by this check, or nil.
	Checkpoint *CheckpointInfo
}

// progress reports on a check from its own goroutine, every
// Options.ProgressEvery, so that a long level does not silence it.
type progress struct {
	fn       func(Progress)
	budget   int64
	expanded atomic.Int64 // states of the current level expanded so far

	mu         sync.Mutex
	stats      Stats
	before     int64 // states expanded before the current level
	frontier   int
	ckpt       *CheckpointInfo
	lastT      time.Time
	lastDone   int64
	primed     bool // lastDone is set
	stop, done chan struct{}
}

// startProgress starts the reports, or returns nil when opt asks for none.
func startProgress(opt Options, start time.Time) *progress {
	if opt.Progress == nil {
		return nil
	}
	p := &progress{fn: opt.Progress, budget: opt.MemoryBudget, lastT: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		t := time.NewTicker(opt.progressEvery())
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.report(start)
			}
		}
	}()
	return p
}

// level records a level boundary: s is about to expand its frontier.
func (p *progress) level(s *search, stats *Stats) {
	p.mu.Lock()
	p.stats = *stats
	p.stats.Transitions = s.transitions
	p.stats.Reduced = int(s.reduced)
	p.before = int64(s.levelStart)
	p.frontier = s.curN
	p.expanded.Store(0)
	if !p.primed {
		p.lastDone, p.primed = p.before, true
	}
	p.mu.Unlock()
}

// checkpoint records a checkpoint written.
func (p *progress) checkpoint(info CheckpointInfo) {
	p.mu.Lock()
	p.ckpt = &info
	p.mu.Unlock()
}

func (p *progress) report(start time.Time) {
	p.mu.Lock()
	now := time.Now()
	pr := Progress{Stats: p.stats, Frontier: p.frontier, Expanded: int(p.expanded.Load()), Budget: p.budget, Checkpoint: p.ckpt}
	pr.Elapsed = now.Sub(start)
	done := p.before + int64(pr.Expanded)
	if d := now.Sub(p.lastT).Seconds(); d > 0 && done >= p.lastDone {
		pr.Rate = float64(done-p.lastDone) / d
	}
	p.lastT, p.lastDone = now, done
	p.mu.Unlock()
	pr.Memory = ProcessMemory()
	p.fn(pr)
}

// close stops the reports; none is made after it returns.
func (p *progress) close() {
	if p == nil {
		return
	}
	close(p.stop)
	<-p.done
}
