package observe_test

import (
	"bytes"
	"context"
	"os"
	osexec "os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/realxs/exec"
	"github.com/xbcheck/xbcheck/realxs/observe"
	"github.com/xbcheck/xbcheck/realxs/xstest"
	"github.com/xbcheck/xbcheck/scenario"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// blkbackBin builds the test program once.
func blkbackBin(t *testing.T) string {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "xbcheck-blkback")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "blkback")
		out, err := osexec.Command("go", "build", "-o", binPath, "./testdata/blkback").CombinedOutput()
		if err != nil {
			buildErr = err
			t.Logf("%s", out)
		}
	})
	if buildErr != nil {
		t.Fatalf("building testdata/blkback: %v", buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// observedRun plays libxl and blkfront with the executor while the test
// program plays blkback against the same daemon.
func observedRun(t *testing.T, bug bool) *observe.Report {
	c, err := scenario.Load("../../scenarios/vbd-add-4.17.toml")
	if err != nil {
		t.Fatal(err)
	}
	sys := c.System
	d := xstest.Start(t, xstest.Options{})
	client := d.Dial(t)
	bin := blkbackBin(t)
	const root = "/observed"
	be := sys.Paths[sys.Devices[0].BEDir].Name
	args := []string{"-socket", d.SocketPath, "-root", root, "-be", be}
	if bug {
		args = append(args, "-bug")
	}
	var stderr bytes.Buffer
	cmd := osexec.Command(bin, args...)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("blkback: %s", stderr.String())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var log bytes.Buffer
	rep, err := observe.Run(ctx, exec.Live(client), root, sys, observe.Options{
		Observed: []string{"blkback(xvda)"}, Settle: time.Second, Log: &log,
	})
	if err != nil {
		t.Fatalf("observe.Run: %v\n%s", err, log.String())
	}
	t.Logf("run:\n%s", log.String())
	if _, err := client.Read(ctx, root); err == nil {
		t.Errorf("the run left %s behind", root)
	}
	return rep
}

// Reference: the "live hosts": a real component (here a test
// program playing blkback) acts, and every change it makes is a
// transition the model allows.
func TestObservedBlkback(t *testing.T) {
	rep := observedRun(t, false)
	if rep.Divergence != nil {
		t.Fatal(rep.Divergence)
	}
	observed := 0
	for _, s := range rep.Steps {
		if s.Observed {
			observed++
		}
	}
	if observed < 2 || !rep.Final {
		t.Errorf("%d observed steps, final=%v; want at least 2 (InitWait, Connected) and a final state", observed, rep.Final)
	}
}

// A blkback that skips InitWait is caught at its first change.
func TestObservedBlkbackBug(t *testing.T) {
	rep := observedRun(t, true)
	d := rep.Divergence
	if d == nil || d.What != "observed" {
		t.Fatalf("divergence %v; want an observed change the model does not allow", d)
	}
	t.Logf("%v", d)
}

var _ = model.Absent
