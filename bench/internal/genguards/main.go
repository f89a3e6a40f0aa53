// Command genguards writes the benchmark family's generated guards
// (model.System.GenerateGo) for N = 1 to family.MaxGenerated into
// package bench: go generate ./bench. It does not import package bench,
// whose generated files it writes, so that it builds whatever state they
// are in.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/xbcheck/xbcheck/bench/family"
)

func main() {
	dir := "."
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	for n := 1; n <= family.MaxGenerated; n++ {
		src, err := family.Generate(n)
		if err != nil {
			fmt.Fprintln(os.Stderr, "genguards:", err)
			os.Exit(1)
		}
		name := filepath.Join(dir, family.GeneratedFile(n))
		tmp := name + ".tmp"
		if err := os.WriteFile(tmp, src, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "genguards:", err)
			os.Exit(1)
		}
		if err := os.Rename(tmp, name); err != nil {
			fmt.Fprintln(os.Stderr, "genguards:", err)
			os.Exit(1)
		}
	}
}
