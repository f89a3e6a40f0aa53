package xenhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xbcheck/xbcheck/realxs"
	"github.com/xbcheck/xbcheck/realxs/xenhost/internal/proto"
)

// GuestConfig describes a PV guest for [Host.CreateGuest].
type GuestConfig struct {
	// Name is the domain's name (default "guest1").
	Name string
	// Disks are xl disk specs, such as "/data/disk1.img,raw,xvda,w".
	// A backing file under /data that does not exist is created (16 MiB,
	// sparse) in dom0.
	Disks []string
	// Vifs are xl vif specs, such as "bridge=xenbr0". The bridge xenbr0
	// exists and has no uplink.
	Vifs []string
	// MemoryMB is the guest's memory (default 128).
	MemoryMB int
	// OnCrash is xl's on_crash action (default "destroy"); "preserve"
	// keeps a crashed domain listed, as the hypervisor left it.
	OnCrash string
}

// DefaultGuestReady bounds how long CreateGuest waits for the guest
// agent after `xl create` returned, when ctx has no earlier deadline.
const DefaultGuestReady = 120 * time.Second

// A Guest is a PV domain started by [Host.CreateGuest], whose agent
// answers through xenstore.
type Guest struct {
	h     *Host
	name  string
	domid int
	dir   string // its agent's xenstore folder

	mu  sync.Mutex
	xs  *realxs.Client
	seq atomic.Int64
}

var guestName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// guestCfg renders an xl config (no quoting problems: names are checked
// and specs may not contain quotes).
func guestCfg(g GuestConfig) (string, error) {
	if !guestName.MatchString(g.Name) {
		return "", fmt.Errorf("bad guest name %q", g.Name)
	}
	list := func(specs []string) (string, error) {
		var q []string
		for _, s := range specs {
			if strings.ContainsAny(s, "'\"\n") {
				return "", fmt.Errorf("bad spec %q", s)
			}
			q = append(q, "'"+s+"'")
		}
		return "[ " + strings.Join(q, ", ") + " ]", nil
	}
	disks, err := list(g.Disks)
	if err != nil {
		return "", err
	}
	vifs, err := list(g.Vifs)
	if err != nil {
		return "", err
	}
	onCrash := g.OnCrash
	switch onCrash {
	case "":
		onCrash = "destroy"
	case "destroy", "restart", "preserve", "coredump-destroy", "coredump-restart", "soft-reset":
	default:
		return "", fmt.Errorf("bad on_crash %q", g.OnCrash)
	}
	return fmt.Sprintf(`type    = "pv"
name    = %q
kernel  = "/data/guest/vmlinux"
ramdisk = "/data/guest/initrd.gz"
extra   = "console=hvc0 quiet loglevel=4"
memory  = %d
vcpus   = 1
disk    = %s
vif     = %s
on_crash = %q
`, g.Name, g.MemoryMB, disks, vifs, onCrash), nil
}

// diskTarget returns the backing file of an xl disk spec, if it is a file
// under /data: the target= key, or else the first positional field.
func diskTarget(spec string) string {
	fields := strings.Split(spec, ",")
	t := ""
	for _, f := range fields {
		if v, ok := strings.CutPrefix(strings.TrimSpace(f), "target="); ok {
			t = v
		}
	}
	if t == "" && len(fields) > 0 && !strings.Contains(fields[0], "=") {
		t = strings.TrimSpace(fields[0])
	}
	if strings.HasPrefix(path.Clean(t), "/data/") {
		return path.Clean(t)
	}
	return ""
}

// CreateGuest writes the guest's config to /data/guests/NAME.cfg in dom0,
// creates missing disk backing files, runs `xl create`, and waits for the
// guest agent to announce itself in xenstore.
func (h *Host) CreateGuest(ctx context.Context, gc GuestConfig) (*Guest, error) {
	if gc.Name == "" {
		gc.Name = "guest1"
	}
	if gc.MemoryMB <= 0 {
		gc.MemoryMB = 128
	}
	fail := func(err error) (*Guest, error) { return nil, &Error{Op: "create guest", Path: gc.Name, Err: err} }
	cfg, err := guestCfg(gc)
	if err != nil {
		return fail(err)
	}
	for _, d := range gc.Disks {
		if t := diskTarget(d); t != "" {
			r, err := h.Run(ctx, "sh", "-c", `mkdir -p "$(dirname "$1")" && { test -e "$1" || truncate -s 16M "$1"; }`, "sh", t)
			if err == nil && r.ExitCode != 0 {
				err = fmt.Errorf("creating %s: %s", t, r.Stderr)
			}
			if err != nil {
				return fail(err)
			}
		}
	}
	cfgPath := "/data/guests/" + gc.Name + ".cfg"
	if err := h.WriteFile(ctx, cfgPath, []byte(cfg)); err != nil {
		return fail(err)
	}
	xs, err := h.DialXenstore(ctx)
	if err != nil {
		return fail(err)
	}
	r, err := h.Run(ctx, "xl", "create", cfgPath)
	if err == nil && r.ExitCode != 0 {
		err = fmt.Errorf("xl create: exit %d: %s", r.ExitCode, strings.TrimSpace(string(r.Stderr)))
	}
	if err != nil {
		xs.Close()
		return fail(err)
	}
	r, err = h.Run(ctx, "xl", "domid", gc.Name)
	if err == nil && r.ExitCode != 0 {
		err = fmt.Errorf("xl domid: exit %d: %s", r.ExitCode, strings.TrimSpace(string(r.Stderr)))
	}
	var domid int
	if err == nil {
		domid, err = strconv.Atoi(strings.TrimSpace(string(r.Stdout)))
	}
	if err != nil {
		xs.Close()
		return fail(err)
	}
	g := &Guest{h: h, name: gc.Name, domid: domid, dir: proto.AgentDir(domid), xs: xs}
	h.mu.Lock()
	h.guests = append(h.guests, g)
	h.mu.Unlock()
	wctx := ctx
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, DefaultGuestReady)
		defer cancel()
	}
	if err := waitNode(wctx, xs, g.dir+"/ready"); err != nil {
		return fail(fmt.Errorf("guest agent not ready (domain %d; its console is in the logs on Close): %w", domid, err))
	}
	return g, nil
}

// waitNode waits until a node exists, with a watch.
func waitNode(ctx context.Context, xs *realxs.Client, p string) error {
	w, err := xs.Watch(ctx, p, "")
	if err != nil {
		return err
	}
	defer w.Unwatch(context.WithoutCancel(ctx))
	for {
		if _, err := xs.Read(ctx, p); err == nil {
			return nil
		} else if !errors.Is(err, realxs.ENOENT) {
			return err
		}
		select {
		case _, ok := <-w.Events():
			if !ok {
				return fmt.Errorf("watch ended: %v", w.Err())
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Name returns the domain's name.
func (g *Guest) Name() string { return g.name }

// DomID returns the domain's id.
func (g *Guest) DomID() int { return g.domid }

func (g *Guest) client() (*realxs.Client, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.xs == nil {
		return nil, ErrClosed
	}
	return g.xs, nil
}

func (g *Guest) closeClient() {
	g.mu.Lock()
	xs := g.xs
	g.xs = nil
	g.mu.Unlock()
	if xs != nil {
		xs.Close()
	}
}

// Run runs argv in the guest, through its agent (dom0 writes the request
// into xenstore, the guest writes back the output and exit code). Output
// beyond 512 KiB per stream is dropped. A non-zero exit is not an error.
func (g *Guest) Run(ctx context.Context, argv ...string) (Result, error) {
	start := time.Now()
	res, out, errb, err := g.request(ctx, proto.GuestRequest{Argv: argv})
	if err != nil {
		return Result{}, &Error{Op: "guest run", Path: g.name + ": " + strings.Join(argv, " "), Err: err}
	}
	return Result{Stdout: out, Stderr: errb, ExitCode: res.Code, Duration: time.Since(start)}, nil
}

// Spawn starts argv in the background in the guest (in its own session,
// its output on the guest console) and returns once it has started.
func (g *Guest) Spawn(ctx context.Context, argv ...string) error {
	if _, _, _, err := g.request(ctx, proto.GuestRequest{Argv: argv, Spawn: true}); err != nil {
		return &Error{Op: "guest spawn", Path: g.name + ": " + strings.Join(argv, " "), Err: err}
	}
	return nil
}

func (g *Guest) request(ctx context.Context, req proto.GuestRequest) (proto.GuestResult, []byte, []byte, error) {
	var res proto.GuestResult
	if len(req.Argv) == 0 {
		return res, nil, nil, errors.New("empty argv")
	}
	if dl, ok := ctx.Deadline(); ok && !req.Spawn {
		req.TimeoutSec = max(1, int(time.Until(dl).Seconds()))
	}
	xs, err := g.client()
	if err != nil {
		return res, nil, nil, err
	}
	raw, err := json.Marshal(req)
	if err != nil {
		return res, nil, nil, err
	}
	dir := g.dir + "/cmd/" + strconv.FormatInt(g.seq.Add(1), 10)
	w, err := xs.Watch(ctx, dir+"/result", "")
	if err != nil {
		return res, nil, nil, err
	}
	defer w.Unwatch(context.WithoutCancel(ctx))
	defer xs.Rm(context.WithoutCancel(ctx), dir)
	if err := xs.Write(ctx, dir+"/req", raw); err != nil {
		return res, nil, nil, err
	}
	for {
		b, err := xs.Read(ctx, dir+"/result")
		if err == nil {
			if err := json.Unmarshal(b, &res); err != nil {
				return res, nil, nil, fmt.Errorf("result %q: %w", b, err)
			}
			break
		}
		if !errors.Is(err, realxs.ENOENT) {
			return res, nil, nil, err
		}
		select {
		case _, ok := <-w.Events():
			if !ok {
				return res, nil, nil, fmt.Errorf("watch ended: %v", w.Err())
			}
		case <-ctx.Done():
			return res, nil, nil, ctx.Err()
		}
	}
	if res.Error != "" {
		return res, nil, nil, errors.New("guest agent: " + res.Error)
	}
	read := func(sub string, n int) ([]byte, error) {
		chunks := make([]string, n)
		for i := range n {
			b, err := xs.Read(ctx, dir+"/"+sub+"/"+strconv.Itoa(i))
			if err != nil {
				return nil, err
			}
			chunks[i] = string(b)
		}
		return proto.Unchunk(chunks)
	}
	out, err := read("out", res.Out)
	if err != nil {
		return res, nil, nil, err
	}
	errb, err := read("err", res.Err)
	if err != nil {
		return res, nil, nil, err
	}
	return res, out, errb, nil
}

// Destroy runs `xl destroy` for the guest and stops using its agent.
func (g *Guest) Destroy(ctx context.Context) error {
	g.closeClient()
	r, err := g.h.Run(ctx, "xl", "destroy", g.name)
	if err == nil && r.ExitCode != 0 {
		err = fmt.Errorf("exit %d: %s", r.ExitCode, strings.TrimSpace(string(r.Stderr)))
	}
	if err != nil {
		return &Error{Op: "destroy guest", Path: g.name, Err: err}
	}
	return nil
}
