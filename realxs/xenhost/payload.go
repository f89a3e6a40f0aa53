package xenhost

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"
)

// buildAgent builds xbagent, static, into dst.
func buildAgent(ctx context.Context, dst string) error {
	root := moduleRoot()
	if root == "" {
		return fmt.Errorf("cannot find the xbcheck module root to build xbagent")
	}
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		gobin = "go"
	}
	cmd := exec.CommandContext(ctx, gobin, "build", "-trimpath", "-o", dst, "./realxs/xenhost/xbagent")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build xbagent: %v\n%s", err, out)
	}
	return nil
}

// cpioFile is one entry of a newc archive.
type cpioFile struct {
	name string
	mode uint32 // with the type bits: 0o040000 folder, 0o100000 file
	data []byte
}

// writeCpio writes a newc ("070701") archive with a trailer. The kernel
// unpacks concatenated archives (each may be compressed on its own) into
// one initramfs, so a gzip'd archive with the agent can be appended to the
// base guest initramfs.
func writeCpio(w io.Writer, files []cpioFile) error {
	ino := uint32(1)
	pad := func(n int) []byte { return make([]byte, (4-n%4)%4) }
	entry := func(name string, mode uint32, data []byte) error {
		hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
			ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
		ino++
		var b bytes.Buffer
		b.WriteString(hdr)
		b.WriteString(name)
		b.WriteByte(0)
		b.Write(pad(len(hdr) + len(name) + 1))
		b.Write(data)
		b.Write(pad(len(data)))
		_, err := w.Write(b.Bytes())
		return err
	}
	for _, f := range files {
		if err := entry(f.name, f.mode, f.data); err != nil {
			return err
		}
	}
	return entry("TRAILER!!!", 0, nil)
}

// guestInitrd writes the guest initramfs: the base archive from the
// cache followed by a cpio with bin/xbagent, in ONE gzip stream.
//
// Gotcha: two gzip members one after the other (which the kernel itself
// would unpack) do not work for a PV guest: libxenguest gunzips the
// ramdisk before the guest sees it, and stops at the end of the first
// member, so the agent was silently missing. Concatenated cpio archives
// inside one compressed stream are fine.
func guestInitrd(dst, base string, agent []byte) error {
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer out.Close()
	in, err := os.Open(base)
	if err != nil {
		return err
	}
	defer in.Close()
	zr, err := gzip.NewReader(in)
	if err != nil {
		return fmt.Errorf("%s: %w", base, err)
	}
	zw, _ := gzip.NewWriterLevel(out, gzip.BestSpeed)
	if _, err := io.Copy(zw, zr); err != nil {
		return fmt.Errorf("%s: %w", base, err)
	}
	if err := writeCpio(zw, []cpioFile{
		{name: "bin", mode: 0o040755},
		{name: "bin/xbagent", mode: 0o100755, data: agent},
	}); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return out.Close()
}

// guestCfgTemplate is the example guest config on the payload disk
// (guest/guest1.cfg); CreateGuest writes its own.
const guestCfgTemplate = `# A PV guest of the xbcheck test host (realxs/xenhost writes its own
# configs to /data/guests/NAME.cfg in the same shape).
type    = "pv"
name    = "guest1"
kernel  = "/data/guest/vmlinux"
ramdisk = "/data/guest/initrd.gz"
extra   = "console=hvc0 quiet loglevel=4"
memory  = 128
vcpus   = 1
disk    = [ '/data/disk1.img,raw,xvda,w' ]
vif     = [ 'bridge=xenbr0,mac=00:16:3e:00:00:01' ]
on_crash = "destroy"
`

// writePayload writes the payload disk: a plain tar that dom0 unpacks
// into /data (xbagent; guest/vmlinux, guest/initrd.gz, guest/guest1.cfg).
func writePayload(dst, agent, vmlinux, initrd string) error {
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer out.Close()
	tw := tar.NewWriter(out)
	now := time.Now()
	addFile := func(name, src string, mode int64) error {
		f, err := os.Open(src)
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: st.Size(), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = io.Copy(tw, f)
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: "guest/", Mode: 0o755, ModTime: now, Typeflag: tar.TypeDir}); err != nil {
		return err
	}
	for _, f := range []struct {
		name, src string
		mode      int64
	}{
		{"xbagent", agent, 0o755},
		{"guest/vmlinux", vmlinux, 0o644},
		{"guest/initrd.gz", initrd, 0o644},
	} {
		if err := addFile(f.name, f.src, f.mode); err != nil {
			return err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "guest/guest1.cfg", Mode: 0o644, Size: int64(len(guestCfgTemplate)), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := io.WriteString(tw, guestCfgTemplate); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return out.Close()
}
