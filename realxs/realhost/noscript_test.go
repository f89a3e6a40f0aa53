//go:build realhost

package realhost

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/xbcheck/xbcheck/realxs/xenhost"
)

// scriptKeyMissing judges fidelity issue 10, item 5 on the real Xen
// 4.17 host h (C xenstored): libxl finds a disk's hotplug script through
// BE/script. With the key removed from a connected disk's backend,
//   - xl block-detach (libxl_device_disk_safe_remove, FORCE_OFF) completes
//     the handshake, fails in device_hotplug (libxl__hotplug_disk: "unable
//     to read script"), keeps the entries and exits 1
//     (scenarios/vbd-remove-no-script-4.17.toml, FORCE_AUTO, keeps them
//     the same way);
//   - xl block-detach -f (libxl_device_disk_destroy, FORCE_ON) removes the
//     device and still exits 1 (scenarios/vbd-destroy-no-script-4.17.toml:
//     result-reflects-state fails).
//
// It creates its own guest and destroys it; TestRealHost runs it on its C
// xenstored host.
func scriptKeyMissing(t *testing.T, h *xenhost.Host) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	s := newSession(t, ctx, h)
	xs, run, exists, waitFor := s.xs, s.exec, s.exists, s.waitFor
	for _, f := range []string{"ns1", "ns2", "ns3"} {
		run("truncate", "-s", "8M", "/data/"+f+".img")
	}
	g, err := h.CreateGuest(ctx, xenhost.GuestConfig{Name: "nsguest", Disks: []string{"/data/ns1.img,raw,xvda,w"}, MemoryMB: 128})
	if err != nil {
		t.Fatalf("xl create: %v", err)
	}
	dom := g.DomID()
	detach := func(name string, devid int, file string, force bool) (rc int, feLeft, beLeft bool, beState string) {
		t.Helper()
		fe := fmt.Sprintf("/local/domain/%d/device/vbd/%d", dom, devid)
		be := fmt.Sprintf("/local/domain/0/backend/vbd/%d/%d", dom, devid)
		if r := run("xl", "block-attach", "nsguest", file+",raw,"+name+",w"); r.ExitCode != 0 {
			t.Fatalf("block-attach %s failed", name)
		}
		is4 := func(v string, ok bool) bool { return ok && v == "4" }
		if !waitFor(fe+"/state", 20*time.Second, is4) || !waitFor(be+"/state", 20*time.Second, is4) {
			t.Fatalf("%s never connected", name)
		}
		script, _ := xs.Read(ctx, be+"/script")
		t.Logf("%s: BE/script was %q; removing it", name, script)
		if err := xs.Rm(ctx, be+"/script"); err != nil {
			t.Fatalf("rm script: %v", err)
		}
		argv := []string{"xl", "block-detach", "nsguest", name}
		if force {
			argv = []string{"xl", "block-detach", "-f", "nsguest", name}
		}
		r := run(argv...)
		time.Sleep(2 * time.Second)
		st, _ := xs.Read(ctx, be+"/state")
		return r.ExitCode, exists(fe), exists(be), string(st)
	}

	rc, fe, be, st := detach("xvdb", 51728, "/data/ns2.img", false)
	t.Logf("xl block-detach (FORCE_OFF), script key removed: exit %d, frontend left %v, backend left %v, backend state %q", rc, fe, be, st)
	if rc == 0 || !fe || !be {
		t.Errorf("xl block-detach without BE/script: exit %d, frontend left %v, backend left %v; the model (vbd-remove-no-script-4.17) says: exit non-zero, entries kept", rc, fe, be)
	}
	if st != "6" {
		t.Errorf("backend state %q after the detach; the model says the handshake completed (6)", st)
	}

	rc, fe, be, st = detach("xvdc", 51744, "/data/ns3.img", true)
	t.Logf("xl block-detach -f (FORCE_ON), script key removed: exit %d, frontend left %v, backend left %v, backend state %q", rc, fe, be, st)
	if rc == 0 || fe || be {
		t.Errorf("xl block-detach -f without BE/script: exit %d, frontend left %v, backend left %v; the model (vbd-destroy-no-script-4.17) says: exit non-zero, device gone", rc, fe, be)
	}
	run("xl", "destroy", "nsguest")
}
