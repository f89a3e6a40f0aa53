package scenario_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xbcheck/xbcheck/model"
	"github.com/xbcheck/xbcheck/scenario"
)

// This file tests the domain run states and the transitions between them
// (model/lifecycle.go), and libxl's existence check of a device's domain
// (model/libxl/remove.go), on compiled scenarios.

// domainScenario is a guest G (id 1) with one connected disk in dom0,
// removed by the given operation, under the given libxl version, with
// G's initial state and the faults allowed.
func domainScenario(t *testing.T, version, op, state, home string, faults ...string) *model.System {
	t.Helper()
	homeLine, xenstored := "", "4.17"
	if home != "" {
		homeLine = fmt.Sprintf("home = %q\n", home)
		xenstored = "4.14" // the nodes a gone domain left behind
	}
	src := fmt.Sprintf(`
[toolstack]
kind = "libxl"
version = %q
[xenstored]
version = %q
[[domain]]
name = "G"
id = 1
kind = "pv"
state = %q
%s
[[device]]
name = "xvda"
kind = "vbd"
frontend = "G"
devid = 51712
state = "connected"
[[operation]]
kind = %q
device = "xvda"
[faults]
allow = [%s]
[check]
properties = ["deadlock"]
expect = "ok"
`, version, xenstored, state, homeLine, op, quoteList(faults))
	sp, err := scenario.Parse("domain.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	c, err := scenario.Build(sp)
	if err != nil {
		t.Fatal(err)
	}
	return c.System
}

func quoteList(xs []string) string {
	var q []string
	for _, x := range xs {
		q = append(q, fmt.Sprintf("%q", x))
	}
	return strings.Join(q, ", ")
}

// take applies the enabled transition called name of the actor whose name
// starts with actor, and fails the test when there is none.
func take(t *testing.T, sys *model.System, st model.State, actor, name string) model.State {
	t.Helper()
	var got model.State
	var enabled []string
	sys.Successors(st, make(model.State, len(st)), func(tr *model.Transition, next model.State) bool {
		a := sys.Actors[tr.Actor].Name
		enabled = append(enabled, a+" "+tr.Name)
		if strings.HasPrefix(a, actor) && tr.Name == name {
			got = append(model.State(nil), next...)
			return false
		}
		return true
	})
	if got == nil {
		t.Fatalf("%s %q is not enabled; enabled: %q", actor, name, enabled)
	}
	return got
}

// enabled reports whether actor's transition name is enabled in st.
func enabled(sys *model.System, st model.State, actor, name string) bool {
	found := false
	sys.Successors(st, make(model.State, len(st)), func(tr *model.Transition, _ model.State) bool {
		if strings.HasPrefix(sys.Actors[tr.Actor].Name, actor) && tr.Name == name {
			found = true
			return false
		}
		return true
	})
	return found
}

func varNamed(t *testing.T, sys *model.System, name string) model.VarID {
	t.Helper()
	for i, v := range sys.Vars {
		if v.Name == name {
			return model.VarID(i)
		}
	}
	t.Fatalf("no variable %s", name)
	return 0
}

func runState(sys *model.System, st model.State) string {
	return model.DomainStateNames[sys.VarValue(st, sys.Domains[1])]
}

// TestDomainCrashKeepsNodes: a crash leaves the domain listed (crashed)
// and its nodes where they are, and stops its drivers; only a destroy
// makes it dying (its home removed), and the hypervisor's release makes
// it gone. Xen RELEASE-4.17.0: C xenstored check_domains ("if
// (!dominfo.dying) continue;"), oxenstored Domains.cleanup ("if
// info.Xenctrl.dying then dead_dom := ...").
func TestDomainCrashKeepsNodes(t *testing.T) {
	sys := domainScenario(t, "4.17", "remove", "running", "", "domain-crash:G", "domain-destroy:G")
	st := sys.Initial()
	before := sys.Store(st)
	st = take(t, sys, st, "domain(G)", "crash")
	if got := runState(sys, st); got != "crashed" {
		t.Errorf("after crash: G is %s; want crashed", got)
	}
	if diff := cmp.Diff(before, sys.Store(st)); diff != "" {
		t.Errorf("a crash changed the store (-before +after):\n%s", diff)
	}
	for i, a := range sys.Actors {
		if a.Domain == 1 {
			for _, tr := range a.Trans {
				if sys.Enabled(st, &sys.Trans[tr]) {
					t.Errorf("%s %q enabled in a crashed domain", sys.Actors[i].Name, sys.Trans[tr].Name)
				}
			}
		}
	}
	if enabled(sys, st, "domain(G)", "crash") || enabled(sys, st, "hypervisor(G)", "released") {
		t.Errorf("a crashed domain crashes again or is released")
	}
	st = take(t, sys, st, "domain(G)", "destroy")
	if got := runState(sys, st); got != "dying" {
		t.Errorf("after destroy: G is %s; want dying", got)
	}
	home, _ := sys.PathByName("/local/domain/1")
	if sys.Exists(st, home) {
		t.Errorf("after destroy: /local/domain/1 still exists")
	}
	if enabled(sys, st, "domain(G)", "destroy") {
		t.Errorf("a dying domain is destroyed again")
	}
	st = take(t, sys, st, "hypervisor(G)", "released")
	if got := runState(sys, st); got != "gone" {
		t.Errorf("after release: G is %s; want gone", got)
	}
}

// TestReleaseOnlyWhereItMatters: the hypervisor's release is added for a
// domain that may be dying and has a device a remove operation acts on,
// and not for one that can only crash.
func TestReleaseOnlyWhereItMatters(t *testing.T) {
	has := func(sys *model.System) bool {
		for _, a := range sys.Actors {
			if a.Name == "hypervisor(G)" {
				return true
			}
		}
		return false
	}
	if !has(domainScenario(t, "4.17", "remove", "running", "", "domain-destroy:G")) {
		t.Errorf("destroy fault and a remove: no release")
	}
	if !has(domainScenario(t, "4.17", "remove", "dying", "")) {
		t.Errorf("initially dying and a remove: no release")
	}
	if has(domainScenario(t, "4.17", "remove", "running", "", "domain-crash:G")) {
		t.Errorf("only a crash fault: a release")
	}
}

// TestRemoveOfAGoneDomainsDevice: libxl's generic remove asks
// libxl_domain_info first; for a domain the hypervisor no longer lists it
// goes to device_hotplug_done with ERROR_DOMAIN_NOTFOUND (ERROR_INVAL
// before 4.6), which destroys the entries before 4.15 and from 4.15 only
// on FORCE_ON. A dying domain is still listed: the remove goes on to its
// transaction.
func TestRemoveOfAGoneDomainsDevice(t *testing.T) {
	fe := "/local/domain/1/device/vbd/51712"
	tests := []struct {
		version, op string
		rc          string
		feGone      bool
	}{
		{"4.5", "remove", "ERROR_INVAL", true},
		{"4.6", "remove", "ERROR_DOMAIN_NOTFOUND", true},
		{"4.14", "remove", "ERROR_DOMAIN_NOTFOUND", true},
		{"4.17", "remove", "ERROR_DOMAIN_NOTFOUND", false},
		{"4.17", "safe-remove", "ERROR_DOMAIN_NOTFOUND", false},
		{"4.17", "destroy", "ERROR_DOMAIN_NOTFOUND", true},
	}
	for _, tt := range tests {
		t.Run(tt.version+" "+tt.op, func(t *testing.T) {
			sys := domainScenario(t, tt.version, tt.op, "gone", "stale")
			st := sys.Initial()
			if !enabled(sys, st, "libxl-", "domain not found") || enabled(sys, st, "libxl-", "initiate") {
				t.Fatalf("a gone domain: want only \"domain not found\" at initiate")
			}
			st = take(t, sys, st, "libxl-", "domain not found")
			var ra int
			for i, a := range sys.Actors {
				if strings.HasPrefix(a.Name, "libxl-") {
					ra = i
				}
			}
			for range 10 {
				if l := sys.LocOf(st, ra); sys.Actors[ra].LocName(l) == "done" {
					break
				}
				var next model.State
				sys.Successors(st, make(model.State, len(st)), func(tr *model.Transition, n model.State) bool {
					if tr.Actor == ra {
						next = append(model.State(nil), n...)
						return false
					}
					return true
				})
				if next == nil {
					t.Fatalf("the remove is stuck at %s", sys.Actors[ra].LocName(sys.LocOf(st, ra)))
				}
				st = next
			}
			rc := varNamed(t, sys, sys.Actors[ra].Name+".rc")
			if got := sys.FormatVar(rc, sys.VarValue(st, rc)); got != tt.rc {
				t.Errorf("rc = %s; want %s", got, tt.rc)
			}
			p, _ := sys.PathByName(fe)
			if gone := !sys.Exists(st, p); gone != tt.feGone {
				t.Errorf("frontend directory removed: %v; want %v", gone, tt.feGone)
			}
		})
	}
	// A dying domain is listed: the remove takes its transaction.
	sys := domainScenario(t, "4.17", "remove", "dying", "stale")
	if !enabled(sys, sys.Initial(), "libxl-", "initiate") || enabled(sys, sys.Initial(), "libxl-", "domain not found") {
		t.Errorf("a dying domain: want \"initiate\" only")
	}
}
