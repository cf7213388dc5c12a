//go:build race

package decoder

// raceEnabled: the race detector's instrumentation allocates, so
// allocation counts say nothing under -race.
const raceEnabled = true
