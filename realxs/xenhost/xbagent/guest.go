package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/xbcheck/xbcheck/realxs"
	"github.com/xbcheck/xbcheck/realxs/xenhost/internal/proto"
)

// openXenbus waits for the xenbus device (the frontend driver registers
// it early, but not necessarily before /init runs) and opens it.
func openXenbus(ctx context.Context, dev string) (*realxs.Client, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := realxs.DialXenbus(ctx, dev)
		if err == nil || time.Now().After(deadline) {
			return c, err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func guestMain(args []string) error {
	ctx := context.Background()
	c, err := openXenbus(ctx, "")
	if err != nil {
		return err
	}
	defer c.Close()
	// A relative path is resolved by xenstored against the caller's own
	// /local/domain/<domid>.
	b, err := c.Read(ctx, "domid")
	if err != nil {
		return err
	}
	domid, err := strconv.Atoi(string(b))
	if err != nil {
		return fmt.Errorf("domid %q: %w", b, err)
	}
	dir := proto.AgentDir(domid)
	g := &guestAgent{c: c, dir: dir, seen: map[string]bool{}}
	// The watch first, then "ready": no request can be missed.
	w, err := c.Watch(ctx, dir+"/cmd", "xbagent")
	if err != nil {
		return err
	}
	uname, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	ready, _ := json.Marshal(map[string]any{"pid": os.Getpid(), "kernel": strings.TrimSpace(string(uname)), "domid": domid})
	if err := c.Write(ctx, dir+"/ready", ready); err != nil {
		return err
	}
	logf("guest agent ready in domain %d (%s)", domid, dir)
	for ev := range w.Events() {
		if !strings.HasSuffix(ev.Path, "/req") {
			continue
		}
		n := strings.TrimSuffix(ev.Path, "/req")
		g.mu.Lock()
		dup := g.seen[n]
		g.seen[n] = true
		g.mu.Unlock()
		if dup {
			continue
		}
		req, err := c.Read(ctx, ev.Path)
		if err != nil {
			continue // removed already
		}
		go g.handle(ctx, n, req)
	}
	return fmt.Errorf("watch ended: %v", w.Err())
}

type guestAgent struct {
	c   *realxs.Client
	dir string

	mu   sync.Mutex
	seen map[string]bool // command folders handled
}

// capWriter keeps the first proto.MaxGuestOutput bytes.
type capWriter struct {
	buf bytes.Buffer
	cut bool
}

func (w *capWriter) Write(p []byte) (int, error) {
	room := proto.MaxGuestOutput - w.buf.Len()
	if len(p) > room {
		w.cut = true
		w.buf.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return w.buf.Write(p)
}

// handle runs one request and writes its output and result under cmdDir.
func (g *guestAgent) handle(ctx context.Context, cmdDir string, raw []byte) {
	start := time.Now()
	var req proto.GuestRequest
	res := proto.GuestResult{}
	var stdout, stderr capWriter
	if err := json.Unmarshal(raw, &req); err != nil || len(req.Argv) == 0 {
		res.Code = -1
		res.Error = fmt.Sprintf("bad request %q", raw)
	} else if req.Spawn {
		cmd := exec.Command(req.Argv[0], req.Argv[1:]...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr // the guest console
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			res.Code = -1
			res.Error = err.Error()
		} else {
			res.Pid = cmd.Process.Pid
			go cmd.Wait()
		}
	} else {
		timeout := time.Duration(req.TimeoutSec) * time.Second
		if timeout <= 0 {
			timeout = 300 * time.Second
		}
		rctx, cancel := context.WithTimeout(ctx, timeout)
		cmd := exec.CommandContext(rctx, req.Argv[0], req.Argv[1:]...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		cmd.WaitDelay = time.Second
		err := cmd.Run()
		cancel()
		var ee *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &ee):
			res.Code = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				res.Code = 128 + int(ws.Signal())
			}
		case errors.Is(err, exec.ErrWaitDelay):
		default:
			res.Code = -1
			res.Error = err.Error()
		}
		res.Cut = stdout.cut || stderr.cut
	}
	out, errs := proto.Chunk(stdout.buf.Bytes()), proto.Chunk(stderr.buf.Bytes())
	res.Out, res.Err = len(out), len(errs)
	for i, v := range out {
		if err := g.c.Write(ctx, cmdDir+"/out/"+strconv.Itoa(i), []byte(v)); err != nil {
			res.Error = "writing output: " + err.Error()
			res.Out = i
			break
		}
	}
	for i, v := range errs {
		if err := g.c.Write(ctx, cmdDir+"/err/"+strconv.Itoa(i), []byte(v)); err != nil {
			res.Error = "writing output: " + err.Error()
			res.Err = i
			break
		}
	}
	res.Millis = time.Since(start).Milliseconds()
	b, _ := json.Marshal(res)
	if err := g.c.Write(ctx, cmdDir+"/result", b); err != nil {
		logf("%s: writing result: %v", cmdDir, err)
	}
	g.mu.Lock()
	if len(g.seen) > 10000 {
		g.seen = map[string]bool{cmdDir: true}
	}
	g.mu.Unlock()
}
