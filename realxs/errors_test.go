package realxs

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"
)

func TestErrnoIs(t *testing.T) {
	err := error(&Error{Op: "XS_READ", Path: "/a", Err: ENOENT})
	for _, target := range []error{ENOENT, syscall.ENOENT, fs.ErrNotExist} {
		if !errors.Is(err, target) {
			t.Errorf("errors.Is(%v, %v) = false; want true", err, target)
		}
	}
	for _, target := range []error{EACCES, syscall.EACCES, fs.ErrPermission, EQUOTA} {
		if errors.Is(err, target) {
			t.Errorf("errors.Is(%v, %v) = true; want false", err, target)
		}
	}
	if !errors.Is(&Error{Op: "XS_WRITE", Err: EACCES}, fs.ErrPermission) {
		t.Errorf("EACCES does not match fs.ErrPermission")
	}

	// Unknown names are kept and match only themselves.
	unk := error(&Error{Op: "XS_WRITE", Path: "/q", Err: Errno("EWHATEVER")})
	if !errors.Is(unk, Errno("EWHATEVER")) || errors.Is(unk, EINVAL) {
		t.Errorf("unknown errno %v does not match itself alone", unk)
	}
	var e Errno
	if !errors.As(unk, &e) || e != "EWHATEVER" {
		t.Errorf("errors.As(%v, *Errno) = %q; want EWHATEVER", unk, e)
	}
	// EQUOTA is oxenstored's own and has no syscall.Errno.
	if errors.Is(EQUOTA, syscall.EDQUOT) {
		t.Errorf("EQUOTA matches syscall.EDQUOT")
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&Error{Op: "XS_READ", Path: "/a/b", Err: ENOENT}, "XS_READ /a/b: ENOENT"},
		{&Error{Op: "XS_TRANSACTION_END", Err: EAGAIN}, "XS_TRANSACTION_END: EAGAIN"},
		{&Error{Op: "XS_WRITE", Path: "/x", Err: fmt.Errorf("%w: %w", ErrConnLost, errors.New("EOF"))}, "XS_WRITE /x: connection to xenstore lost: EOF"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q; want %q", got, tt.want)
		}
	}
}
