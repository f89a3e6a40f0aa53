package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/xbcheck/xbcheck/checker"
)

// ckFlags are --checkpoint, --checkpoint-every and --resume.
type ckFlags struct {
	dir    string
	every  time.Duration
	resume string
}

// validate checks the flags and makes the checkpoint directory.
func (c *ckFlags) validate() error {
	if c.every <= 0 {
		return fmt.Errorf("--checkpoint-every %v: want a positive duration (e.g. 30s, 10m)", c.every)
	}
	if c.resume != "" {
		fi, err := os.Stat(c.resume)
		if err != nil {
			return fmt.Errorf("--resume %s: %v", c.resume, unwrapPath(err))
		}
		if !fi.IsDir() {
			return fmt.Errorf("--resume %s: not a directory (want the --checkpoint DIR of the interrupted run)", c.resume)
		}
		if c.dir == "" {
			c.dir = c.resume
		}
	}
	if c.dir != "" {
		if err := os.MkdirAll(c.dir, 0o755); err != nil {
			return fmt.Errorf("--checkpoint %s: %v", c.dir, unwrapPath(err))
		}
	}
	return nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// ckFile is the checkpoint file of scenario name in dir.
func ckFile(dir, name string) string { return filepath.Join(dir, name+".xbckpt") }

// options sets the checkpoint options of one scenario's check. A scenario
// without a checkpoint in the --resume DIR (one that ended, or never ran,
// before the interrupted run stopped) is checked from the start, and note
// says so.
func (c ckFlags) options(opt *checker.Options, file, name string) (note string, err error) {
	if c.dir == "" && c.resume == "" {
		return "", nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return "", unwrapPath(err)
	}
	sum := sha256.Sum256(data)
	opt.Identity = fmt.Sprintf("scenario %q (sha256:%s)", name, hex.EncodeToString(sum[:8]))
	opt.Version = version()
	if c.dir != "" {
		opt.Checkpoint, opt.CheckpointEvery = ckFile(c.dir, name), c.every
	}
	if c.resume != "" {
		p := ckFile(c.resume, name)
		_, err := os.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return fmt.Sprintf("no checkpoint of this scenario in %s: checked from the start", c.resume), nil
		case err != nil:
			return "", fmt.Errorf("--resume %s: %v", c.resume, err)
		}
		opt.Resume = p
	}
	return "", nil
}

// version names this xbcheck for checkpoints: the module version and the
// commit it was built from, when the build recorded them, and the digest
// of the executable, so that any other build is told apart.
var version = sync.OnceValue(func() string {
	v := "(unknown)"
	if bi, ok := debug.ReadBuildInfo(); ok {
		v = bi.Main.Version
		var rev, mod string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					mod = "+modified"
				}
			}
		}
		if rev != "" {
			v += " " + rev[:min(12, len(rev))] + mod
		}
	}
	if exe, err := os.Executable(); err == nil {
		if f, err := os.Open(exe); err == nil {
			h := sha256.New()
			if _, err := io.Copy(h, f); err == nil {
				v += " (binary sha256:" + hex.EncodeToString(h.Sum(nil)[:6]) + ")"
			}
			f.Close()
		}
	}
	return v
})

// progressLine is a progress report: the depth being expanded and how far,
// the states, the rate, the memory against the budget, the last checkpoint.
func progressLine(p checker.Progress, checkpointing bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "depth %d (%d of %d expanded), %d states, %d transitions, %.0f states/s, memory %s",
		p.Depth, p.Expanded, p.Frontier, p.States, p.Transitions, p.Rate, checker.MB(p.Memory))
	if p.Budget > 0 {
		fmt.Fprintf(&b, " of %s", checker.MB(p.Budget))
	}
	if checkpointing {
		if c := p.Checkpoint; c != nil {
			fmt.Fprintf(&b, ", last checkpoint %s ago (depth %d)", time.Since(c.Time).Round(time.Second), c.Depth)
		} else {
			b.WriteString(", no checkpoint yet")
		}
	}
	return b.String()
}
