package checker_test

import (
	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/model"
)

// The model provides the checker's reductions through the declared
// interfaces: these fail to compile if a method's shape drifts.
var (
	_ checker.Model             = (*model.System)(nil)
	_ checker.Symmetric         = (*model.System)(nil)
	_ checker.TransitionCounter = (*model.System)(nil)
	_ checker.PartialOrder      = (*model.POR)(nil)
)
