// Command xbagent is the agent of xbcheck's real Xen test host
// (realxs/xenhost). It is built static (CGO_ENABLED=0) by the host at
// every boot and shipped on the payload disk.
//
//	xbagent dom0 -port /dev/vportNpM -trace FILE
//	    In dom0: serve the host over the virtio-serial port, multiplexed
//	    with yamux (see realxs/xenhost/internal/proto): new xenstored
//	    connections, commands, file reads and writes, power-off.
//	xbagent guest
//	    In a guest: serve commands that dom0 writes into xenstore under
//	    /local/domain/<self>/data/xbagent, through /dev/xen/xenbus with
//	    realxs.DialXenbus.
//	xbagent xenbus-probe [-dev PATH]
//	    Exercise realxs over the xenbus device (read, write, directory,
//	    watch and event, transaction, permissions; in a guest also writes
//	    that permissions must refuse) and print a JSON report; exit 1 if a
//	    check failed.
//
// Nothing here listens on a network: dom0's agent talks over the serial
// port only, a guest's over xenstore only.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "dom0":
		err = dom0Main(os.Args[2:])
	case "guest":
		err = guestMain(os.Args[2:])
	case "xenbus-probe":
		err = probeMain(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "xbagent:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: xbagent dom0 -port DEV -trace FILE | guest | xenbus-probe [-dev PATH]")
	os.Exit(2)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "xbagent: "+format+"\n", args...)
}
