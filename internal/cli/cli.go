// Package cli holds what the commands share: parsing flags that may come
// before, between or after the positional arguments.
package cli

import "flag"

// Parse parses args with fs, letting flags and positional arguments come
// in any order, and returns the positional arguments in order.
func Parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
