package xenhost

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigDefaults(t *testing.T) {
	t.Setenv(EnvCache, "")
	c, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.Xenstored != CXenstored || c.BootTimeout != DefaultBootTimeout || c.Log == nil {
		t.Fatalf("defaults: %+v", c)
	}
	root := moduleRoot()
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root %q: %v", root, err)
	}
	if c.Cache != filepath.Join(root, ".cache", "xenhost") {
		t.Fatalf("cache %q", c.Cache)
	}
	t.Setenv(EnvCache, "/some/where")
	c, _ = Config{Xenstored: "o"}.withDefaults()
	if c.Cache != "/some/where" || c.Xenstored != OXenstored {
		t.Fatalf("env: %+v", c)
	}
	c, _ = Config{Cache: "/mine"}.withDefaults()
	if c.Cache != "/mine" {
		t.Fatalf("explicit cache: %+v", c)
	}
	_, err = Config{Xenstored: "xenstored-ng"}.withDefaults()
	var e *Error
	if !errors.As(err, &e) || e.Op != "boot" {
		t.Fatalf("unknown daemon: %v", err)
	}
}

func TestChooseAccel(t *testing.T) {
	const vmx = "processor : 0\nflags\t\t: fpu vme vmx sse\n"
	const pvm = "processor : 0\nflags\t\t: fpu vme sse hypervisor\n"
	for _, tc := range []struct {
		force      string
		kvm        bool
		cpuinfo    string
		accel, cpu string
	}{
		{"", true, vmx, "kvm", "host"},
		{"", true, strings.Replace(vmx, "vmx", "svm", 1), "kvm", "host"},
		{"", true, pvm, "tcg", "qemu64"}, // kvm_pvm: /dev/kvm without VMX/SVM
		{"", false, vmx, "tcg", "qemu64"},
		{"tcg", true, vmx, "tcg", "qemu64"},
		{"kvm", false, pvm, "kvm", "host"},
		{"", true, "flags: vmxx\n", "tcg", "qemu64"},
	} {
		a, c := chooseAccel(tc.force, tc.kvm, tc.cpuinfo)
		if a != tc.accel || c != tc.cpu {
			t.Errorf("chooseAccel(%q, %v, %q) = %s %s, want %s %s", tc.force, tc.kvm, tc.cpuinfo, a, c, tc.accel, tc.cpu)
		}
	}
}

func TestErrorShape(t *testing.T) {
	err := error(&Error{Op: "boot", Path: "/c", Err: ErrNoCache})
	if !errors.Is(err, ErrNoCache) || !strings.HasPrefix(err.Error(), "xenhost: boot /c: ") {
		t.Fatalf("%v", err)
	}
}

func TestBootWithoutCache(t *testing.T) {
	_, err := Boot(t.Context(), Config{Cache: t.TempDir()})
	if !errors.Is(err, ErrNoCache) {
		t.Fatalf("Boot without images: %v, want ErrNoCache", err)
	}
}
