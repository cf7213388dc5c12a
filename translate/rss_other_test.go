//go:build !linux

package translate

// maxRSS is unknown on this platform.
func maxRSS() int64 { return 0 }

// peakRSS is unknown on this platform.
func peakRSS() int64 { return 0 }
