package bench

import (
	"fmt"

	"github.com/xbcheck/xbcheck/bench/family"
	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/scenario"
)

//go:generate go run ./internal/genguards

// MaxGenerated is the largest N whose guards are generated into this
// package (guardsN_gen.go): the Ns that make bench measures against SPIN.
const MaxGenerated = family.MaxGenerated

// generated holds the generated guards per N (guardsN_gen.go, which
// family.Generate writes).
var generated = map[int]model.Generated{}

// AttachDetachGenerated is AttachDetach(n) with its guards compiled to Go
// (model.System.WithGenerated), as SPIN compiles the family's Promela to
// C: the same states, transitions and verdicts, found faster. An error
// for an n without generated guards, or guards generated from another
// version of the model (go generate ./bench makes them again).
func AttachDetachGenerated(n int) (*scenario.Compiled, error) {
	c, err := AttachDetach(n)
	if err != nil {
		return nil, err
	}
	g, ok := generated[n]
	if !ok {
		return nil, fmt.Errorf("bench: no generated guards for N = %d (at most %d)", n, MaxGenerated)
	}
	sys, err := c.System.WithGenerated(g)
	if err != nil {
		return nil, fmt.Errorf("bench: N = %d: %v (go generate ./bench)", n, err)
	}
	cc := *c
	cc.System = sys
	return &cc, nil
}
