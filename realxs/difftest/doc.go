// Package difftest holds the differential test of the model's xenstore
// against a live oxenstored: random sequences of requests from several
// clients, with transactions open across each other's requests, applied
// both to the model (System.ApplyOp on a small universe of paths, with a
// reference of oxenstored's transaction replay rule on top, as package
// model documents it) and to the daemon, must give the same values,
// errors, watch events and transaction outcomes.
//
// The differences the model keeps on purpose are named by
// [github.com/xbcheck/xbcheck/realxs/exec.Known]; each has a test here
// that shows the daemon's behaviour, so that the name stays true.
//
// The package has only tests. They need the test daemon (see package
// xstest) and skip without it.
package difftest
