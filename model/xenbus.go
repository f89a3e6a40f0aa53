package model

import "strconv"

// A XenbusState is the value of a device's "state" node, the shared state
// machine of the split-driver handshake.
//
// Reference: xen/include/public/io/xenbus.h, enum xenbus_state; the names are
// those of xenbus_strstate() in Linux drivers/xen/xenbus/xenbus_client.c.
type XenbusState uint8

// The XenbusState values, as numbered in xenbus.h.
const (
	StateUnknown       XenbusState = 0 // never written on purpose: a missing node reads as Unknown
	StateInitialising  XenbusState = 1 // written by the toolstack when it creates both directories
	StateInitWait      XenbusState = 2 // backend waits for the peer or the hotplug script
	StateInitialised   XenbusState = 3 // frontend has published its ring details
	StateConnected     XenbusState = 4 // rings mapped, data path works
	StateClosing       XenbusState = 5 // closing on error or unplug
	StateClosed        XenbusState = 6 // finished disconnecting
	StateReconfiguring XenbusState = 7 // PCI passthrough only
	StateReconfigured  XenbusState = 8 // PCI passthrough only
)

var stateNames = [...]string{
	"Unknown", "Initialising", "InitWait", "Initialised", "Connected",
	"Closing", "Closed", "Reconfiguring", "Reconfigured",
}

// String returns the name xenbus_strstate gives s.
func (s XenbusState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "XenbusState(" + strconv.Itoa(int(s)) + ")"
}

// ParseXenbusState accepts a state by number ("4") or by name ("Connected").
func ParseXenbusState(s string) (XenbusState, bool) {
	for i, n := range stateNames {
		if s == n || s == strconv.Itoa(i) {
			return XenbusState(i), true
		}
	}
	return 0, false
}

// Value returns the interned xenstore value of s: every System interns the
// decimal strings "0" to "8" first, so the mapping is fixed.
func (s XenbusState) Value() Value { return Value(2 + s) }
