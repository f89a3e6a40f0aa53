package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/xbcheck/xbcheck/realxs"
)

// ProbeReport is what `xbagent xenbus-probe` prints.
type ProbeReport struct {
	Device  string       `json:"device"`
	DomID   int          `json:"domid"`
	OK      bool         `json:"ok"`
	Checks  []ProbeCheck `json:"checks"`
	Refused []Refusal    `json:"refused,omitempty"`
}

// A ProbeCheck is one operation that must succeed.
type ProbeCheck struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// A Refusal is one request that permissions must refuse, and what the
// daemon answered.
type Refusal struct {
	Op      string `json:"op"`
	Path    string `json:"path"`
	Perms   string `json:"perms,omitempty"` // the node's (or its parent's) permissions as read before
	Errno   string `json:"errno"`           // "" when the request was (wrongly) accepted
	Refused bool   `json:"refused"`
}

func probeMain(args []string) error {
	fs := flag.NewFlagSet("xenbus-probe", flag.ContinueOnError)
	dev := fs.String("dev", "", "the xenbus device (default /dev/xen/xenbus, then /proc/xen/xenbus)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep := probe(ctx, *dev)
	b, _ := json.MarshalIndent(rep, "", "  ")
	fmt.Println(string(b))
	if !rep.OK {
		os.Exit(1)
	}
	return nil
}

func probe(ctx context.Context, dev string) *ProbeReport {
	rep := &ProbeReport{Device: dev, OK: true}
	check := func(name string, err error, detail string) bool {
		c := ProbeCheck{Name: name, OK: err == nil, Detail: detail}
		if err != nil {
			c.Detail = err.Error()
			rep.OK = false
		}
		rep.Checks = append(rep.Checks, c)
		return err == nil
	}
	if rep.Device == "" {
		for _, p := range realxs.DefaultXenbusPaths {
			if _, err := os.Stat(p); err == nil {
				rep.Device = p
				break
			}
		}
	}
	c, err := openXenbus(ctx, rep.Device)
	if !check("open", err, rep.Device) {
		return rep
	}
	defer c.Close()

	b, err := c.Read(ctx, "domid")
	if err == nil {
		rep.DomID, err = strconv.Atoi(string(b))
	}
	if !check("read domid", err, string(b)) {
		return rep
	}
	home := "/local/domain/" + strconv.Itoa(rep.DomID)
	base := home + "/data/xbprobe"

	err = c.Write(ctx, base+"/a", []byte("hello"))
	check("write", err, base+"/a")
	b, err = c.Read(ctx, base+"/a")
	if err == nil && string(b) != "hello" {
		err = fmt.Errorf("read back %q", b)
	}
	check("read", err, string(b))

	names, err := c.Directory(ctx, base)
	if err == nil && !slices.Contains(names, "a") {
		err = fmt.Errorf("directory %v lacks a", names)
	}
	check("directory", err, fmt.Sprint(names))

	check("watch+event", probeWatch(ctx, c, base+"/w"), base+"/w")

	err = c.Transact(ctx, func(tx *realxs.Tx) error {
		if err := tx.Write(ctx, base+"/t", []byte("in-tx")); err != nil {
			return err
		}
		v, err := tx.Read(ctx, base+"/t")
		if err == nil && string(v) != "in-tx" {
			err = fmt.Errorf("read in transaction %q", v)
		}
		return err
	})
	if err == nil {
		b, err = c.Read(ctx, base+"/t")
		if err == nil && string(b) != "in-tx" {
			err = fmt.Errorf("after commit %q", b)
		}
	}
	check("transaction", err, base+"/t")

	perms, err := c.GetPerms(ctx, base+"/a")
	check("get perms", err, fmt.Sprint(perms))
	want := []realxs.Perm{{Domid: uint32(rep.DomID), Access: realxs.AccessNone}, {Domid: 0, Access: realxs.AccessRead}}
	err = c.SetPerms(ctx, base+"/a", want)
	if err == nil {
		var got []realxs.Perm
		got, err = c.GetPerms(ctx, base+"/a")
		if err == nil && !slices.Equal(got, want) {
			err = fmt.Errorf("perms %v after setting %v", got, want)
		}
	}
	check("set perms", err, fmt.Sprint(want))

	check("rm", c.Rm(ctx, base), base)

	if rep.DomID != 0 {
		probeRefusals(ctx, c, rep, home)
	}
	return rep
}

// probeWatch registers a watch, takes its registration event, writes
// below it and waits for that event.
func probeWatch(ctx context.Context, c *realxs.Client, path string) error {
	w, err := c.Watch(ctx, path, "xbprobe")
	if err != nil {
		return err
	}
	defer w.Unwatch(ctx)
	wait := func(want string) error {
		t := time.NewTimer(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case ev, ok := <-w.Events():
				if !ok {
					return fmt.Errorf("watch ended: %v", w.Err())
				}
				if ev.Path == want {
					return nil
				}
			case <-t.C:
				return fmt.Errorf("no event for %s within 10 s", want)
			}
		}
	}
	if err := wait(path); err != nil {
		return fmt.Errorf("registration event: %w", err)
	}
	if err := c.Write(ctx, path+"/x", []byte("1")); err != nil {
		return err
	}
	return wait(path + "/x")
}

// probeRefusals tries, from a guest, requests that the permissions must
// refuse, and records what the daemon said.
func probeRefusals(ctx context.Context, c *realxs.Client, rep *ProbeReport, home string) {
	type attempt struct{ op, path, permsOf string }
	attempts := []attempt{
		{"write", "/local/domain/0/xbprobe", "/local/domain/0"},
		{"write", "/local/domain/0/backend/xbprobe", "/local/domain/0/backend"},
		{"setperms", "/local/domain/0", "/local/domain/0"},
		// The guest's device/ folder is dom0's (libxl gives the guest
		// read access); the frontend directories below it are the
		// guest's own.
		{"write", home + "/device/xbprobe", home + "/device"},
	}
	// The backend of one of this guest's disks, found through the
	// frontend's "backend" node: dom0's, readable by the guest (the
	// backend's parent folders are not).
	if devs, err := c.Directory(ctx, home+"/device/vbd"); err == nil && len(devs) > 0 {
		if be, err := c.Read(ctx, home+"/device/vbd/"+devs[0]+"/backend"); err == nil {
			attempts = append(attempts, attempt{"write", string(be) + "/state", string(be)})
		}
	}
	for _, a := range attempts {
		r := Refusal{Op: a.op, Path: a.path}
		if ps, err := c.GetPerms(ctx, a.permsOf); err == nil {
			r.Perms = fmt.Sprint(ps)
		} else {
			r.Perms = "(" + err.Error() + ")"
		}
		var err error
		switch a.op {
		case "write":
			// Never change a real node: write only to a name that does
			// not exist, or the value the node has.
			val := []byte("xbprobe")
			if v, rerr := c.Read(ctx, a.path); rerr == nil {
				val = v
			}
			err = c.Write(ctx, a.path, val)
		case "setperms":
			var ps []realxs.Perm
			if ps, err = c.GetPerms(ctx, a.path); err == nil {
				err = c.SetPerms(ctx, a.path, ps)
			}
		}
		if err != nil {
			var errno realxs.Errno
			if errors.As(err, &errno) {
				r.Errno = string(errno)
			} else {
				r.Errno = err.Error()
			}
			r.Refused = true
		} else {
			rep.OK = false
		}
		rep.Refused = append(rep.Refused, r)
	}
}
