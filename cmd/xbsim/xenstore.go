package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/xbcheck/xbcheck/realxs"
	"github.com/xbcheck/xbcheck/realxs/exec"
	"github.com/xbcheck/xbcheck/scenario"
	"github.com/xbcheck/xbcheck/trace"
)

// xsFlags are replay's flags for performing the trace against a xenstore
// (package realxs/exec).
type xsFlags struct {
	xenstore, root, device, confirm string
	domain                          int
	dryRun, live                    bool
}

func addXenstoreFlags(fs *flag.FlagSet) *xsFlags {
	f := &xsFlags{}
	fs.StringVar(&f.xenstore, "xenstore", "", "also perform the trace against the xenstored `SOCKET` or /dev/xen/xenbus, and compare every step with the model")
	fs.StringVar(&f.root, "root", "", "with --xenstore: the `PATH` the model's paths are mapped below (default /xbsim-<pid>); alone: perform the trace on the model's own store")
	fs.BoolVar(&f.dryRun, "dry-run", false, "print every operation the xenstore run would perform, and its digest, and do nothing")
	fs.BoolVar(&f.live, "live", false, "use the host's own paths (no root); needs --domain, --device and --confirm DIGEST from a --dry-run")
	fs.IntVar(&f.domain, "domain", -1, "with --live: the guest's domain `ID`")
	fs.StringVar(&f.device, "device", "", "with --live: the scenario's device `NAME`")
	fs.StringVar(&f.confirm, "confirm", "", "with --live: the `DIGEST` the dry run printed")
	return f
}

// run performs the trace against the xenstore when asked to. It returns
// the report, the text for stdout and the exit status (0 when not asked,
// 1 on a divergence, 2 on errors).
func (f *xsFlags) run(c *scenario.Compiled, tr *trace.Trace, stderr io.Writer) (*exec.Report, string, int) {
	if f.xenstore == "" && f.root == "" && !f.dryRun && !f.live {
		return nil, "", 0
	}
	var live *exec.LiveTarget
	if f.live {
		if f.domain < 0 || f.device == "" {
			fmt.Fprintln(stderr, "xbsim replay: --live needs --domain and --device")
			return nil, "", 2
		}
		live = &exec.LiveTarget{Domain: f.domain, Device: f.device, Confirm: f.confirm}
	}
	root := f.root
	if root == "" && !f.live {
		root = fmt.Sprintf("/xbsim-%d", os.Getpid())
	}
	ids := make([]int32, len(tr.Steps))
	for i, s := range tr.Steps {
		ids[i] = s.ID
	}
	var out strings.Builder
	if f.dryRun {
		pl, err := exec.MakePlan(c.System, ids, root, live)
		if err != nil {
			fmt.Fprintf(stderr, "xbsim: %v\n", err)
			return nil, "", 2
		}
		out.WriteString("dry run: the xenstore run would perform\n")
		for _, l := range pl.Lines {
			out.WriteString("  " + l + "\n")
		}
		fmt.Fprintf(&out, "digest %s (give it to --confirm with --live)\n", pl.Digest)
		return nil, out.String(), 0
	}
	if f.live && f.xenstore == "" {
		fmt.Fprintln(stderr, "xbsim replay: --live needs --xenstore")
		return nil, "", 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var b exec.Backend
	where := "the model's own store"
	if f.xenstore != "" {
		var cl *realxs.Client
		var err error
		if strings.HasPrefix(f.xenstore, "/dev/") || strings.HasPrefix(f.xenstore, "/proc/xen/") {
			cl, err = realxs.DialXenbus(ctx, f.xenstore)
		} else {
			cl, err = realxs.Dial(ctx, f.xenstore)
		}
		if err != nil {
			fmt.Fprintf(stderr, "xbsim: %v\n", err)
			return nil, "", 2
		}
		defer cl.Close()
		b, where = exec.Live(cl), f.xenstore
	} else {
		b = exec.NewModelStore()
	}
	e := &exec.Executor{Sys: c.System, Backend: b, Root: root, Live: live}
	rep, err := e.Run(ctx, ids)
	if err != nil {
		fmt.Fprintf(stderr, "xbsim: xenstore run: %v\n", err)
		if rep != nil && rep.Trace != nil && len(rep.Trace.Steps) > 0 {
			fmt.Fprintf(&out, "xenstore run stopped; the steps done:\n%s", rep.Trace.Text())
		}
		if errors.Is(err, exec.ErrNotConfirmed) {
			fmt.Fprintln(stderr, "xbsim: run with --dry-run first and pass its digest to --confirm")
		}
		return rep, out.String(), 2
	}
	if d := rep.Divergence; d != nil {
		fmt.Fprintf(&out, "xenstore (%s, root %s): %v\n", where, rep.Root, d)
		return rep, out.String(), 1
	}
	var known []string
	for k, n := range rep.Known {
		known = append(known, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(known)
	fmt.Fprintf(&out, "xenstore (%s, root %s): %d steps performed; the daemon agrees with the model", where, rep.Root, len(rep.Steps))
	if len(known) > 0 {
		fmt.Fprintf(&out, " (known differences: %s)", strings.Join(known, " "))
	}
	out.WriteString("\n")
	return rep, out.String(), 0
}
