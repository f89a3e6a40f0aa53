// Package archtest holds tests that keep the architecture honest: every
// package is documented, the model stays pure (no I/O, goroutines, clock
// or unseeded randomness), the import graph keeps its layers (the model
// and the checker below everything, neither importing the other), the
// package diagram docs/diagrams/architecture/packages.dot is the import
// graph of the source, and the test daemon's set-up cannot fail silently
// under CI.
package archtest
