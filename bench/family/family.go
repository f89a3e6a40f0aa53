// Package family is the benchmark family's scenario (package bench): N
// disks of one guest attached and then detached concurrently by libxl
// 4.17, with blkback and blkfront. It is apart from package bench so that
// the program that generates bench's guards (go generate ./bench) builds
// whatever state the generated files are in.
package family

import (
	"fmt"
	"strings"

	"github.com/xbcheck/xbcheck/scenario"
)

// Build returns the scenario with n disks (bench.AttachDetach).
func Build(n int) (*scenario.Compiled, error) {
	sp, err := scenario.Parse(fmt.Sprintf("attach-detach-%d.toml", n), []byte(Source(n)))
	if err != nil {
		return nil, err
	}
	return scenario.Build(sp)
}

// Source is the scenario file of Build(n).
func Source(n int) string {
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

// MaxGenerated is the largest N whose guards package bench holds
// generated (GeneratedFile): the Ns that make bench measures against SPIN.
const MaxGenerated = 3

// GeneratedFile is the file of package bench that holds the generated
// guards of N = n.
func GeneratedFile(n int) string { return fmt.Sprintf("guards%d_gen.go", n) }

// Generate returns the Go source of GeneratedFile(n): the guards of
// Build(n) compiled to Go (model.System.GenerateGo), registered with
// package bench.
func Generate(n int) ([]byte, error) {
	c, err := Build(n)
	if err != nil {
		return nil, err
	}
	src, err := c.System.GenerateGo("bench", fmt.Sprintf("guards%d", n))
	if err != nil {
		return nil, err
	}
	return fmt.Appendf(src, "\nfunc init() { generated[%d] = guards%d }\n", n, n), nil
}
