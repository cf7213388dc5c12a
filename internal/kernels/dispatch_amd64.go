//go:build !purego

package kernels

// available lists the implementations this CPU can run, best last.
func available() []*impl { return []*impl{generic} }
