//go:build linux

package translate

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// maxRSS returns the peak resident set size of this process in bytes.
func maxRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss * 1024 // Linux reports KiB
}

// peakRSS returns this process's peak resident set size in bytes from
// /proc/self/status (VmHWM), or 0. Unlike Getrusage's Maxrss, which a
// process started by exec inherits from the parent it was forked from
// (Linux keeps the larger), it counts this program's memory alone.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}
