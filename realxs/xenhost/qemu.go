package xenhost

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// killQEMU kills a QEMU that has not answered (its whole process group)
// and waits for it, for at most 10 s.
func (h *Host) killQEMU() {
	if h.qemu == nil || h.qemu.Process == nil {
		return
	}
	syscall.Kill(-h.qemu.Process.Pid, syscall.SIGKILL)
	select {
	case <-h.qemuDone:
	case <-time.After(10 * time.Second):
	}
	if h.conn != nil {
		h.conn.Close()
		h.conn = nil
	}
	if h.console != nil {
		h.console.close()
	}
}

// startQEMU starts QEMU in its own process group, killed when this
// process dies.
func (h *Host) startQEMU(payload string) error {
	h.qemuDone = make(chan struct{})
	h.qemuErr = nil
	os.Remove(filepath.Join(h.runDir, "ctl.sock"))
	kvmDev := false
	if _, err := os.Stat("/dev/kvm"); err == nil {
		kvmDev = true
	}
	cpuinfo, _ := os.ReadFile("/proc/cpuinfo")
	accel, cpu := chooseAccel(os.Getenv(EnvAccel), kvmDev, string(cpuinfo))
	h.accel = accel
	boot := filepath.Join(h.cfg.Cache, "boot")
	daemon := "c"
	if h.cfg.Xenstored == OXenstored {
		daemon = "o"
	}
	sock := filepath.Join(h.runDir, "ctl.sock")
	xenArgs := "console=com1 com1=115200,8n1 dom0_mem=512M,max:512M dom0_max_vcpus=2 loglvl=all guest_loglvl=all"
	// NB: no commas in dom0's command line: QEMU splits the -initrd
	// module list on them.
	dom0Args := "console=hvc0 earlyprintk=xen xbxenstored=" + daemon
	args := []string{
		"-machine", "pc", "-accel", accel, "-cpu", cpu, "-smp", "2", "-m", "2048",
		// No network at all: without -nic none QEMU adds a default NIC
		// with user-mode networking.
		"-nic", "none",
		"-display", "none", "-vga", "none", "-monitor", "none", "-serial", "stdio",
		// dom0's `reboot -f` (and a Xen panic, after 5 s) resets the
		// machine; with -no-reboot QEMU exits instead.
		"-no-reboot",
		// boot/xen is the gunzipped multiboot ELF; QEMU's multiboot loader
		// takes module 1 (dom0's kernel and command line) and module 2
		// (dom0's initramfs) from -initrd.
		"-kernel", filepath.Join(boot, "xen"), "-append", xenArgs,
		"-initrd", filepath.Join(boot, "vmlinux") + " " + dom0Args + "," + filepath.Join(boot, "dom0-initrd.gz"),
		"-drive", "file=" + payload + ",format=raw,if=virtio,readonly=on",
		// The control channel: one virtio-serial port, a unix socket here.
		"-device", "virtio-serial-pci",
		"-chardev", "socket,id=ctl,path=" + sock + ",server=on,wait=off",
		"-device", "virtserialport,chardev=ctl,name=xbctl",
	}
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		return err
	}
	console, err := newConsoleLog(filepath.Join(h.cfg.LogDir, "console.log"))
	if err != nil {
		return err
	}
	h.console = console
	cmd := exec.Command(qemu, args...)
	cmd.Stdin = nil
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	os.WriteFile(filepath.Join(h.cfg.LogDir, "qemu-cmdline.txt"), []byte(strings.Join(append([]string{qemu}, args...), "\n")+"\n"), 0o644)
	h.qemu = cmd
	// Pdeathsig fires when the thread that started the child exits, not
	// the process: start QEMU from a goroutine locked to its thread, which
	// lives until QEMU has exited.
	started := make(chan error, 1)
	done := h.qemuDone
	go func() {
		runtime.LockOSThread()
		h.start = time.Now()
		console.start = h.start
		console.mu.Lock()
		console.lastAt = h.start
		console.mu.Unlock()
		if err := cmd.Start(); err != nil {
			started <- err
			close(done)
			return
		}
		started <- nil
		console.copy(stdout)
		h.qemuErr = cmd.Wait()
		close(done)
		// The thread stays locked and ends with the goroutine.
	}()
	return <-started
}
