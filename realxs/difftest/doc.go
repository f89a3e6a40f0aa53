// Package difftest holds the differential test of the model's xenstore
// against a live daemon: random sequences of requests from several
// clients, with transactions open across each other's requests, applied
// both to the model (System.ApplyOp on a small universe of paths) and to
// the daemon, must give the same values, errors, watch events,
// transaction outcomes and stores.
//
// Each daemon has its own transaction rule, and the reference follows
// it. oxenstored: snapshot isolation and the replay at commit, as package
// model documents it, with oxenstored's own rule, as observed, on top.
// C xenstored: the model's C xenstored rule itself (model.CXenstored),
// asked for each request of a transaction when the request is made, as
// C xenstored records what a request touches (see universe); a C
// xenstored transaction has no snapshot.
//
// The files follow these jobs: universe.go is the reference model (the
// small tree, its watches and C xenstored's probes) and the reference's
// transaction; oxenstored.go and cxenstored.go are each daemon's rule;
// seq.go draws and checks one random sequence; live.go runs sequences
// for a time budget and counts; known.go and conflict.go are the named
// checks.
//
// [Live] runs the sequences for a time budget against the clients of any
// daemon: the tests here against the private oxenstored of package
// xstest, and package realxs/realhost against C xenstored and oxenstored
// in a real Xen host. The differences the model keeps on purpose are
// named by [github.com/xbcheck/xbcheck/realxs/exec.Known]; [Known] checks
// each live on a daemon that shows it, so that the name stays true, and
// [CConflictCases] names, one per case, the ways C xenstored's
// transactions conflict.
//
// The tests need the test daemon (see package xstest) and skip without
// it.
package difftest
