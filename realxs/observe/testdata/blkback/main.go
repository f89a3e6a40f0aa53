// Command blkback is an independent test program for observed mode: it
// plays Linux's blkback for one vbd against a xenstore daemon, below a
// root prefix, the way drivers/block/xen-blkback/xenbus.c does
// (xenbus-protocol.md table 4.1): probe on Initialising and switch to
// InitWait, wait for physical-device (the hotplug script) and for the
// frontend's Initialised, then write sectors and switch to Connected;
// follow the frontend to Closing and Closed. It writes a feature key the
// model leaves out, as the real driver does.
//
// It is written from the protocol, not from the model, and shares no
// code with it. With -bug it switches to Connected at probe, skipping
// InitWait, which the model does not allow.
//
//	blkback -socket PATH -root ROOT -be /local/domain/0/backend/vbd/1/51712
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/xbcheck/xbcheck/realxs"
)

func main() {
	socket := flag.String("socket", "", "xenstored socket")
	root := flag.String("root", "", "root prefix of the run")
	beRel := flag.String("be", "", "the backend directory (model path)")
	bug := flag.Bool("bug", false, "switch to Connected at probe")
	flag.Parse()
	ctx := context.Background()
	c, err := realxs.Dial(ctx, *socket)
	if err != nil {
		fmt.Fprintln(os.Stderr, "blkback:", err)
		os.Exit(1)
	}
	defer c.Close()
	if err := run(ctx, c, *root, *root+*beRel, *bug); err != nil {
		fmt.Fprintln(os.Stderr, "blkback:", err)
		os.Exit(1)
	}
}

func exists(ctx context.Context, c *realxs.Client, p string) bool {
	_, err := c.Read(ctx, p)
	return err == nil
}

func read(ctx context.Context, c *realxs.Client, p string) string {
	v, _ := c.Read(ctx, p)
	return string(v)
}

func run(ctx context.Context, c *realxs.Client, root, be string, bug bool) error {
	w, err := c.Watch(ctx, be, "blkback-be")
	if err != nil {
		return err
	}
	events := make(chan struct{}, 1)
	kick := func(ch <-chan realxs.Event) {
		for range ch {
			select {
			case events <- struct{}{}:
			default:
			}
		}
	}
	go kick(w.Events())
	var (
		probed, gate, rings bool
		cached              string
		fe                  string
	)
	// xenbus_switch_state: in a transaction, write the state only if the
	// node exists; nothing when the cached state already matches.
	switchTo := func(s string) error {
		if cached == s {
			return nil
		}
		err := c.Transact(ctx, func(tx *realxs.Tx) error {
			if _, err := tx.Read(ctx, be+"/state"); err != nil {
				return err
			}
			return tx.Write(ctx, be+"/state", []byte(s))
		})
		if errors.Is(err, realxs.ENOENT) {
			return nil
		}
		cached = s
		return err
	}
	for {
		select {
		case <-events:
		case <-time.After(30 * time.Second):
			return errors.New("no event for 30 s")
		}
		state, err := c.Read(ctx, be+"/state")
		if errors.Is(err, realxs.ENOENT) {
			if probed {
				return nil // the directory is gone: unregister
			}
			continue
		}
		if !probed {
			if string(state) != "1" || !exists(ctx, c, be+"/frontend") || !exists(ctx, c, be+"/frontend-id") {
				continue
			}
			fe = root + read(ctx, c, be+"/frontend")
			if !exists(ctx, c, fe) {
				continue
			}
			probed = true
			fw, err := c.Watch(ctx, fe+"/state", "blkback-fe")
			if err != nil {
				return err
			}
			go kick(fw.Events())
			if err := c.Write(ctx, be+"/feature-flush-cache", []byte("1")); err != nil {
				return err
			}
			first := "2"
			if bug {
				first = "4"
			}
			if err := switchTo(first); err != nil {
				return err
			}
			continue
		}
		if !gate && exists(ctx, c, be+"/physical-device") {
			gate = true
		}
		fs := read(ctx, c, fe+"/state")
		if !rings && (fs == "3" || fs == "4") && cached != "4" {
			read(ctx, c, fe+"/ring-ref")
			read(ctx, c, fe+"/event-channel")
			rings = true
		}
		if gate && rings && cached != "4" {
			if err := c.Transact(ctx, func(tx *realxs.Tx) error {
				return tx.Write(ctx, be+"/sectors", []byte("2097152"))
			}); err != nil {
				return err
			}
			if err := switchTo("4"); err != nil {
				return err
			}
		}
		switch fs {
		case "5":
			err = switchTo("5")
		case "6":
			err = switchTo("6")
		}
		if err != nil {
			return err
		}
	}
}
