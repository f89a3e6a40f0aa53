package sim_test

import (
	"context"
	"math"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xbcheck/xbcheck/sim"
	"github.com/xbcheck/xbcheck/trace"
)

// TestFixedScenarios: thousands of random and PCT runs (with faults
// injected at random) of every scenario that expects ok find no
// violation; for the others, the same runs find the expected violation.
func TestFixedScenarios(t *testing.T) {
	const runs = 2000
	for _, c := range scenarios(t) {
		s := sim.New(c)
		total, steps, found := 0, int64(0), false
		for _, cfg := range []sim.Config{
			{Scheduler: "random", FaultProb: 0.05},
			{Scheduler: "pct", PCTDepth: 3, FaultProb: 0.05},
			{Scheduler: "pct", PCTDepth: 2, PCTSteps: 15, FaultProb: 0.05},
		} {
			sum := s.RunMany(context.Background(), mustScheduler(t, cfg), 1, runs, 1000, nil)
			total += sum.Runs
			steps += sum.Steps
			for _, p := range sum.Properties {
				switch {
				case c.Spec.Check.Expect == "ok" && p.Failures > 0:
					r := s.Run(mustScheduler(t, cfg), p.FirstSeed, 1000)
					tr, _ := s.Trace(r)
					t.Errorf("%s: %s fails in %d of %d %s runs; first (seed %d):\n%s", c.Spec.Name, p.Name, p.Failures, runs, sum.Scheduler, p.FirstSeed, tr.Text())
				case p.Name == c.Spec.Check.Violates && p.Failures > 0:
					found = true
				}
			}
		}
		if c.Spec.Check.Expect == "violation" && !found {
			t.Errorf("%s: %d runs never violate %s", c.Spec.Name, total, c.Spec.Check.Violates)
		}
		if c.Spec.Check.Expect == "ok" {
			t.Logf("%s: %d random and PCT runs (%d steps), no violation", c.Spec.Name, total, steps)
		}
	}
}

// TestRunTracesReplay: the trace of a run, failing or not, on any
// scheduler, formats, parses back byte for byte and replays to the same
// end.
func TestRunTracesReplay(t *testing.T) {
	for _, name := range []string{"seed2-qemu-bodge-4.2", "seed3-concurrent-attach-4.17", "vbd-remove-4.17", "driver-domain-dies-during-remove-4.17"} {
		c := load(t, name)
		s := sim.New(c)
		for _, sched := range sim.Schedulers {
			for seed := uint64(0); seed < 20; seed++ {
				r := s.Run(mustScheduler(t, sim.Config{Scheduler: sched, FaultProb: 0.2}), seed, 1000)
				tr, err := s.Trace(r)
				if err != nil {
					t.Fatal(err)
				}
				if tr.Seed != seed || !strings.HasPrefix(tr.Scheduler, sched) || (sched == "clock") != (tr.Timers == "clock") {
					t.Errorf("%s %s: trace header %q", name, sched, strings.SplitN(tr.Text(), "\n", 2)[0])
				}
				for _, form := range []string{"text", "json"} {
					data := []byte(tr.Text())
					if form == "json" {
						data, _ = tr.JSON()
					}
					back, err := trace.Parse(data)
					if err != nil {
						t.Fatalf("%s: %v", form, err)
					}
					again := []byte(back.Text())
					if form == "json" {
						again, _ = back.JSON()
					}
					if string(again) != string(data) {
						t.Errorf("%s %s seed %d: %s form changed on format, parse, format", name, sched, seed, form)
					}
					rep, err := sim.New(c).Replay(back)
					if err != nil {
						t.Fatalf("%s %s seed %d (%s): %v\n%s", name, sched, seed, form, err, tr.Text())
					}
					if err := rep.Agrees(back); err != nil {
						t.Errorf("%s %s seed %d (%s): %v", name, sched, seed, form, err)
					}
				}
			}
		}
	}
}

// bodgeRate is the failure rate of the 4.2 qemu bodge over n clocked runs
// with qemu's exit delay drawn from dist.
func bodgeRate(t *testing.T, dist string, n int) float64 {
	t.Helper()
	c := load(t, "seed2-qemu-bodge-4.2")
	d := sim.Delays{}
	if err := d.ParseDelay("qemu-exit=" + dist); err != nil {
		t.Fatal(err)
	}
	sum := sim.New(c).RunMany(context.Background(), mustScheduler(t, sim.Config{Scheduler: "clock", Delays: d}), 1, n, 1000, nil)
	return sum.Properties[0].Rate
}

// TestClockQemuExitDelay pins the direction: the longer qemu takes to exit
// after SIGHUP, the more often the 2 s bodge writes Closed under it. A qemu
// that always exits within 1 s never loses; one that always takes 3 s
// always does; with exponential delays the rate follows P(delay > 2 s) =
// exp(-2 s/mean).
func TestClockQemuExitDelay(t *testing.T) {
	const n = 4000
	if r := bodgeRate(t, "fixed(1s)", n); r != 0 {
		t.Errorf("qemu exiting after 1 s: failure rate %.3f; want 0", r)
	}
	if r := bodgeRate(t, "fixed(3s)", n); r != 1 {
		t.Errorf("qemu exiting after 3 s: failure rate %.3f; want 1", r)
	}
	prev := -1.0
	for _, mean := range []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second} {
		r := bodgeRate(t, "exp("+mean.String()+")", n)
		theory := math.Exp(-2 / mean.Seconds())
		t.Logf("qemu exit ~ exp(%s): bodge failure rate %.3f over %d runs (P(delay > 2 s) = %.3f)", mean, r, n, theory)
		if r <= prev {
			t.Errorf("exp(%s): failure rate %.3f is not above the shorter delay's %.3f", mean, r, prev)
		}
		if d := r - theory; d > 0.05 || d < -0.05 {
			t.Errorf("exp(%s): failure rate %.3f far from P(delay > 2 s) = %.3f", mean, r, theory)
		}
		prev = r
	}
}

// TestClockReplayChecksDeadlines: a clocked trace whose timer fires before
// its deadline is refused.
func TestClockReplayChecksDeadlines(t *testing.T) {
	c := load(t, "seed2-qemu-bodge-4.2")
	s := sim.New(c)
	sched := mustScheduler(t, sim.Config{Scheduler: "clock"})
	for seed := uint64(0); seed < 100; seed++ {
		r := s.Run(sched, seed, 1000)
		if !r.Failed() {
			continue
		}
		tr, _ := s.Trace(r)
		i := strings.Index(tr.Text(), `"timeout (2 s)"`)
		if i < 0 {
			t.Fatalf("no bodge timer in\n%s", tr.Text())
		}
		step := strings.Count(tr.Text()[:i], "\nstep ")
		if tr.Steps[step-1].Transition != "timeout (2 s)" {
			t.Fatalf("step %d is %q", step, tr.Steps[step-1].Transition)
		}
		tr.Steps[step-1].At -= time.Second
		_, err := sim.New(c).Replay(tr)
		if d, ok := err.(*sim.Divergence); !ok || d.Step != step || !strings.Contains(d.Msg, "before its deadline") {
			t.Errorf("early timer: err = %v; want a divergence at step %d", err, step)
		}
		return
	}
	t.Fatal("no failing clocked run in 100 seeds")
}

// TestFaultPoints: a fault at a chosen point is injected at the first step
// at or after it where it is enabled, and nowhere else when FaultProb is 0.
func TestFaultPoints(t *testing.T) {
	c := load(t, "driver-domain-dies-during-remove-4.17")
	s := sim.New(c)
	for _, at := range []int{1, 4, 6} {
		fp, err := sim.ParseFaultPoint("domain-destroy:D@" + strconv.Itoa(at))
		if err != nil {
			t.Fatal(err)
		}
		sched := mustScheduler(t, sim.Config{Faults: []sim.FaultPoint{fp}})
		for seed := uint64(0); seed < 20; seed++ {
			r := s.Run(sched, seed, 1000)
			var where []int
			for i, id := range r.Path {
				if c.System.Trans[id].Fault != "" {
					where = append(where, i+1)
				}
			}
			if len(where) != 1 || where[0] != at {
				t.Errorf("fault point @%d seed %d: faults at steps %v", at, seed, where)
			}
		}
	}
	if _, err := sim.ParseFaultPoint("eagain"); err == nil {
		t.Error("a fault point without a step was accepted")
	}
}

// TestReduce: a reduced run keeps its violation, is no longer, and losing
// any one of its steps loses the violation.
func TestReduce(t *testing.T) {
	c := load(t, "seed3-concurrent-attach-4.17")
	s := sim.New(c)
	sched := mustScheduler(t, sim.Config{Scheduler: "random"})
	for seed := uint64(0); seed < 200; seed++ {
		r := s.Run(sched, seed, 1000).Clone()
		if !r.Failed() {
			continue
		}
		red := s.Reduce(r)
		if len(red.Path) > len(r.Path) || red.Violations[0].Property != r.Violations[0].Property {
			t.Fatalf("seed %d: reduced %d → %d steps, %v", seed, len(r.Path), len(red.Path), red.Violations)
		}
		for i := range red.Path {
			drop := append(append([]int32(nil), red.Path[:i]...), red.Path[i+1:]...)
			sc := &sim.Schedule{IDs: drop}
			got := s.Run(sc, 0, len(drop))
			if got.Failed() && sc.Diverged == 0 && len(got.Path) == len(drop) {
				t.Errorf("seed %d: dropping step %d of the reduced run keeps the violation", seed, i+1)
			}
		}
	}
}

// BenchmarkRun measures simulation throughput on the seed scenarios:
// steps per second and allocations per step, random scheduler, one core.
func BenchmarkRun(b *testing.B) {
	for _, name := range []string{"seed1-backend-gone-4.10", "seed2-qemu-bodge-4.2", "seed3-concurrent-attach-4.17", "seed4-xend-vfb-first", "vbd-remove-4.17"} {
		for _, sched := range sim.Schedulers {
			b.Run(name+"/"+sched, func(b *testing.B) {
				c := load(b, name)
				s := sim.New(c)
				sc := mustScheduler(b, sim.Config{Scheduler: sched, FaultProb: 0.05})
				s.Run(sc, 0, 1000) // warm the buffers
				var ms0, ms1 runtime.MemStats
				runtime.ReadMemStats(&ms0)
				steps := 0
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					steps += len(s.Run(sc, uint64(i), 1000).Path)
				}
				b.StopTimer()
				runtime.ReadMemStats(&ms1)
				b.ReportMetric(float64(steps)/b.Elapsed().Seconds(), "steps/s")
				b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(steps), "allocs/step")
				b.ReportMetric(float64(steps)/float64(b.N), "steps/run")
			})
		}
	}
}
