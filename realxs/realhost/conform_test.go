//go:build realhost

package realhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xbcheck/xbcheck/checker"
	"github.com/xbcheck/xbcheck/realxs"
	"github.com/xbcheck/xbcheck/realxs/exec"
	"github.com/xbcheck/xbcheck/realxs/observe"
	"github.com/xbcheck/xbcheck/realxs/xenhost"
	"github.com/xbcheck/xbcheck/realxs/xenhost/hosttest"
	"github.com/xbcheck/xbcheck/realxs/xstrace"
	"github.com/xbcheck/xbcheck/scenario"
)

// summary collects the whole run; TestMain writes it out.
var summary = &Summary{}

func TestMain(m *testing.M) {
	code := m.Run()
	if err := writeSummary(); err != nil {
		fmt.Fprintln(os.Stderr, "realhost:", err)
		if code == 0 {
			code = 1
		}
	}
	fmt.Println(summary.Line())
	os.Exit(code)
}

// writeSummary writes the report (JSON) and the summary line next to the
// images, atomically, for `make realhost` to print.
func writeSummary() error {
	dir := os.Getenv("XBCHECK_REALHOST_REPORT")
	if dir == "" && os.Getenv(xenhost.EnvCache) != "" {
		dir = filepath.Join(os.Getenv(xenhost.EnvCache), "report")
	}
	if dir == "" {
		dir = filepath.Join("..", "..", ".cache", "xenhost", "report")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	fired, all := summary.Coverage()
	data, err := json.MarshalIndent(struct {
		*Summary
		Line          string
		Fired, Actors map[string][]string
	}{summary, summary.Line(), fired, all}, "", "  ")
	if err != nil {
		return err
	}
	for name, b := range map[string][]byte{"realhost.json": data, "summary.txt": []byte(summary.Line() + "\n")} {
		tmp := filepath.Join(dir, "."+name+".tmp")
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return nil
}

var bootMu sync.Mutex

// boot boots a host with daemon, or fails (under CI=true) or skips with
// one line saying why.
func boot(t *testing.T, daemon string) *xenhost.Host {
	t.Helper()
	bootMu.Lock()
	t.Cleanup(bootMu.Unlock)
	// Boot waits for the machine-wide lock first: another package's host
	// may be running (make realhost runs packages one at a time).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	h, err := xenhost.Boot(ctx, xenhost.Config{Xenstored: daemon, Log: testLog{t}})
	if err != nil {
		if errors.Is(err, xenhost.ErrNoCache) && os.Getenv("CI") != "true" {
			t.Skipf("no real Xen host: %v (run `make xenhost` once)", err)
		}
		t.Fatalf("no real Xen host: %v", err)
	}
	t.Cleanup(func() { hosttest.Close(t, h) })
	name := map[string]string{xenhost.CXenstored: "C", xenhost.OXenstored: "O"}[daemon]
	summary.Xenstored = append(summary.Xenstored, name)
	t.Logf("booted %s in %v (%s)", daemon, h.BootTime().Round(100*time.Millisecond), h.Accel())
	return h
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// A session is one conformance run on one host: a marked client of the
// daemon, the guests, and the observations so far.
type session struct {
	t    *testing.T
	ctx  context.Context
	h    *xenhost.Host
	xs   *realxs.Client
	obs  []*Observation
	seq  int
	devs map[string][]Device // per guest, the devices as they are now
}

func newSession(t *testing.T, ctx context.Context, h *xenhost.Host) *session {
	xs, err := h.DialXenstore(ctx)
	if err != nil {
		t.Fatalf("xenstore: %v", err)
	}
	t.Cleanup(func() { xs.Close() })
	// Name this connection in the trace (xstrace.Client).
	xs.Read(ctx, xstrace.Marker+"conform")
	return &session{t: t, ctx: ctx, h: h, xs: xs, devs: map[string][]Device{}}
}

// mark puts a mark into the daemon's trace and returns its label.
func (s *session) mark(what string) string {
	s.seq++
	// xenstore paths take [A-Za-z0-9_@/-] only.
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '/' {
			return r
		}
		return '-'
	}, what)
	label := fmt.Sprintf("%02d-%s", s.seq, clean)
	if _, err := s.xs.Read(s.ctx, xstrace.MarkPrefix+label); err != nil && !errors.Is(err, realxs.ENOENT) {
		s.t.Fatalf("mark %s: %v", label, err)
	}
	return label
}

// exec runs argv in dom0, logs it with its output, and returns its
// result; failing to run it fails the test.
func (s *session) exec(argv ...string) xenhost.Result {
	s.t.Helper()
	res, err := s.h.Run(s.ctx, argv...)
	if err != nil {
		s.t.Fatalf("%s: %v", strings.Join(argv, " "), err)
	}
	s.t.Logf("dom0$ %s → %d in %v %s", strings.Join(argv, " "), res.ExitCode, res.Duration.Round(time.Millisecond),
		strings.TrimSpace(string(res.Stderr)+string(res.Stdout)))
	return res
}

// exists reports whether node p exists; an error other than ENOENT fails
// the test.
func (s *session) exists(p string) bool {
	s.t.Helper()
	_, err := s.xs.Read(s.ctx, p)
	if err != nil && !errors.Is(err, realxs.ENOENT) {
		s.t.Fatalf("read %s: %v", p, err)
	}
	return err == nil
}

// run runs argv in dom0 and records it.
func (s *session) run(o *Observation, argv ...string) Command {
	s.t.Helper()
	res := s.exec(argv...)
	c := Command{Where: "dom0", Argv: argv, ExitCode: res.ExitCode, Duration: res.Duration}
	if res.ExitCode != 0 {
		c.Output = strings.TrimSpace(string(res.Stderr) + string(res.Stdout))
	}
	if o != nil {
		o.Commands = append(o.Commands, c)
	}
	return c
}

// must runs argv in dom0 and fails the test unless it exits 0.
func (s *session) must(o *Observation, argv ...string) {
	s.t.Helper()
	if c := s.run(o, argv...); c.ExitCode != 0 {
		s.t.Fatalf("%s: exit %d: %s", strings.Join(argv, " "), c.ExitCode, c.Output)
	}
}

// waitFor polls path until cond holds of its value ("" and false when it
// is missing), for at most d.
func (s *session) waitFor(path string, d time.Duration, cond func(v string, ok bool) bool) bool {
	deadline := time.Now().Add(d)
	for {
		v, err := s.xs.Read(s.ctx, path)
		if cond(string(v), err == nil) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func is(want string) func(string, bool) bool {
	return func(v string, ok bool) bool { return ok && v == want }
}
func gone(_ string, ok bool) bool { return !ok }

func paths(dom int, d Device) (fe, be string) {
	return fmt.Sprintf("/local/domain/%d/device/%s/%d", dom, d.Kind, d.DevID),
		fmt.Sprintf("/local/domain/0/backend/%s/%d/%d", d.Kind, dom, d.DevID)
}

// connected waits until both ends of d are Connected.
func (s *session) connected(dom int, d Device) bool {
	fe, be := paths(dom, d)
	return s.waitFor(be+"/state", 60*time.Second, is("4")) && s.waitFor(fe+"/state", 60*time.Second, is("4"))
}

// removed waits until the backend directory of d is gone.
func (s *session) removed(dom int, d Device, within time.Duration) bool {
	_, be := paths(dom, d)
	return s.waitFor(be, within, gone)
}

// observe starts an observation of op on guest g.
func (s *session) observe(op string, g *xenhost.Guest, state string, model ...string) *Observation {
	o := &Observation{Op: op, Xenstored: s.h.Xenstored(), Guest: g.Name(), DomID: g.DomID(), DomState: state,
		Devices: append([]Device(nil), s.devs[g.Name()]...), Model: model}
	o.Start = s.mark(op + "/start")
	s.obs = append(s.obs, o)
	return o
}

func (s *session) end(o *Observation, began time.Time) {
	o.End = s.mark(o.Op + "/end")
	o.Duration = time.Since(began)
}

// set records device d of guest g as it is now.
func (s *session) set(g string, d Device) {
	ds := s.devs[g]
	for i := range ds {
		if ds[i].Name == d.Name {
			if d.State == "absent" {
				s.devs[g] = append(ds[:i], ds[i+1:]...)
			} else {
				ds[i] = d
			}
			return
		}
	}
	if d.State != "absent" {
		s.devs[g] = append(ds, d)
	}
}

func disk(name string, devid int, state string) Device {
	return Device{Name: name, Kind: "vbd", DevID: devid, State: state}
}

func vif(n int, state string) Device {
	return Device{Name: fmt.Sprintf("vif%d", n), Kind: "vif", DevID: n, State: state}
}

// conformance performs the real operations on h (C xenstored: its -T
// trace gives each change its writer) and explains every change each one
// made by the model. It creates its own guests and destroys them.
func conformance(t *testing.T, h *xenhost.Host) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	s := newSession(t, ctx, h)
	// Judge what was observed, also when an operation fails the test.
	t.Cleanup(s.judge)

	for _, f := range []string{"disk2", "disk3", "disk4", "disk5"} {
		s.must(nil, "truncate", "-s", "8M", "/data/"+f+".img")
	}

	// 1. xl create with a vbd and a vif.
	began := time.Now()
	pre := &Observation{Op: "xl create (vbd + vif)", Xenstored: h.Xenstored(), DomState: "running", Model: []string{"add xvda", "add vif0"}}
	pre.Start = s.mark(pre.Op + "/start")
	g, err := h.CreateGuest(ctx, xenhost.GuestConfig{Name: "guest1", Disks: []string{"/data/disk1.img,raw,xvda,w"}, Vifs: []string{"bridge=xenbr0,mac=00:16:3e:00:00:01"}, MemoryMB: 128})
	if err != nil {
		t.Fatalf("xl create: %v", err)
	}
	pre.Guest, pre.DomID = g.Name(), g.DomID()
	pre.Devices = []Device{disk("xvda", 51712, "absent"), vif(0, "absent")}
	pre.Commands = append(pre.Commands, Command{Where: "dom0", Argv: []string{"xl", "create", "guest1.cfg"}, Duration: time.Since(began)})
	s.obs = append(s.obs, pre)
	dom := g.DomID()
	for _, d := range []Device{disk("xvda", 51712, "connected"), vif(0, "connected")} {
		if !s.connected(dom, d) {
			t.Fatalf("%s never connected", d.Name)
		}
		s.set("guest1", d)
	}
	s.end(pre, began)

	attach := func(name string, devid int, file string) {
		t.Helper()
		d := disk(name, devid, "absent")
		began := time.Now()
		o := s.observe("xl block-attach "+name, g, "running", "add "+name)
		o.Devices = append(o.Devices, d)
		s.must(o, "xl", "block-attach", "guest1", file+",raw,"+name+",w")
		d.State = "connected"
		if !s.connected(dom, d) {
			t.Fatalf("%s never connected", name)
		}
		s.set("guest1", d)
		s.end(o, began)
	}

	// 2, 3. block-attach and block-detach.
	attach("xvdb", 51728, "/data/disk2.img")
	began = time.Now()
	// xl block-detach is libxl_device_disk_safe_remove (FORCE_OFF), -f
	// libxl_device_disk_destroy (FORCE_ON), as xl 4.17 says when they
	// fail ("libxl_device_disk_safe_remove failed.").
	o := s.observe("xl block-detach", g, "running", "safe-remove xvdb")
	s.must(o, "xl", "block-detach", "guest1", "xvdb")
	if !s.removed(dom, disk("xvdb", 51728, ""), 10*time.Second) {
		t.Errorf("xvdb's backend is still there")
	}
	s.set("guest1", disk("xvdb", 51728, "absent"))
	s.end(o, began)

	// 4, 5. network-attach and network-detach.
	began = time.Now()
	o = s.observe("xl network-attach", g, "running", "add vif1")
	o.Devices = append(o.Devices, vif(1, "absent"))
	s.must(o, "xl", "network-attach", "guest1", "bridge=xenbr0", "mac=00:16:3e:00:00:02")
	if !s.connected(dom, vif(1, "")) {
		t.Fatalf("vif1 never connected")
	}
	s.set("guest1", vif(1, "connected"))
	s.end(o, began)
	began = time.Now()
	o = s.observe("xl network-detach", g, "running", "remove vif1")
	s.must(o, "xl", "network-detach", "guest1", "1")
	if !s.removed(dom, vif(1, ""), 10*time.Second) {
		t.Errorf("vif1's backend is still there")
	}
	s.set("guest1", vif(1, "absent"))
	s.end(o, began)

	// Played replays: xbcheck performs libxl's steps, the real drivers
	// answer.
	s.must(nil, "truncate", "-s", "8M", "/data/disk6.img")
	s.replay("vbd add", g, disk("xvdf", 51792, "absent"), "add", "/data/disk6.img", "", nil)
	s.replay("vbd remove", g, disk("xvdf", 51792, "connected"), "remove", "", "", nil)
	s.replay("vif remove", g, vif(0, "connected"), "remove", "", "", nil)
	attach("xvdg", 51808, "/data/disk6.img")
	if err := g.Spawn(ctx, "sh", "-c", "exec 3</dev/xvdg; exec sleep 600"); err != nil {
		t.Fatalf("holding xvdg: %v", err)
	}
	time.Sleep(time.Second)
	s.replay("vbd remove, disk open in the guest", g, disk("xvdg", 51808, "connected"), "remove", "", "", []string{"frontend-refuses-close"})
	g.Run(ctx, "killall", "sleep")

	// A violation reproduced: the backend driver unbound, the detach
	// returns an error for a device it removed (result-reflects-state,
	// scenarios/vbd-remove-backend-unbound-4.17.toml), once played after
	// the checker's counterexample and once by xl itself.
	attach("xvdh", 51824, "/data/disk6.img")
	s.must(nil, "sh", "-c", fmt.Sprintf("echo vbd-%d-51824 > /sys/bus/xen-backend/drivers/vbd/unbind", dom))
	s.replay("vbd remove, backend unbound", g, disk("xvdh", 51824, "connected"), "remove", "", "none", nil, "result-reflects-state")
	s.must(nil, "truncate", "-s", "8M", "/data/disk7.img")
	attach("xvdi", 51840, "/data/disk7.img")
	s.must(nil, "sh", "-c", fmt.Sprintf("echo vbd-%d-51840 > /sys/bus/xen-backend/drivers/vbd/unbind", dom))
	began = time.Now()
	// -f is libxl_device_disk_destroy (FORCE_ON).
	o = s.observe("xl block-detach -f, backend unbound", g, "running", "destroy xvdi")
	o.Backend = map[string]string{"xvdi": "none"}
	c := s.run(o, "xl", "block-detach", "-f", "guest1", "xvdi")
	fe, _ := paths(dom, disk("xvdi", 51840, ""))
	s.removed(dom, disk("xvdi", 51840, ""), 30*time.Second)
	if _, err := s.xs.Read(ctx, fe); errors.Is(err, realxs.ENOENT) && c.ExitCode != 0 {
		t.Logf("reproduced with xl: exit %d, and the device is gone (result-reflects-state)", c.ExitCode)
		summary.Reproduced++
	} else {
		t.Errorf("xl block-detach with the backend unbound: exit %d, frontend read %v: not the violation", c.ExitCode, err)
	}
	s.set("guest1", disk("xvdi", 51840, "absent"))
	s.end(o, began)

	// 6. block-detach while the guest holds the disk open.
	attach("xvdc", 51744, "/data/disk3.img")
	if err := g.Spawn(ctx, "sh", "-c", "exec 3</dev/xvdc; exec sleep 600"); err != nil {
		t.Fatalf("holding xvdc: %v", err)
	}
	time.Sleep(time.Second)
	began = time.Now()
	o = s.observe("xl block-detach, disk open in the guest", g, "running", "safe-remove xvdc")
	o.Faults = []string{"frontend-refuses-close"}
	s.run(o, "xl", "block-detach", "guest1", "xvdc")
	if s.removed(dom, disk("xvdc", 51744, ""), 15*time.Second) {
		s.set("guest1", disk("xvdc", 51744, "absent"))
	}
	s.end(o, began)
	if _, err := g.Run(ctx, "killall", "sleep"); err != nil {
		t.Logf("killall sleep: %v", err)
	}

	// 7. block-detach while the guest is paused.
	attach("xvdd", 51760, "/data/disk4.img")
	s.must(nil, "xl", "pause", "guest1")
	began = time.Now()
	o = s.observe("xl block-detach, guest paused", g, "paused", "safe-remove xvdd")
	s.run(o, "xl", "block-detach", "guest1", "xvdd")
	s.end(o, began)
	s.must(nil, "xl", "unpause", "guest1")
	// FORCE_OFF kept the entries: remove them (not observed).
	s.run(nil, "xl", "block-detach", "-f", "guest1", "xvdd")
	s.removed(dom, disk("xvdd", 51760, ""), 25*time.Second)
	s.set("guest1", disk("xvdd", 51760, "absent"))

	// 8. xl destroy while a block-detach waits: the guest is paused, so
	// the detach waits for its frontend until the destroy comes.
	attach("xvde", 51776, "/data/disk5.img")
	s.must(nil, "xl", "pause", "guest1")
	began = time.Now()
	o = s.observe("xl destroy during xl block-detach -f", g, "paused", "destroy xvde", "domain-destroy guest1")
	done := make(chan Command, 1)
	go func() {
		res, err := h.Run(ctx, "xl", "block-detach", "-f", "guest1", "xvde")
		c := Command{Where: "dom0", Argv: []string{"xl", "block-detach", "-f", "guest1", "xvde"}, ExitCode: res.ExitCode, Duration: res.Duration}
		if err != nil {
			c.ExitCode, c.Output = -1, err.Error()
		} else if res.ExitCode != 0 {
			c.Output = strings.TrimSpace(string(res.Stderr) + string(res.Stdout))
		}
		done <- c
	}()
	_, be := paths(dom, disk("xvde", 51776, ""))
	s.waitFor(be+"/state", 10*time.Second, is("5"))
	s.run(o, "xl", "destroy", "guest1")
	o.Commands = append(o.Commands, <-done)
	s.waitFor(fmt.Sprintf("/local/domain/%d", dom), 10*time.Second, gone)
	s.end(o, began)

	// 9. xl destroy of a running guest.
	began = time.Now()
	pre2 := &Observation{Op: "xl create (vbd)", Xenstored: h.Xenstored(), DomState: "running", Model: []string{"add xvda"}}
	pre2.Start = s.mark(pre2.Op + "/start")
	g2, err := h.CreateGuest(ctx, xenhost.GuestConfig{Name: "guest2", Disks: []string{"/data/disk2.img,raw,xvda,w"}, MemoryMB: 128})
	if err != nil {
		t.Fatalf("xl create guest2: %v", err)
	}
	pre2.Guest, pre2.DomID, pre2.Devices = g2.Name(), g2.DomID(), []Device{disk("xvda", 51712, "absent")}
	s.obs = append(s.obs, pre2)
	if !s.connected(g2.DomID(), disk("xvda", 51712, "")) {
		t.Fatalf("guest2's xvda never connected")
	}
	s.set("guest2", disk("xvda", 51712, "connected"))
	s.end(pre2, began)
	began = time.Now()
	o = s.observe("xl destroy", g2, "running", "domain-destroy guest2")
	s.must(o, "xl", "destroy", "guest2")
	s.waitFor(fmt.Sprintf("/local/domain/%d", g2.DomID()), 10*time.Second, gone)
	s.end(o, began)
}

// judge reads the daemon's trace and judges every observation of s.
func (s *session) judge() {
	t, h := s.t, s.h
	// The test's own context ends when it returns, before its cleanups.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	data, err := h.ReadFile(ctx, h.TracePath())
	if err != nil {
		t.Fatalf("reading the trace: %v", err)
	}
	tr, err := xstrace.Parse(strings.NewReader(string(data)))
	if err != nil {
		t.Fatalf("parsing the trace: %v", err)
	}
	if tr.Ambiguous > 0 {
		t.Logf("trace: %d requests while two transactions were open on one connection", tr.Ambiguous)
	}
	for _, o := range s.obs {
		r := Judge(tr, o)
		summary.Results = append(summary.Results, r)
		t.Logf("%-45s %d steps, %d explained, %d unexplained, %d coarser; %v", o.Op, r.Steps, r.Explained, r.Unexplained, len(r.Coarser), o.Duration.Round(100*time.Millisecond))
		if r.Err != "" {
			t.Errorf("%s: %s\n%s", o.Op, r.Err, r.Initial)
			continue
		}
		for _, g := range r.Groups {
			if !g.Explained {
				var b strings.Builder
				for _, ch := range g.Changes {
					fmt.Fprintf(&b, "  line %d %s: %v\n", ch.Line, ch.Conn, ch.Ops)
				}
				t.Errorf("%s: unexplained changes by %v:\n%s%s", o.Op, g.Writers, b.String(), g.Diff)
			}
		}
	}
	logCoverage(t)
}

// logCoverage logs, per actor, the model's transitions the real host
// fired and those it did not.
func logCoverage(t *testing.T) {
	fired, all := summary.Coverage()
	var actors []string
	for a := range all {
		actors = append(actors, a)
	}
	slices.Sort(actors)
	for _, a := range actors {
		var not []string
		for _, n := range all[a] {
			if !slices.Contains(fired[a], n) {
				not = append(not, n)
			}
		}
		t.Logf("coverage %-14s %2d of %2d transitions fired; not: %s", a, len(fired[a]), len(all[a]), strings.Join(not, " | "))
	}
}

// replay plays op ("add" or "remove") of device d on guest g: xbcheck's
// client performs libxl 4.17's steps (the model's) for real, with the
// keys and hotplug scripts they stand for (Hook), while the real drivers
// answer; every change they make must be one the model allows. backend
// "none" leaves the backend driver out of the model (it was unbound). A
// scenario that violates a property is played after the checker's
// counterexample, and the run must take the same steps and violate it.
func (s *session) replay(name string, g *xenhost.Guest, d Device, op, file, backend string, faults []string, props ...string) {
	t := s.t
	t.Helper()
	began := time.Now()
	o := s.observe("played "+name, g, "running", op+" "+d.Name)
	o.Played, o.Faults, o.Properties = true, faults, props
	if backend != "" {
		o.Backend = map[string]string{d.Name: backend}
	}
	s.set(g.Name(), d) // the observation's devices include d as it is now
	o.Devices = append([]Device(nil), s.devs[g.Name()]...)
	if d.State == "absent" {
		o.Devices = append(o.Devices, d)
	}
	src, err := o.Scenario()
	if err != nil {
		t.Fatal(err)
	}
	spec, err := scenario.Parse("played.toml", []byte(src))
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, src)
	}
	c, err := scenario.Build(spec)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	sys := c.System
	di := -1
	for i := range sys.Devices {
		if sys.Devices[i].Name == d.Name {
			di = i
		}
	}
	hook := &observe.LibxlHook{Sys: sys, Device: di, File: file, Vdev: d.Name,
		Runner: func(ctx context.Context, argv []string) (int, string, error) {
			res, err := s.h.Run(ctx, argv...)
			return res.ExitCode, string(res.Stderr) + string(res.Stdout), err
		}}
	played := observe.ToolstackSteps(sys)
	// The counterexample, if the scenario has one, gives the schedule.
	var schedule []int32
	var cex []string
	res0 := checker.Check(sys, c.Properties, checker.Options{})
	if res0.Verdict == checker.Violation {
		for _, id := range res0.Violations[0].Path {
			tr := &sys.Trans[id]
			cex = append(cex, sys.Actors[tr.Actor].Name+": "+tr.Name)
			if played(tr) {
				schedule = append(schedule, id)
			}
		}
	}
	var log strings.Builder
	rep, err := observe.Play(s.ctx, s.xs, sys, observe.PlayOptions{
		Played: played, Target: exec.LiveTarget{Domain: g.DomID(), Device: d.Name, Keep: true},
		Hook: hook.Hook, Schedule: schedule, Faults: faults, Settle: 2 * time.Second, Log: &log})
	if err != nil {
		t.Fatalf("played %s: %v\n%s", name, err, log.String())
	}
	r := &Replay{Name: name, Scenario: src, Steps: rep.Steps, Played: rep.Played, Timers: rep.Timers, Final: rep.Final,
		Divergence: rep.Divergence, Scripts: hook.Scripts, Duration: time.Since(began), Counterexample: cex}
	r.Violated = Violated(c, rep.Path)
	if cex != nil {
		r.Shape = SameShape(sys, rep.Path, res0.Violations[0].Path)
		if r.Shape && len(r.Violated) > 0 {
			summary.Reproduced++
		}
	}
	summary.Replays = append(summary.Replays, r)
	t.Logf("played %s: %d steps (%d played, %d timers), final %v, violated %v, counterexample shape %v %s",
		name, len(rep.Steps), rep.Played, rep.Timers, rep.Final, r.Violated, r.Shape, rep.Divergence)
	switch {
	case rep.Divergence != "":
		t.Errorf("played %s: %s\nsteps: %s\n%s", name, rep.Divergence, strings.Join(rep.Steps, "; "), log.String())
	case !rep.Final:
		t.Errorf("played %s: the run stopped before every actor was final\nsteps: %s", name, strings.Join(rep.Steps, "; "))
	case cex != nil && (!r.Shape || len(r.Violated) == 0):
		t.Errorf("played %s: not the counterexample (violated %v)\nrun:            %s\ncounterexample: %s", name, r.Violated, strings.Join(rep.Steps, "; "), strings.Join(cex, "; "))
	}
	if op == "remove" {
		d.State = "absent"
	} else {
		d.State = "connected"
	}
	s.set(g.Name(), d)
	s.end(o, began)
}
