//go:build !unix

package nntest

import "time"

// CPUTime returns 0 where the process CPU time is not available; callers
// skip per-CPU-second metrics then.
func CPUTime() time.Duration { return 0 }
