package bench

import (
	"testing"

	"github.com/xbcheck/xbcheck/checker"
)

// TestAttachDetachCounts pins the state counts of the benchmark family
// (the SPIN comparison and every reduction are checked against them).
func TestAttachDetachCounts(t *testing.T) {
	for n, want := range map[int]int{1: 157, 2: 16488} {
		c, err := AttachDetach(n)
		if err != nil {
			t.Fatal(err)
		}
		res := checker.Check(c.System, c.Properties, checker.Options{})
		if res.Verdict != checker.Ok || res.Stats.States != want {
			t.Errorf("N=%d: verdict %s, %d states; want ok, %d", n, res.Verdict, res.Stats.States, want)
		}
	}
}

func BenchmarkAttachDetach(b *testing.B) {
	for _, n := range []int{1, 2, 3} {
		c, err := AttachDetach(n)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(map[int]string{1: "N=1", 2: "N=2", 3: "N=3"}[n], func(b *testing.B) {
			var res checker.Result
			for i := 0; i < b.N; i++ {
				res = checker.Check(c.System, c.Properties, checker.Options{})
			}
			b.ReportMetric(float64(res.Stats.States), "states")
			b.ReportMetric(float64(res.Stats.States)*float64(b.N)/b.Elapsed().Seconds(), "states/s")
		})
	}
}
