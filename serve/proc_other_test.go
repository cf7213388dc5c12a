//go:build !linux

package serve

import "time"

// rssBytes is not measured on this system.
func rssBytes() int64 { return 0 }

// cpuTime is not measured on this system.
func cpuTime() time.Duration { return 0 }
