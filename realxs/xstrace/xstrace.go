// Package xstrace reads the request trace of a real xenstore daemon into
// the ordered list of changes it made to the store, each with the
// connection that asked for it and who that connection is: a domain's
// kernel (its xenbus ring), the toolstack (xl/libxl), a hotplug script,
// or one of xbcheck's own clients.
//
// C xenstored writes the trace with -T FILE (tools/xenstore/xenstored_core.c
// trace_io): one line per request ("IN conn date time TYPE (payload)") and
// per reply or event ("OUT ..."), with the payload's NUL bytes printed as
// spaces, plus lines for connections, transactions and watches created
// and destroyed. It does not print the transaction id of a request, so
// a request is taken to be part of the transaction its connection has
// open (libxl and the Linux xenwatch thread run one transaction at a time
// per connection); while a connection has two open, its requests are
// counted in Trace.Ambiguous and applied at once.
//
// Who a connection is comes from what it does, after
// shared/xen-test-host/extract-sequence.sh: the first connection the daemon
// creates is dom0's kernel; the connection created right after an
// INTRODUCE of domain N is domain N's kernel; a socket connection that
// names paths relative to its domain's home (backend/vbd/...) is a
// hotplug script's xenstore-write; one that reads the marker path
// /xbcheck/client/NAME is xbcheck's client NAME; any other socket
// connection that writes absolute paths is the toolstack.
//
// Replay rebuilds the store the requests made, starting from the empty
// store the daemon starts with; the changes the daemon makes on its own
// (the nodes of a dying domain, XSA-419) are not requests and are not in
// the trace.
//
// xstrace.go holds the trace's types, parse.go the parser of C
// xenstored's trace, store.go the store a replay rebuilds.
package xstrace

import (
	"fmt"
	"strings"
)

// A Role says who a connection is.
type Role uint8

// The roles.
const (
	Unknown   Role = iota // nothing it did tells
	Kernel                // a domain's kernel, through its xenbus ring
	Toolstack             // xl/libxl, through the socket
	Hotplug               // a hotplug script's xenstore-read/-write, through the socket
	Client                // one of xbcheck's own clients (see Marker)
)

var roleNames = [...]string{"unknown", "kernel", "toolstack", "hotplug", "client"}

func (r Role) String() string { return roleNames[r] }

// Marker is the path prefix xbcheck's clients read (and fail to find)
// first thing, so that the trace names them: a READ of Marker+NAME marks
// the connection as Client NAME. A READ of Marker+"mark/"+LABEL from any
// connection is a mark in the trace (see Trace.Marks).
const Marker = "/xbcheck/client/"

// MarkPrefix is the path a mark reads.
const MarkPrefix = Marker + "mark/"

// A Conn is one connection of the daemon over its lifetime (the daemon
// reuses the addresses it prints, so the same address may be several).
type Conn struct {
	ID      int    // index in Trace.Conns
	Addr    string // as printed
	Role    Role
	Domain  int    // the domain it acts for: its ring's domain; 0 for socket connections
	Name    string // Client's name
	Created int    // line number of CREATE connection, 0 if before the trace
}

func (c *Conn) String() string {
	switch c.Role {
	case Kernel:
		if c.Domain == 0 {
			return "dom0-kernel"
		}
		return fmt.Sprintf("dom%d-kernel", c.Domain)
	case Client:
		return "client:" + c.Name
	}
	return c.Role.String()
}

// A Request is one request with its reply.
type Request struct {
	Line int // 1-based line of the IN line
	Conn *Conn
	Time string // "20261203 07:34:03"
	Type string // WRITE, RM, MKDIR, TRANSACTION_START, ...
	// Args are the payload's NUL-separated fields; a WRITE's value (which
	// may hold spaces) is Args[1] whole.
	Args []string
	// Reply is the reply's type and payload ("OK", "ERROR ENOENT"), empty
	// when the trace ends before it.
	Reply string
	// Txn is the index in Trace.Txns of the transaction the request is
	// part of, or -1.
	Txn int
}

// Failed reports whether the daemon answered with an error.
func (r *Request) Failed() bool { return strings.HasPrefix(r.Reply, "ERROR") }

// Path returns the request's path made absolute for its connection's
// domain, or "" if it has none.
func (r *Request) Path() string {
	switch r.Type {
	case "READ", "WRITE", "RM", "MKDIR", "DIRECTORY", "GET_PERMS", "SET_PERMS", "WATCH", "UNWATCH":
	default:
		return ""
	}
	if len(r.Args) == 0 {
		return ""
	}
	return Abs(r.Args[0], r.Conn.Domain)
}

// Abs makes p absolute the way the daemon does for a connection of
// domain dom: a relative path is below /local/domain/DOM.
func Abs(p string, dom int) string {
	if strings.HasPrefix(p, "/") || strings.HasPrefix(p, "@") {
		return p
	}
	return fmt.Sprintf("/local/domain/%d/%s", dom, p)
}

// A Txn is one transaction.
type Txn struct {
	Conn  *Conn
	Start int    // line of TRANSACTION_START
	End   int    // line of TRANSACTION_END, 0 if not ended in the trace
	ID    string // the id the daemon gave
	// Commit: ended with T (whether it succeeded is the END request's
	// reply).
	Commit bool
	// Failed: TRANSACTION_START was refused.
	Failed bool
	Reqs   []*Request
}

// A Change is one atomic change of the store: a request outside any
// transaction, or a committed transaction's requests.
type Change struct {
	Line int // line of the request or of TRANSACTION_END
	Conn *Conn
	Time string
	Ops  []Op
}

// An Op is one modification of a node.
type Op struct {
	Kind  string // WRITE, MKDIR, RM, SET_PERMS
	Path  string // absolute
	Value string // WRITE's value; SET_PERMS's permissions
}

func (o Op) String() string {
	switch o.Kind {
	case "WRITE":
		return fmt.Sprintf("WRITE %s %q", o.Path, o.Value)
	case "SET_PERMS":
		return fmt.Sprintf("SET_PERMS %s %s", o.Path, o.Value)
	}
	return o.Kind + " " + o.Path
}

// A Mark is a READ of MarkPrefix+Label, in trace order.
type Mark struct {
	Label string
	Line  int
	// Change is the number of changes before the mark.
	Change int
}

// A Trace is a parsed daemon trace.
type Trace struct {
	Conns    []*Conn
	Requests []*Request
	Txns     []*Txn
	Changes  []Change
	Marks    []Mark
	// Ambiguous counts requests made while their connection had more
	// than one transaction open.
	Ambiguous int
}
