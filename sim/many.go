package sim

import (
	"context"
	"fmt"
	"time"

	"github.com/xbcheck/xbcheck/checker"
)

// Config chooses a scheduler and its parameters.
type Config struct {
	// Scheduler is "random" (the default), "pct" or "clock".
	Scheduler string
	// PCTDepth (d, default 3) and PCTSteps (k, default 40) parametrise PCT.
	PCTDepth, PCTSteps int
	// FaultProb is the probability, per step, of injecting one of the
	// enabled faults; Faults are injections at chosen points.
	FaultProb float64
	Faults    []FaultPoint
	// Delays are the clock's delay distributions (see DefaultDelays).
	Delays Delays
}

// Schedulers are the names Config.Scheduler accepts.
var Schedulers = []string{"random", "pct", "clock"}

// New makes the scheduler.
func (c Config) New() (Scheduler, error) {
	if c.FaultProb < 0 || c.FaultProb > 1 {
		return nil, fmt.Errorf("fault probability %g: want 0 to 1", c.FaultProb)
	}
	switch c.Scheduler {
	case "", "random":
		return NewRandom(c.FaultProb, c.Faults), nil
	case "pct":
		d, k := c.PCTDepth, c.PCTSteps
		if d == 0 {
			d = 3
		}
		if k == 0 {
			k = 40
		}
		if d < 1 || k < 1 {
			return nil, fmt.Errorf("pct depth %d and steps %d: want at least 1", d, k)
		}
		return NewPCT(d, k, c.FaultProb, c.Faults), nil
	case "clock":
		return NewClock(c.Delays, c.FaultProb, c.Faults), nil
	}
	return nil, fmt.Errorf("unknown scheduler %q (want random, pct or clock)", c.Scheduler)
}

// A Summary describes many runs of one scenario.
type Summary struct {
	Scenario  string `json:"scenario"`
	Scheduler string `json:"scheduler"`
	// Seeds are FirstSeed, FirstSeed+1, ...: run i has seed FirstSeed+i.
	FirstSeed uint64 `json:"first_seed"`
	Runs      int    `json:"runs"`
	Steps     int64  `json:"steps"`
	// Ends counts the runs by how they ended (bound, stopped, violated).
	Ends       map[string]int    `json:"ends"`
	Properties []PropertySummary `json:"properties"`
	// Elapsed is wall-clock time; StepsPerSecond the throughput.
	Elapsed        time.Duration `json:"elapsed_ns"`
	StepsPerSecond float64       `json:"steps_per_second"`
	// VirtualMean is the mean virtual duration of a run under the clock.
	VirtualMean time.Duration `json:"virtual_mean_ns,omitempty"`
}

// A PropertySummary is how often one property failed.
type PropertySummary struct {
	Name     string       `json:"name"`
	Kind     checker.Kind `json:"kind"`
	Failures int          `json:"failures"`
	Rate     float64      `json:"rate"`
	// FirstSeed is the seed of the first failing run (valid when Failures > 0).
	FirstSeed uint64 `json:"first_seed,omitempty"`
}

// RunMany runs the scenario runs times with seeds seed, seed+1, ... and
// counts the failures of each property. onFail, when set, sees each
// failing run (the Result is reused afterwards: Clone it to keep it).
// When ctx is done it stops early; Summary.Runs says how many ran.
func (s *Sim) RunMany(ctx context.Context, sched Scheduler, seed uint64, runs, maxSteps int, onFail func(*Result)) *Summary {
	sum := &Summary{Scenario: s.Scenario, Scheduler: sched.Name(), FirstSeed: seed, Runs: runs, Ends: map[string]int{}}
	idx := map[string]int{}
	for _, p := range s.props {
		idx[p.Name] = len(sum.Properties)
		sum.Properties = append(sum.Properties, PropertySummary{Name: p.Name, Kind: p.Kind})
	}
	var virt time.Duration
	start := time.Now()
	for i := 0; i < runs; i++ {
		if i%1024 == 1023 && ctx != nil && ctx.Err() != nil {
			runs = i
			sum.Runs = i
			break
		}
		r := s.Run(sched, seed+uint64(i), maxSteps)
		sum.Steps += int64(len(r.Path))
		sum.Ends[r.End.String()]++
		if len(r.At) > 0 {
			virt += r.At[len(r.At)-1]
		}
		for _, v := range r.Violations {
			ps := &sum.Properties[idx[v.Property]]
			if ps.Failures == 0 {
				ps.FirstSeed = r.Seed
			}
			ps.Failures++
		}
		if onFail != nil && r.Failed() {
			onFail(r)
		}
	}
	sum.Elapsed = time.Since(start)
	if sum.Elapsed > 0 {
		sum.StepsPerSecond = float64(sum.Steps) / sum.Elapsed.Seconds()
	}
	for i := range sum.Properties {
		if runs > 0 {
			sum.Properties[i].Rate = float64(sum.Properties[i].Failures) / float64(runs)
		}
	}
	if runs > 0 {
		sum.VirtualMean = virt / time.Duration(runs)
	}
	return sum
}

// Failures is the number of runs in which some property failed.
func (sum *Summary) Failures() int { return sum.Ends[Violated.String()] }
