package exec

import (
	"fmt"
	"strings"

	"github.com/xbcheck/xbcheck/model"
)

func checkRoot(root string) error {
	if root == "" || root == "/" || !strings.HasPrefix(root, "/") || strings.HasSuffix(root, "/") || strings.Contains(root, "//") {
		return fmt.Errorf("exec: root %q: want an absolute path below / (such as /xbcheck-run)", root)
	}
	for _, c := range root {
		if !(c == '/' || c == '_' || c == '-' || c == '@' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return fmt.Errorf("exec: root %q: bad character %q", root, c)
		}
	}
	return nil
}

// A pathMap maps the model's paths to the daemon's: below root, or as
// they are when root is "" (a live host's own paths).
type pathMap struct {
	sys  *model.System
	root string
}

// mapPath maps a model path to the daemon's.
func (r pathMap) mapPath(p string) string {
	if r.root == "" {
		return p
	}
	if p == "/" {
		return r.root
	}
	return r.root + p
}

// unmap maps a daemon path below the root back to the model's.
func (r pathMap) unmap(p string) string {
	if r.root == "" {
		return p
	}
	if p == r.root {
		return "/"
	}
	return strings.TrimPrefix(p, r.root)
}

// path is the daemon's path of model node p.
func (r pathMap) path(p model.PathID) string { return r.mapPath(r.sys.Paths[p].Name) }
