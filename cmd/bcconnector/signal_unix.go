//go:build unix

package main

import (
	"os"
	"syscall"
)

// quietSignals are the signals that make the emulator quiet (see QuietPrefix).
func quietSignals() []os.Signal { return []os.Signal{syscall.SIGUSR1} }
