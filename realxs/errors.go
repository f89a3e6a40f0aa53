package realxs

import (
	"errors"
	"syscall"
)

// An Error records a failed xenstore request: the message type, the path
// it was about (empty for requests without one), and the cause. It is
// shaped like io/fs.PathError.
type Error struct {
	Op   string // the request's type, such as "XS_READ"
	Path string // the path the request named, if any
	Err  error  // an Errno from the daemon, or a client-side error
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Op + ": " + e.Err.Error()
	}
	return e.Op + " " + e.Path + ": " + e.Err.Error()
}

// Unwrap returns e.Err.
func (e *Error) Unwrap() error { return e.Err }

// An Errno is an error name sent by the daemon in an XS_ERROR reply, such
// as "ENOENT". Names the package does not declare are kept verbatim.
//
// errors.Is(err, ENOENT) reports whether err carries that name, and
// errors.Is also matches an Errno against the syscall.Errno of the same
// name (and so against io/fs errors such as fs.ErrNotExist).
type Errno string

// The error names of xs_wire.h, plus EQUOTA, which oxenstored sends for
// its quotas.
const (
	EINVAL    Errno = "EINVAL"
	EACCES    Errno = "EACCES"
	EEXIST    Errno = "EEXIST"
	EISDIR    Errno = "EISDIR"
	ENOENT    Errno = "ENOENT"
	ENOMEM    Errno = "ENOMEM"
	ENOSPC    Errno = "ENOSPC"
	EIO       Errno = "EIO"
	ENOTEMPTY Errno = "ENOTEMPTY"
	ENOSYS    Errno = "ENOSYS"
	EROFS     Errno = "EROFS"
	EBUSY     Errno = "EBUSY"
	EAGAIN    Errno = "EAGAIN"
	EISCONN   Errno = "EISCONN"
	E2BIG     Errno = "E2BIG"
	EPERM     Errno = "EPERM"
	EQUOTA    Errno = "EQUOTA"
)

var sysErrnos = map[Errno]syscall.Errno{
	EINVAL:    syscall.EINVAL,
	EACCES:    syscall.EACCES,
	EEXIST:    syscall.EEXIST,
	EISDIR:    syscall.EISDIR,
	ENOENT:    syscall.ENOENT,
	ENOMEM:    syscall.ENOMEM,
	ENOSPC:    syscall.ENOSPC,
	EIO:       syscall.EIO,
	ENOTEMPTY: syscall.ENOTEMPTY,
	ENOSYS:    syscall.ENOSYS,
	EROFS:     syscall.EROFS,
	EBUSY:     syscall.EBUSY,
	EAGAIN:    syscall.EAGAIN,
	EISCONN:   syscall.EISCONN,
	E2BIG:     syscall.E2BIG,
	EPERM:     syscall.EPERM,
}

func (e Errno) Error() string { return string(e) }

// Is reports whether target is the syscall.Errno of the same name, or an
// error that syscall.Errno matches (such as fs.ErrNotExist for ENOENT).
// Equal Errno values already match without it.
func (e Errno) Is(target error) bool {
	se, ok := sysErrnos[e]
	if !ok {
		return false
	}
	if t, ok := target.(syscall.Errno); ok {
		return se == t
	}
	return se.Is(target)
}

// Client-side errors. They are wrapped in an *Error naming the request.
var (
	// ErrTooLarge is returned for a request whose payload exceeds the
	// transport's limit. Such a request is never sent. The error also
	// matches E2BIG.
	ErrTooLarge = errors.New("request payload too large")
	// ErrConnLost is matched by the error of every call that was pending
	// or made after the connection to the daemon failed.
	ErrConnLost = errors.New("connection to xenstore lost")
	// ErrClosed is matched by the error of every call made after Close.
	ErrClosed = errors.New("client closed")
	// ErrTxDone is returned by an operation on a transaction that has
	// already been committed or aborted.
	ErrTxDone = errors.New("transaction already ended")
	// ErrTokenInUse is returned by Watch for a token that already names
	// one of the client's watches: events are routed by token alone.
	ErrTokenInUse = errors.New("watch token already in use")
	// ErrProtocol is matched by errors about replies that break the wire
	// protocol, such as a reply of the wrong type.
	ErrProtocol = errors.New("xenstore protocol error")
)
