// Package realxs is a small, complete client for a live xenstore daemon
// (oxenstored or C xenstored).
//
// It speaks the wire protocol of xen/include/public/io/xs_wire.h over the
// daemon's unix socket ([Dial]) or the Linux /dev/xen/xenbus device
// ([DialXenbus]). One [Client] multiplexes any number of concurrent calls
// over one connection: each request carries a unique req_id, one reader
// goroutine matches replies to callers by that id, and watch events are
// routed to the [Watch] that registered their token.
//
// # Operations
//
// [Client.Read], [Client.Write], [Client.Mkdir], [Client.Rm],
// [Client.Directory], [Client.GetPerms] and [Client.SetPerms] map one to
// one onto XS_READ, XS_WRITE, XS_MKDIR, XS_RM, XS_DIRECTORY, XS_GET_PERMS
// and XS_SET_PERMS. The same operations exist on a [Tx], which is opened by
// [Client.StartTransaction] and ended by [Tx.Commit] or [Tx.Abort].
// [Client.Transact] runs a function inside a transaction and reruns it
// from the start while the commit fails with [EAGAIN].
//
// [Client.Watch] registers a watch and returns a [Watch] whose channel
// receives every event for its token, starting with the registration
// event the daemon sends right after its reply. Event queues are
// unbounded, so a slow consumer never blocks other calls.
// [Client.Sync] is an event barrier: when it returns, every event caused
// by a request that completed before Sync was called has been queued on
// its watch (see xenstore-wire.md, section 1.6), and [Watch.Drain] then
// takes exactly those events without waiting.
//
// Every method takes a [context.Context]. Cancelling it makes the call
// return at once; a reply that arrives later is discarded (a late
// transaction start is aborted and a late watch is removed, so the
// daemon is left as it was).
//
// # Errors
//
// Failures reported by the daemon come back as *[Error] values, shaped
// like io/fs.PathError, whose Err is an [Errno] holding the exact name
// the daemon sent ("ENOENT", "EQUOTA", ...). Use errors.Is with the
// package's sentinels ([ENOENT], [EAGAIN], [EACCES], ...) or with the
// matching syscall.Errno. Names the package does not know are kept as
// they are.
//
// Requests whose payload exceeds the transport's limit (4096 bytes on the
// socket, 4080 on the xenbus device) are refused before anything is sent,
// with an error matching both [ErrTooLarge] and [E2BIG]: oxenstored would
// otherwise lose track of the message boundaries on the connection. When
// the connection dies, every pending and later call fails promptly with an
// error matching [ErrConnLost], and every watch channel is closed.
//
// Whatever the other end sends, the client answers with an error, never a
// panic or a hang (the decoder is fuzzed: FuzzReadMsg, FuzzClient). A
// stream that ends inside a message, a reply longer than
// [Options.MaxReply], a reply to a req_id the client never sent, and a
// watch event that is not a path and a token break the connection with an
// error saying which (the last three also match [ErrProtocol]); a reply of
// the wrong type, or an XS_ERROR without an error name, is the call's
// [ErrProtocol] error.
//
// The package never sends a zero-length payload (oxenstored stalls on
// one), terminates every permission with a NUL, and accepts replies
// larger than 4096 bytes, which oxenstored sends on the socket.
package realxs
