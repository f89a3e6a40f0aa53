// Package bench holds the checker's benchmark family: N disks of one
// guest attached and then detached concurrently by libxl 4.17, with blkback
// and blkfront, for N = 1, 2, 3, ... The state space grows fast with N.
package bench

import (
	"fmt"
	"strings"

	"github.com/xbcheck/xbcheck/scenario"
)

// AttachDetach returns the scenario with n disks: every disk is added and,
// once its add has completed, removed (operation add-remove), all disks
// concurrently. The properties are the safety ones that hold and deadlock
// freedom, so the checker explores the whole state space.
func AttachDetach(n int) (*scenario.Compiled, error) {
	sp, err := scenario.Parse(fmt.Sprintf("attach-detach-%d.toml", n), []byte(AttachDetachSource(n)))
	if err != nil {
		return nil, err
	}
	return scenario.Build(sp)
}

// AttachDetachSource is the scenario file of AttachDetach(n), for running
// the family through xbcheck.
func AttachDetachSource(n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name = \"attach-detach-%d\"\n[toolstack]\nkind = \"libxl\"\nversion = \"4.17\"\n", n)
	b.WriteString("[[domain]]\nname = \"G\"\nid = 1\nkind = \"pv\"\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "[[device]]\nname = \"xvd%c\"\nkind = \"vbd\"\nfrontend = \"G\"\ndevid = %d\nstate = \"absent\"\n", 'a'+i, 51712+16*i)
	}
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "[[operation]]\nkind = \"add-remove\"\ndevice = \"xvd%c\"\n", 'a'+i)
	}
	b.WriteString("[check]\nproperties = [\"result-reflects-state\", \"no-resurrection\", \"deadlock\"]\nexpect = \"ok\"\n")
	return b.String()
}
