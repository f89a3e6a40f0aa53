// Package archtest holds tests that keep the architecture honest: every
// package is documented, and the model stays pure (no I/O, goroutines,
// clock or unseeded randomness).
package archtest
