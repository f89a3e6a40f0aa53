package xenhost

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// consoleLog writes QEMU's serial console to a file, each line prefixed
// with the seconds since QEMU's start, and keeps the last line for error
// messages.
type consoleLog struct {
	f     *os.File
	start time.Time
	done  chan struct{}

	mu       sync.Mutex
	lastLine string
	lastAt   time.Time // when the last line arrived (or QEMU started)
}

// StallTimeout is how long the console may stay silent during a boot
// before the boot counts as hung.
const StallTimeout = 30 * time.Second

// A stallError says a boot hung.
type stallError struct {
	silent time.Duration
	last   string
}

func (e *stallError) Error() string {
	return fmt.Sprintf("boot stalled: no console output for %v after %q", e.silent.Round(time.Second), e.last)
}

// watchStall cancels ctx with a *stallError when the console has been
// silent for StallTimeout, until ctx is done.
func (c *consoleLog) watchStall(ctx context.Context, cancel context.CancelCauseFunc) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c.mu.Lock()
		silent, last := time.Since(c.lastAt), c.lastLine
		c.mu.Unlock()
		if silent > StallTimeout {
			cancel(&stallError{silent: silent, last: last})
			return
		}
	}
}

func newConsoleLog(path string) (*consoleLog, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &consoleLog{f: f, done: make(chan struct{})}, nil
}

func (c *consoleLog) copy(r io.Reader) {
	defer close(c.done)
	w := bufio.NewWriter(c.f)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		fmt.Fprintf(w, "[%8.3f] %s\n", time.Since(c.start).Seconds(), line)
		w.Flush()
		c.mu.Lock()
		c.lastAt = time.Now()
		if strings.TrimSpace(line) != "" {
			c.lastLine = line
		}
		c.mu.Unlock()
	}
	w.Flush()
}

func (c *consoleLog) last() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastLine
}

func (c *consoleLog) close() {
	select {
	case <-c.done:
	case <-time.After(2 * time.Second):
	}
	c.f.Close() // a second close does nothing harmful
}
