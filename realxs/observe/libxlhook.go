package observe

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/realxs"
)

// A Runner runs a command in the backend domain (dom0): here with
// os/exec, on a test host through its agent. It returns the exit code
// and the command's output.
type Runner func(ctx context.Context, argv []string) (exit int, output string, err error)

// A Script is one hotplug script a played step ran.
type Script struct {
	Argv     []string
	ExitCode int
	Duration time.Duration
	Output   string `json:",omitempty"`
}

// Extra are the keys libxl 4.17 writes in a disk's directories that the
// model leaves out (docs/model.md), as the trace of a real `xl
// block-attach` shows them (shared/xen-test-host/example-run): a played
// replay writes them in the same transaction as the model's entries,
// because the real drivers need them (blkfront reads virtual-device when
// it probes; the block script reads params, type and mode).
func Extra(d *model.Device, file, vdev string) (fe, be map[string]string) {
	fe = map[string]string{
		"virtual-device": strconv.Itoa(d.DevID),
		"device-type":    "disk",
		"trusted":        "1",
		"protocol":       "x86_64-abi",
	}
	be = map[string]string{
		"params":         file,
		"script":         "/etc/xen/scripts/block",
		"removable":      "0",
		"bootable":       "1",
		"dev":            vdev,
		"type":           "phy",
		"mode":           "w",
		"device-type":    "disk",
		"discard-enable": "1",
		"specification":  "xen",
	}
	return fe, be
}

// ToolstackSteps says which transitions a played replay performs itself:
// the toolstack's, except the outcomes of a hotplug script that write to
// the store, which are the real script's writes and so observed (an
// outcome that writes nothing, the remove script's exit, is played: the
// hook saw the script exit).
func ToolstackSteps(sys *model.System) func(t *model.Transition) bool {
	return func(t *model.Transition) bool {
		if sys.Actors[t.Actor].Kind != model.Toolstack {
			return false
		}
		return !strings.HasPrefix(t.Name, "script ") || !t.Writes()
	}
}

// A LibxlHook plays, for one device of a played replay, what libxl 4.17's
// steps in the model stand for on a real host (PlayOptions.Hook): the
// keys the model leaves out, the permissions, and the hotplug scripts.
type LibxlHook struct {
	Sys    *model.System
	Device int    // index into Sys.Devices
	Runner Runner // where the hotplug scripts run: the backend domain
	File   string // a disk's backing file, for its add
	Vdev   string // a disk's name in the guest (xvdb)
	// Scripts lists the scripts run, with their exit codes.
	Scripts []Script
}

// Hook is the executor's hook (PlayOptions.Hook).
func (h *LibxlHook) Hook(ctx context.Context, t *model.Transition, s realxs.Store) error {
	d := &h.Sys.Devices[h.Device]
	switch t.Name {
	case "write entries":
		return h.entries(ctx, d, s)
	case "run add script":
		return h.script(ctx, d, "add")
	case "run remove script":
		return h.script(ctx, d, "remove")
	}
	return nil
}

// entries writes the keys the model leaves out and the permissions
// libxl__device_generic_add sets: the frontend directory owned by the
// guest and readable by dom0, the backend directory owned by the backend
// domain and readable by the guest (xenbus-protocol.md 2.3); the model
// fixes owners per path but not the read grants, and every key below the
// backend directory needs the guest's read grant, since xenstored gives a
// new node its parent's permissions at creation.
func (h *LibxlHook) entries(ctx context.Context, d *model.Device, s realxs.Store) error {
	if d.Kind != "vbd" {
		return fmt.Errorf("observe: no extra keys known for a %s", d.Kind)
	}
	feDir, beDir := h.Sys.Paths[d.FEDir].Name, h.Sys.Paths[d.BEDir].Name
	fe, be := Extra(d, h.File, h.Vdev)
	for k, v := range fe {
		if err := s.Write(ctx, feDir+"/"+k, []byte(v)); err != nil {
			return err
		}
	}
	for k, v := range be {
		if err := s.Write(ctx, beDir+"/"+k, []byte(v)); err != nil {
			return err
		}
	}
	fePerms := []realxs.Perm{{Domid: uint32(d.FEDom), Access: realxs.AccessNone}, {Domid: uint32(d.BEDom), Access: realxs.AccessRead}}
	bePerms := []realxs.Perm{{Domid: uint32(d.BEDom), Access: realxs.AccessNone}, {Domid: uint32(d.FEDom), Access: realxs.AccessRead}}
	for dir, perms := range map[string][]realxs.Perm{feDir: fePerms, beDir: bePerms} {
		kids, err := s.Directory(ctx, dir)
		if err != nil {
			return err
		}
		for _, p := range append([]string{dir}, prefix(dir, kids)...) {
			if err := s.SetPerms(ctx, p, perms); err != nil {
				return err
			}
		}
	}
	return nil
}

func prefix(dir string, kids []string) []string {
	out := make([]string, len(kids))
	for i, k := range kids {
		out[i] = dir + "/" + k
	}
	return out
}

// script runs the device's hotplug script in dom0 the way libxl 4.17
// does (libxl_linux.c get_hotplug_env and the script's arguments): the
// backend path relative to dom0's home in XENBUS_PATH.
func (h *LibxlHook) script(ctx context.Context, d *model.Device, action string) error {
	rel := strings.TrimPrefix(h.Sys.Paths[d.BEDir].Name, fmt.Sprintf("/local/domain/%d/", d.BEDom))
	argv := []string{"env", "XENBUS_PATH=" + rel, "XENBUS_TYPE=" + d.BEKind, "XENBUS_BASE_PATH=backend"}
	switch d.Kind {
	case "vbd":
		argv = append(argv, "script=/etc/xen/scripts/block", "/etc/xen/scripts/block", action)
	case "vif":
		// libxl runs vif scripts with online/offline and names the
		// interface in $vif.
		act := map[string]string{"add": "online", "remove": "offline"}[action]
		argv = append(argv, "script=/etc/xen/scripts/vif-bridge", fmt.Sprintf("vif=vif%d.%d", d.FEDom, d.DevID),
			"/etc/xen/scripts/vif-bridge", act)
	default:
		return fmt.Errorf("observe: no hotplug script known for a %s", d.Kind)
	}
	began := time.Now()
	code, out, err := h.Runner(ctx, argv)
	if err != nil {
		return err
	}
	c := Script{Argv: argv, ExitCode: code, Duration: time.Since(began)}
	if code != 0 {
		c.Output = strings.TrimSpace(out)
	}
	h.Scripts = append(h.Scripts, c)
	return nil
}
