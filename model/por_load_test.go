package model_test

import (
	"path/filepath"
	"testing"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/scenario"
)

func init() { model.SetScenarioLoader(loadSystems) }

// loadSystems loads the scenario files glob matches: their systems, by
// file name.
func loadSystems(t *testing.T, glob string) map[string]*model.System {
	files, _ := filepath.Glob(glob)
	out := map[string]*model.System{}
	for _, f := range files {
		c, err := scenario.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = c.System
	}
	return out
}
