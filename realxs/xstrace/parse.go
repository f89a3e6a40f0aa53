package xstrace

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// ParseFile parses the C xenstored trace at path (gzip-compressed when
// the name ends in .gz).
func ParseFile(path string) (*Trace, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		z, err := gzip.NewReader(f)
		if err != nil {
			return nil, &Error{File: path, Msg: err.Error()}
		}
		defer z.Close()
		r = z
	}
	t, err := Parse(r)
	if e, ok := err.(*Error); ok {
		e.File = path
	}
	return t, err
}

// An Error says where a trace is malformed.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.File == "" {
		return fmt.Sprintf("xstrace: line %d: %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Parse reads a C xenstored trace (xenstored -T). Lines it does not know
// (rate-limit lines, store checks) are skipped; a line that looks like a
// request but is cut short is an error.
func Parse(r io.Reader) (*Trace, error) {
	p := &parser{t: &Trace{}, live: map[string]*cstate{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		if err := p.line(n, sc.Text()); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, &Error{Line: n, Msg: err.Error()}
	}
	p.finish()
	return p.t, nil
}

// cstate is a live connection's parse state.
type cstate struct {
	c       *Conn
	pending []*Request // requests waiting for their reply, in order
	open    []*Txn     // transactions started and not ended
	starts  []*Txn     // TRANSACTION_STARTs waiting for their id
}

type parser struct {
	t         *Trace
	live      map[string]*cstate
	created   int    // connections created so far
	introduce []int  // domains introduced whose ring connection is not created yet
	pendTxEnd []*Txn // ended transactions, in request order, waiting for a reply
}

func (p *parser) conn(addr string, line int) *cstate {
	if s, ok := p.live[addr]; ok {
		return s
	}
	// A connection from before the trace started.
	c := &Conn{ID: len(p.t.Conns), Addr: addr}
	p.t.Conns = append(p.t.Conns, c)
	s := &cstate{c: c}
	p.live[addr] = s
	return s
}

func (p *parser) line(n int, l string) error {
	f := strings.SplitN(l, " ", 6)
	switch {
	case len(f) >= 3 && f[0] == "CREATE" && f[1] == "connection":
		c := &Conn{ID: len(p.t.Conns), Addr: f[2], Created: n}
		if p.created == 0 {
			c.Role, c.Domain = Kernel, 0
		} else if len(p.introduce) > 0 {
			c.Role, c.Domain = Kernel, p.introduce[0]
			p.introduce = p.introduce[1:]
		}
		p.created++
		p.t.Conns = append(p.t.Conns, c)
		p.live[f[2]] = &cstate{c: c}
		return nil
	case len(f) >= 3 && f[0] == "DESTROY" && f[1] == "connection":
		delete(p.live, f[2])
		return nil
	case f[0] != "IN" && f[0] != "OUT":
		return nil
	}
	if len(f) < 6 || !strings.HasPrefix(f[5], "(") || !strings.HasSuffix(f[5], ")") {
		return &Error{Line: n, Msg: fmt.Sprintf("want %q, got %q", f[0]+" CONN DATE TIME TYPE (PAYLOAD)", l)}
	}
	s := p.conn(f[1], n)
	typ, payload := f[4], f[5][1:len(f[5])-1]
	if f[0] == "OUT" {
		return p.reply(n, s, typ, payload)
	}
	return p.request(n, s, f[2]+" "+f[3], typ, payload)
}

// fields splits a payload the way trace_io printed it: NULs became
// spaces, and a WRITE's value may hold spaces itself.
func fields(typ, payload string) []string {
	if typ == "WRITE" {
		path, val, _ := strings.Cut(payload, " ")
		return []string{path, val}
	}
	payload = strings.TrimSuffix(payload, " ")
	if payload == "" {
		return nil
	}
	return strings.Split(payload, " ")
}

func (p *parser) request(n int, s *cstate, at, typ, payload string) error {
	r := &Request{Line: n, Conn: s.c, Time: at, Type: typ, Args: fields(typ, payload), Txn: -1}
	p.t.Requests = append(p.t.Requests, r)
	s.pending = append(s.pending, r)
	p.classify(s.c, r)
	switch typ {
	case "INTRODUCE":
		if len(r.Args) > 0 {
			if d, err := strconv.Atoi(r.Args[0]); err == nil {
				p.introduce = append(p.introduce, d)
			}
		}
	case "TRANSACTION_START":
		// The transaction is open from here: the daemon handles a
		// connection's requests in order, but traces a reply when it
		// writes it out, which may be after the connection's next
		// request.
		tx := &Txn{Conn: s.c, Start: n}
		p.t.Txns = append(p.t.Txns, tx)
		s.open = append(s.open, tx)
		s.starts = append(s.starts, tx)
	case "TRANSACTION_END":
		if len(s.open) == 0 {
			return nil // a transaction from before the trace, or a failed start
		}
		tx := s.open[0]
		if len(s.open) > 1 {
			p.t.Ambiguous++
		}
		s.open = s.open[1:]
		tx.End = n
		tx.Commit = len(r.Args) > 0 && r.Args[0] == "T"
		r.Txn = slicesIndex(p.t.Txns, tx)
	default:
		switch len(s.open) {
		case 0:
		case 1:
			r.Txn = slicesIndex(p.t.Txns, s.open[0])
			s.open[0].Reqs = append(s.open[0].Reqs, r)
		default:
			p.t.Ambiguous++
		}
	}
	return nil
}

func slicesIndex(txns []*Txn, tx *Txn) int {
	for i := len(txns) - 1; i >= 0; i-- {
		if txns[i] == tx {
			return i
		}
	}
	return -1
}

// classify learns who a connection is from a request.
func (p *parser) classify(c *Conn, r *Request) {
	if c.Role == Kernel || c.Role == Client || len(r.Args) == 0 {
		return
	}
	path := r.Args[0]
	if r.Type == "READ" && strings.HasPrefix(path, Marker) && !strings.HasPrefix(path, MarkPrefix) {
		c.Role, c.Name = Client, strings.TrimPrefix(path, Marker)
		return
	}
	if c.Role != Unknown {
		return
	}
	switch r.Type {
	case "WRITE", "RM", "MKDIR", "SET_PERMS":
	default:
		return
	}
	// Decided by the first modification: a hotplug script's
	// xenstore-write names $XENBUS_PATH, relative to dom0's home; libxl
	// names absolute paths.
	if strings.HasPrefix(path, "/") {
		c.Role = Toolstack
	} else {
		c.Role = Hotplug
	}
}

func (p *parser) reply(n int, s *cstate, typ, payload string) error {
	if typ == "WATCH_EVENT" {
		return nil
	}
	if len(s.pending) == 0 {
		return nil // a reply to a request from before the trace
	}
	r := s.pending[0]
	s.pending = s.pending[1:]
	if typ == "ERROR" {
		r.Reply = "ERROR " + strings.TrimSpace(payload)
	} else {
		r.Reply = strings.TrimSpace(strings.TrimSuffix(payload, " "))
		if r.Reply == "" {
			r.Reply = "OK"
		}
	}
	if r.Type == "TRANSACTION_START" && len(s.starts) > 0 {
		tx := s.starts[0]
		s.starts = s.starts[1:]
		if r.Failed() {
			// Never opened: its requests were plain ones.
			tx.Failed = true
			for _, q := range tx.Reqs {
				q.Txn = -1
			}
			tx.Reqs = nil
			if i := slices.Index(s.open, tx); i >= 0 {
				s.open = slices.Delete(s.open, i, i+1)
			}
		} else {
			tx.ID = r.Reply
		}
	}
	return nil
}

// finish orders the changes: a request outside any transaction at its
// line, a committed transaction at its TRANSACTION_END.
func (p *parser) finish() {
	t := p.t
	for _, r := range t.Requests {
		if r.Type == "READ" && len(r.Args) > 0 && strings.HasPrefix(r.Args[0], MarkPrefix) {
			t.Marks = append(t.Marks, Mark{Label: strings.TrimPrefix(r.Args[0], MarkPrefix), Line: r.Line, Change: len(t.Changes)})
			continue
		}
		if r.Type == "TRANSACTION_END" {
			if r.Txn < 0 {
				continue
			}
			tx := t.Txns[r.Txn]
			if !tx.Commit || r.Failed() || r.Reply == "" {
				continue
			}
			var ops []Op
			for _, q := range tx.Reqs {
				if op, ok := opOf(q); ok {
					ops = append(ops, op)
				}
			}
			if len(ops) > 0 {
				t.Changes = append(t.Changes, Change{Line: r.Line, Conn: r.Conn, Time: r.Time, Ops: ops})
			}
			continue
		}
		if r.Txn >= 0 {
			continue
		}
		if op, ok := opOf(r); ok {
			t.Changes = append(t.Changes, Change{Line: r.Line, Conn: r.Conn, Time: r.Time, Ops: []Op{op}})
		}
	}
}

// opOf returns the modification a successful request made.
func opOf(r *Request) (Op, bool) {
	if r.Failed() || r.Reply == "" {
		return Op{}, false
	}
	switch r.Type {
	case "WRITE":
		v := ""
		if len(r.Args) > 1 {
			v = r.Args[1]
		}
		return Op{Kind: "WRITE", Path: r.Path(), Value: v}, true
	case "MKDIR", "RM":
		return Op{Kind: r.Type, Path: r.Path()}, true
	case "SET_PERMS":
		return Op{Kind: "SET_PERMS", Path: r.Path(), Value: strings.Join(r.Args[1:], " ")}, true
	}
	return Op{}, false
}
