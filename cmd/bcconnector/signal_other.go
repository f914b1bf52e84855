//go:build !unix

package main

import "os"

// quietSignals: no SIGUSR1 outside Unix, so the emulator cannot be made quiet.
func quietSignals() []os.Signal { return nil }
