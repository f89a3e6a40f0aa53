package xenhost

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Config says how to boot a [Host]. The zero value boots C xenstored from
// the default cache.
type Config struct {
	// Cache is the folder with the fetched and built images (boot/xen,
	// boot/vmlinux, boot/dom0-initrd.gz, boot/guest-initrd.gz). Default:
	// $XBCHECK_XENHOST, else <module root>/.cache/xenhost.
	Cache string
	// Xenstored is "cxenstored" (the default) or "oxenstored".
	Xenstored string
	// LogDir receives the console, the daemon's trace, xl's logs and the
	// guest consoles on Close. Default: a new temporary folder, kept.
	LogDir string
	// Log receives progress lines ("xenhost: booted in 11.8s (tcg)"). May
	// be nil.
	Log io.Writer
	// BootTimeout bounds the boot, from QEMU's start until dom0's agent
	// answers. Default 120 s.
	BootTimeout time.Duration
}

// DefaultBootTimeout is the boot timeout when Config.BootTimeout is zero.
const DefaultBootTimeout = 120 * time.Second

// The daemons dom0 can run.
const (
	CXenstored = "cxenstored"
	OXenstored = "oxenstored"
)

// Environment variables.
const (
	// EnvCache names the image cache (Config.Cache's default).
	EnvCache = "XBCHECK_XENHOST"
	// EnvAccel forces QEMU's accelerator: "tcg" or "kvm".
	EnvAccel = "XBCHECK_XENHOST_ACCEL"
)

// withDefaults fills in the defaults. It returns an error for an unknown
// daemon.
func (c Config) withDefaults() (Config, error) {
	if c.Cache == "" {
		c.Cache = os.Getenv(EnvCache)
	}
	if c.Cache == "" {
		if root := moduleRoot(); root != "" {
			c.Cache = filepath.Join(root, ".cache", "xenhost")
		}
	}
	switch c.Xenstored {
	case "", "c", CXenstored:
		c.Xenstored = CXenstored
	case "o", OXenstored:
		c.Xenstored = OXenstored
	default:
		return c, &Error{Op: "boot", Path: c.Xenstored, Err: errors.New(`unknown xenstored (want "cxenstored" or "oxenstored")`)}
	}
	if c.BootTimeout <= 0 {
		c.BootTimeout = DefaultBootTimeout
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	return c, nil
}

// moduleRoot finds the module's root folder: from this source file's
// location (tests run from the source tree), else upwards from the
// working directory.
func moduleRoot() string {
	isRoot := func(d string) bool {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		return err == nil && strings.Contains(string(b), "module github.com/xbcheck/xbcheck\n")
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		d := filepath.Join(filepath.Dir(file), "..", "..")
		if isRoot(d) {
			abs, _ := filepath.Abs(d)
			return abs
		}
	}
	d, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if isRoot(d) {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ""
		}
		d = parent
	}
}

// chooseAccel picks QEMU's accelerator and CPU model. force is
// $XBCHECK_XENHOST_ACCEL; kvmDev says whether /dev/kvm exists; cpuinfo is
// /proc/cpuinfo.
//
// KVM only with hardware virtualisation (vmx or svm among the CPU flags):
// a /dev/kvm without it (kvm_pvm, the software PVM hypervisor on the
// project's machines) falls back to its instruction emulator, which gives
// up in Xen's early boot (rdsspq in the CET shadow-stack check).
//
// Gotcha: under TCG the CPU model is qemu64. With -cpu max, dom0 crashes at
// once (#PF with SMAP, QEMU 7.2's TCG), and with -cpu max,-smap busybox
// dies of general protection faults (7.2's TCG AVX).
func chooseAccel(force string, kvmDev bool, cpuinfo string) (accel, cpu string) {
	switch force {
	case "kvm":
		return "kvm", "host"
	case "tcg":
		return "tcg", "qemu64"
	}
	if kvmDev && hasVirtFlag(cpuinfo) {
		return "kvm", "host"
	}
	return "tcg", "qemu64"
}

func hasVirtFlag(cpuinfo string) bool {
	for _, line := range strings.Split(cpuinfo, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(k) != "flags" {
			continue
		}
		for _, f := range strings.Fields(v) {
			if f == "vmx" || f == "svm" {
				return true
			}
		}
	}
	return false
}

// An Error records a failed operation on the test host, shaped like
// io/fs.PathError: the operation, the path or name it was about (a file
// in dom0, a command, a guest, the cache folder), and the cause.
type Error struct {
	Op   string
	Path string
	Err  error
}

func (e *Error) Error() string {
	if e.Path == "" {
		return "xenhost: " + e.Op + ": " + e.Err.Error()
	}
	return "xenhost: " + e.Op + " " + e.Path + ": " + e.Err.Error()
}

// Unwrap returns e.Err.
func (e *Error) Unwrap() error { return e.Err }

// Sentinel errors, matched with errors.Is.
var (
	// ErrNoCache: the images are not built (run `make xenhost`).
	ErrNoCache = errors.New("test host images not built (run `make xenhost`)")
	// ErrStaleCache: tools/xenhost changed since the images were built
	// (run `make xenhost`).
	ErrStaleCache = errors.New("test host images older than tools/xenhost (run `make xenhost`)")
	// ErrClosed: the host was closed.
	ErrClosed = errors.New("test host closed")
)
