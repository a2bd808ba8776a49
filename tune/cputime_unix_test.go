//go:build unix

package tune_test

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time the process has used, user and system: on
// a shared machine it measures the work done, where the wall clock also
// measures the waits for a CPU that other programs hold.
func cpuTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
