// Package archtest holds tests that keep the architecture honest: every
// package is documented, the model stays pure (no I/O, goroutines, clock
// or unseeded randomness), and the test daemon's set-up cannot fail
// silently under CI.
package archtest
