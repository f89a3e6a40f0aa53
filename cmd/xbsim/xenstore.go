package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/xbcheck/xbcheck/realxs"
	"github.com/xbcheck/xbcheck/realxs/exec"
	"github.com/xbcheck/xbcheck/realxs/observe"
	"github.com/xbcheck/xbcheck/scenario"
	"github.com/xbcheck/xbcheck/trace"
)

// xsFlags are replay's flags for performing the trace against a xenstore
// (package realxs/exec).
type xsFlags struct {
	xenstore, root, device, confirm string
	domain                          int
	dryRun, live, play              bool
	params, vdev                    string
	settle                          time.Duration
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
	fs.BoolVar(&f.play, "play", false, "with --live: perform only the toolstack's steps of the trace, for real (libxl 4.17's keys and hotplug scripts included; run it in the backend domain), while the real drivers answer; every answer must be a step the model allows")
	fs.StringVar(&f.params, "params", "", "with --play: the backing `FILE` of a disk the trace adds")
	fs.StringVar(&f.vdev, "vdev", "", "with --play: the `NAME` of a disk the trace adds, in the guest (xvdb)")
	fs.DurationVar(&f.settle, "settle", 3*time.Second, "with --play: how long the real drivers may take to answer before a timer step is taken")
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
	if f.play {
		text, code := f.runPlay(c, ids, live, stderr)
		return nil, text, code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var b exec.Backend
	where := "the model's own store"
	if f.xenstore != "" {
		cl, err := dialXenstore(ctx, f.xenstore)
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

// runPlay is --play: a played replay on the host's own paths. It returns
// the report for stdout and the exit status: 0 the real drivers followed
// the model, 1 they did not, 2 errors. The executor's log goes to stderr.
func (f *xsFlags) runPlay(c *scenario.Compiled, ids []int32, live *exec.LiveTarget, stderr io.Writer) (string, int) {
	if live == nil {
		fmt.Fprintln(stderr, "xbsim replay: --play needs --live (the host's own paths)")
		return "", 2
	}
	pl, err := exec.MakePlan(c.System, ids, "", live)
	if err != nil {
		fmt.Fprintf(stderr, "xbsim: %v\n", err)
		return "", 2
	}
	if f.confirm != pl.Digest {
		fmt.Fprintf(stderr, "xbsim: %v; run with --dry-run first and pass its digest to --confirm\n", exec.ErrNotConfirmed)
		return "", 2
	}
	sys := c.System
	played := observe.ToolstackSteps(sys)
	var schedule []int32
	for _, id := range ids {
		if played(&sys.Trans[id]) {
			schedule = append(schedule, id)
		}
	}
	di := -1
	for i := range sys.Devices {
		if sys.Devices[i].Name == live.Device {
			di = i
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cl, err := dialXenstore(ctx, f.xenstore)
	if err != nil {
		fmt.Fprintf(stderr, "xbsim: %v\n", err)
		return "", 2
	}
	defer cl.Close()
	hook := &observe.LibxlHook{Sys: sys, Device: di, File: f.params, Vdev: f.vdev, Runner: localRunner}
	target := *live
	target.Keep = true
	rep, err := observe.Play(ctx, cl, sys, observe.PlayOptions{Played: played, Target: target, Hook: hook.Hook,
		Schedule: schedule, Settle: f.settle, Log: stderr})
	if err != nil {
		fmt.Fprintf(stderr, "xbsim: played replay: %v\n", err)
		return "", 2
	}
	var out strings.Builder
	fmt.Fprintf(&out, "played replay of %d toolstack steps on %s: %d steps in all\n", len(schedule), f.xenstore, len(rep.Steps))
	for i, st := range rep.Steps {
		fmt.Fprintf(&out, "  step %d %s\n", i+1, st)
	}
	for _, sc := range hook.Scripts {
		fmt.Fprintf(&out, "  script %s: exit %d\n", strings.Join(sc.Argv, " "), sc.ExitCode)
	}
	if rep.Divergence != "" {
		fmt.Fprintf(&out, "the real drivers left the model: %s\n", rep.Divergence)
		return out.String(), 1
	}
	if !rep.Final {
		fmt.Fprintln(&out, "the run stopped before every actor was final")
		return out.String(), 1
	}
	fmt.Fprintln(&out, "every answer of the real drivers is a step the model allows")
	return out.String(), 0
}

// localRunner runs a hotplug script on this machine.
func localRunner(ctx context.Context, argv []string) (int, string, error) {
	cmd := osexec.CommandContext(ctx, argv[0], argv[1:]...)
	out, err := cmd.CombinedOutput()
	var ee *osexec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), string(out), nil
	}
	if err != nil {
		return -1, string(out), err
	}
	return 0, string(out), nil
}

// dialXenstore connects to the xenstore at addr (--xenstore): the xenbus
// device when addr lies below /dev/ or /proc/xen/, else xenstored's unix
// socket.
func dialXenstore(ctx context.Context, addr string) (*realxs.Client, error) {
	if strings.HasPrefix(addr, "/dev/") || strings.HasPrefix(addr, "/proc/xen/") {
		return realxs.DialXenbus(ctx, addr)
	}
	return realxs.Dial(ctx, addr)
}
