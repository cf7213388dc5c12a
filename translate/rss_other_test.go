//go:build !linux

package translate

import "time"

// maxRSS is unknown on this platform.
func maxRSS() int64 { return 0 }

// cpuTime is unknown on this platform.
func cpuTime() time.Duration { return 0 }
