//go:build realhost

package realhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xbcheck/xbcheck/realxs"
	"github.com/xbcheck/xbcheck/realxs/xenhost"
	"github.com/xbcheck/xbcheck/realxs/xstrace"
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
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	h, err := xenhost.Boot(ctx, xenhost.Config{Xenstored: daemon, Log: testLog{t}})
	if err != nil {
		if errors.Is(err, xenhost.ErrNoCache) && os.Getenv("CI") != "true" {
			t.Skipf("no real Xen host: %v (run `make xenhost` once)", err)
		}
		t.Fatalf("no real Xen host: %v", err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("closing the host: %v", err)
		}
		t.Logf("logs in %s", h.LogDir())
	})
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
	label := fmt.Sprintf("%02d-%s", s.seq, strings.ReplaceAll(what, " ", "-"))
	if _, err := s.xs.Read(s.ctx, xstrace.MarkPrefix+label); err != nil && !errors.Is(err, realxs.ENOENT) {
		s.t.Fatalf("mark %s: %v", label, err)
	}
	return label
}

// run runs argv in dom0 and records it.
func (s *session) run(o *Observation, argv ...string) Command {
	s.t.Helper()
	res, err := s.h.Run(s.ctx, argv...)
	if err != nil {
		s.t.Fatalf("%s: %v", strings.Join(argv, " "), err)
	}
	c := Command{Where: "dom0", Argv: argv, ExitCode: res.ExitCode, Duration: res.Duration}
	if res.ExitCode != 0 {
		c.Output = strings.TrimSpace(string(res.Stderr) + string(res.Stdout))
	}
	s.t.Logf("dom0$ %s → %d in %v %s", strings.Join(argv, " "), res.ExitCode, res.Duration.Round(time.Millisecond), c.Output)
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

// TestConformance performs the real operations on C xenstored and
// explains every change each one made by the model.
func TestConformance(t *testing.T) {
	h := boot(t, xenhost.CXenstored)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s := newSession(t, ctx, h)

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
		s.set("guest1", d)
		o := s.observe("xl block-attach "+name, g, "running", "add "+name)
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
	o := s.observe("xl block-detach", g, "running", "remove xvdb")
	s.must(o, "xl", "block-detach", "guest1", "xvdb")
	if !s.removed(dom, disk("xvdb", 51728, ""), 10*time.Second) {
		t.Errorf("xvdb's backend is still there")
	}
	s.set("guest1", disk("xvdb", 51728, "absent"))
	s.end(o, began)

	// 4, 5. network-attach and network-detach.
	began = time.Now()
	s.set("guest1", vif(1, "absent"))
	o = s.observe("xl network-attach", g, "running", "add vif1")
	s.must(o, "xl", "network-attach", "guest1", "bridge=xenbr0,mac=00:16:3e:00:00:02")
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

	// 6. block-detach while the guest holds the disk open.
	attach("xvdc", 51744, "/data/disk3.img")
	if err := g.Spawn(ctx, "sh", "-c", "exec 3</dev/xvdc; exec sleep 600"); err != nil {
		t.Fatalf("holding xvdc: %v", err)
	}
	time.Sleep(time.Second)
	began = time.Now()
	o = s.observe("xl block-detach, disk open in the guest", g, "running", "remove xvdc")
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
	o = s.observe("xl block-detach, guest paused", g, "paused", "remove xvdd")
	s.run(o, "xl", "block-detach", "guest1", "xvdd")
	s.removed(dom, disk("xvdd", 51760, ""), 15*time.Second)
	s.end(o, began)
	s.must(nil, "xl", "unpause", "guest1")
	s.set("guest1", disk("xvdd", 51760, "absent"))

	// 8. xl destroy while a block-detach runs.
	attach("xvde", 51776, "/data/disk5.img")
	began = time.Now()
	o = s.observe("xl destroy during xl block-detach", g, "running", "remove xvde", "domain-destroy guest1")
	done := make(chan Command, 1)
	go func() {
		res, err := h.Run(ctx, "xl", "block-detach", "guest1", "xvde")
		c := Command{Where: "dom0", Argv: []string{"xl", "block-detach", "guest1", "xvde"}, ExitCode: res.ExitCode, Duration: res.Duration}
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

	// Judge every observation against the daemon's trace.
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
}
