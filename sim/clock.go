package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/xbcheck/xbcheck/model"
)

// A Dist is a distribution of delays.
type Dist struct {
	// Kind is "fixed" (always A), "uniform" (between A and B), "exp"
	// (exponential with mean A) or "lognormal" (median A, shape Sigma).
	Kind  string
	A, B  time.Duration
	Sigma float64
}

// ParseDist reads a distribution: "2s" or "fixed(2s)", "uniform(1s,3s)",
// "exp(500ms)", "lognormal(500ms,1.0)".
func ParseDist(s string) (Dist, error) {
	bad := func(why string) (Dist, error) {
		return Dist{}, fmt.Errorf("distribution %q: %s (want fixed(D), uniform(D,D), exp(D) or lognormal(D,SIGMA))", s, why)
	}
	kind, args, ok := strings.Cut(s, "(")
	if !ok {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return bad("not a duration")
		}
		return Dist{Kind: "fixed", A: d}, nil
	}
	args, ok = strings.CutSuffix(args, ")")
	if !ok {
		return bad("missing )")
	}
	parts := strings.Split(args, ",")
	dur := func(i int) (time.Duration, bool) {
		d, err := time.ParseDuration(strings.TrimSpace(parts[i]))
		return d, err == nil && d >= 0
	}
	switch kind {
	case "fixed", "exp":
		a, ok := dur(0)
		if len(parts) != 1 || !ok {
			return bad("want one duration")
		}
		return Dist{Kind: kind, A: a}, nil
	case "uniform":
		if len(parts) != 2 {
			return bad("want two durations")
		}
		a, ok1 := dur(0)
		b, ok2 := dur(1)
		if !ok1 || !ok2 || b < a {
			return bad("want two durations, the first not larger")
		}
		return Dist{Kind: kind, A: a, B: b}, nil
	case "lognormal":
		if len(parts) != 2 {
			return bad("want a median and a shape")
		}
		a, ok := dur(0)
		sg, err := strconv.ParseFloat(strings.TrimSpace(parts[1]), 64)
		if !ok || a <= 0 || err != nil || sg < 0 || math.IsInf(sg, 0) || math.IsNaN(sg) {
			return bad("want a positive median and a shape >= 0")
		}
		return Dist{Kind: kind, A: a, Sigma: sg}, nil
	}
	return bad("unknown kind " + strconv.Quote(kind))
}

func (d Dist) String() string {
	switch d.Kind {
	case "uniform":
		return fmt.Sprintf("uniform(%s,%s)", d.A, d.B)
	case "exp":
		return fmt.Sprintf("exp(%s)", d.A)
	case "lognormal":
		return fmt.Sprintf("lognormal(%s,%g)", d.A, d.Sigma)
	}
	return fmt.Sprintf("fixed(%s)", d.A)
}

// Sample draws one delay.
func (d Dist) Sample(r *rand.Rand) time.Duration {
	switch d.Kind {
	case "uniform":
		return d.A + time.Duration(r.Int64N(int64(d.B-d.A)+1))
	case "exp":
		return time.Duration(r.ExpFloat64() * float64(d.A))
	case "lognormal":
		return time.Duration(float64(d.A) * math.Exp(d.Sigma*r.NormFloat64()))
	}
	return d.A
}

// Delays gives the delay distribution of each class of step. A step's
// class is "qemu-exit" for qemu's exit after SIGHUP (the model's Slow
// steps), else its actor's kind ("toolstack", "frontend", "backend",
// "qemu", "daemon", "lifecycle"); a class not in the map takes "step".
type Delays map[string]Dist

// DelayClasses are the class names Delays understands.
var DelayClasses = []string{"step", "qemu-exit", "toolstack", "frontend", "backend", "qemu", "daemon", "lifecycle"}

// DefaultDelays are illustrative, not measured: a driver's or the
// toolstack's reaction takes about a millisecond (exponential), and qemu
// usually exits half a second after SIGHUP but sometimes takes seconds
// (log-normal, median 500 ms, shape 1: P(> 2 s) ≈ 8%).
func DefaultDelays() Delays {
	return Delays{
		"step":      {Kind: "exp", A: time.Millisecond},
		"qemu-exit": {Kind: "lognormal", A: 500 * time.Millisecond, Sigma: 1},
	}
}

// ParseDelay reads "CLASS=DIST" into d.
func (d Delays) ParseDelay(s string) error {
	class, dist, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("delay %q: want CLASS=DIST", s)
	}
	known := false
	for _, c := range DelayClasses {
		known = known || c == class
	}
	if !known {
		return fmt.Errorf("delay %q: unknown class %q (known: %s)", s, class, strings.Join(DelayClasses, ", "))
	}
	x, err := ParseDist(dist)
	if err != nil {
		return err
	}
	d[class] = x
	return nil
}

func (d Delays) String() string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + d[k].String()
	}
	return strings.Join(parts, ";")
}

// Clock is the virtual-clock scheduler: a discrete-event simulation in
// which a timer fires at its deadline (Transition.Timeout after its actor
// entered the timer's location) and every other step at the delay its
// class draws after it became enabled; the earliest step goes first.
// Faults take no time; they follow the fault policy.
type Clock struct {
	name   string
	delays Delays
	pcg    *rand.PCG
	r      *rand.Rand
	faults faults

	sys     *model.System
	class   []Dist // per transition
	now     time.Duration
	due     []time.Duration // per transition, while continuously enabled
	seen    []uint32        // per transition: the pick generation it was last enabled in
	gen     uint32
	entered []time.Duration // per actor: when it entered its location
	loc     []model.LocID   // per actor: its location at the last pick
	initLoc []model.LocID
}

// NewClock returns a clock scheduler with the given delays (missing
// classes fall back to "step", then to DefaultDelays).
func NewClock(delays Delays, faultProb float64, points []FaultPoint) *Clock {
	d := DefaultDelays()
	for k, v := range delays {
		d[k] = v
	}
	p := seedStream(0)
	c := &Clock{delays: d, pcg: p, r: rand.New(p), faults: newFaults(faultProb, points)}
	c.name = "clock(" + d.String() + c.faults.suffix() + ")"
	return c
}

// Name implements Scheduler.
func (c *Clock) Name() string { return c.name }

// Now implements Clocked.
func (c *Clock) Now() time.Duration { return c.now }

// Start implements Scheduler.
func (c *Clock) Start(sys *model.System, seed uint64) {
	c.pcg.Seed(seed, 0x9e3779b97f4a7c15)
	c.faults.start()
	if c.sys != sys {
		c.sys = sys
		c.class = make([]Dist, len(sys.Trans))
		for i := range sys.Trans {
			c.class[i] = c.classOf(&sys.Trans[i])
		}
		c.due = make([]time.Duration, len(sys.Trans))
		c.seen = make([]uint32, len(sys.Trans))
		c.entered = make([]time.Duration, len(sys.Actors))
		c.loc = make([]model.LocID, len(sys.Actors))
		c.initLoc = make([]model.LocID, len(sys.Actors))
		init := sys.Initial()
		for a := range c.initLoc {
			c.initLoc[a] = sys.LocOf(init, a)
		}
	}
	c.now = 0
	clear(c.seen)
	c.gen = 1
	clear(c.entered)
	copy(c.loc, c.initLoc)
}

func (c *Clock) classOf(t *model.Transition) Dist {
	name := c.sys.Actors[t.Actor].Kind.String()
	if t.Slow {
		name = "qemu-exit"
	}
	if d, ok := c.delays[name]; ok {
		return d
	}
	return c.delays["step"]
}

// Pick implements Scheduler.
func (c *Clock) Pick(e *Enabled) int {
	sys := c.sys
	for a := range c.loc {
		if l := sys.LocOf(e.State, a); l != c.loc[a] {
			c.loc[a], c.entered[a] = l, c.now
		}
	}
	c.gen++
	best := -1
	for _, i := range e.Plain() {
		id := e.ID(i)
		if c.seen[id] != c.gen-1 {
			t := &sys.Trans[id]
			if t.Timeout > 0 {
				c.due[id] = max(c.entered[t.Actor]+time.Duration(t.Timeout)*time.Millisecond, c.now)
			} else {
				c.due[id] = c.now + c.class[id].Sample(c.r)
			}
		}
		c.seen[id] = c.gen
		if best < 0 || c.due[id] < c.due[e.ID(best)] {
			best = i
		}
	}
	if i, ok := c.faults.pick(e, c.r); ok {
		best = i
	} else {
		c.now = max(c.now, c.due[e.ID(best)])
	}
	// The actor that moves starts afresh: its steps enabled afterwards
	// get new delays.
	for _, ti := range sys.Actors[e.Transition(best).Actor].Trans {
		c.seen[ti] = 0
	}
	return best
}
