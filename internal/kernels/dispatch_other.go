//go:build purego || !amd64

package kernels

// available lists the implementations this build can run, best last.
func available() []*impl { return []*impl{generic} }
