package xenhost

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestCpio(t *testing.T) {
	var buf bytes.Buffer
	if err := writeCpio(&buf, []cpioFile{
		{name: "bin", mode: 0o040755},
		{name: "bin/tool", mode: 0o100755, data: []byte("abcde")},
	}); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if len(b)%4 != 0 || !bytes.HasPrefix(b, []byte("070701")) || !bytes.Contains(b, []byte("TRAILER!!!\x00")) {
		t.Fatalf("not a padded newc archive: %q", b)
	}
	// The second header starts 4-aligned right after "bin\0" and padding.
	if i := bytes.Index(b[1:], []byte("070701")) + 1; i%4 != 0 {
		t.Fatalf("second entry at %d", i)
	}
	if _, err := exec.LookPath("cpio"); err != nil {
		t.Skip("no cpio to unpack with")
	}
	dir := t.TempDir()
	cmd := exec.Command("cpio", "-id", "--quiet")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(b)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cpio: %v %s", err, out)
	}
	got, err := os.ReadFile(filepath.Join(dir, "bin", "tool"))
	st, _ := os.Stat(filepath.Join(dir, "bin", "tool"))
	if err != nil || string(got) != "abcde" || st.Mode().Perm() != 0o755 {
		t.Fatalf("unpacked %q %v %v", got, st.Mode(), err)
	}
}

// The guest initramfs must be a single gzip stream (libxenguest stops at
// the end of the first member).
func TestGuestInitrdOneStream(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.gz")
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	writeCpio(zw, []cpioFile{{name: "init", mode: 0o100755, data: []byte("#!/bin/sh\n")}})
	zw.Close()
	os.WriteFile(base, b.Bytes(), 0o644)
	dst := filepath.Join(dir, "initrd.gz")
	if err := guestInitrd(dst, base, []byte("AGENT")); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(dst)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	zr.Multistream(false)
	all, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(all, []byte("#!/bin/sh")) || !bytes.Contains(all, []byte("bin/xbagent\x00")) || !bytes.Contains(all, []byte("AGENT")) {
		t.Fatal("the first gzip member lacks the base archive or the agent")
	}
	if n, _ := io.Copy(io.Discard, f); n != 0 {
		t.Fatalf("%d bytes after the first gzip member", n)
	}
}

func TestPayload(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"agent", "vmlinux", "initrd"} {
		os.WriteFile(filepath.Join(dir, n), []byte(n), 0o644)
	}
	dst := filepath.Join(dir, "payload.tar")
	if err := writePayload(dst, filepath.Join(dir, "agent"), filepath.Join(dir, "vmlinux"), filepath.Join(dir, "initrd")); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(dst)
	defer f.Close()
	tr := tar.NewReader(f)
	got := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		got[h.Name] = string(b)
		if h.Name == "xbagent" && h.Mode != 0o755 {
			t.Errorf("xbagent mode %o", h.Mode)
		}
	}
	if got["xbagent"] != "agent" || got["guest/vmlinux"] != "vmlinux" || got["guest/initrd.gz"] != "initrd" || !strings.Contains(got["guest/guest1.cfg"], `name    = "guest1"`) {
		t.Fatalf("payload: %v", got)
	}
}

func TestGuestCfg(t *testing.T) {
	cfg, err := guestCfg(GuestConfig{Name: "g1", Disks: []string{"/data/d.img,raw,xvda,w"}, Vifs: []string{"bridge=xenbr0"}, MemoryMB: 96})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`name    = "g1"`, `memory  = 96`, `disk    = [ '/data/d.img,raw,xvda,w' ]`, `vif     = [ 'bridge=xenbr0' ]`} {
		if !strings.Contains(cfg, want) {
			t.Errorf("cfg lacks %q:\n%s", want, cfg)
		}
	}
	if cfg, _ := guestCfg(GuestConfig{Name: "g"}); !strings.Contains(cfg, "disk    = [  ]") {
		t.Errorf("no disks:\n%s", cfg)
	}
	for _, bad := range []GuestConfig{{Name: "a b"}, {Name: ""}, {Name: "g", Disks: []string{"x'y"}}} {
		if _, err := guestCfg(bad); err == nil {
			t.Errorf("guestCfg(%+v) accepted", bad)
		}
	}
}

func TestDiskTarget(t *testing.T) {
	for spec, want := range map[string]string{
		"/data/disk1.img,raw,xvda,w":              "/data/disk1.img",
		"format=raw,vdev=xvdb,target=/data/b.img": "/data/b.img",
		"/dev/loop0,raw,xvda,w":                   "",
		"/data/../etc/x,raw,xvda":                 "",
		"vdev=xvdc,format=raw":                    "",
	} {
		if got := diskTarget(spec); got != want {
			t.Errorf("diskTarget(%q) = %q, want %q", spec, got, want)
		}
	}
}
