//go:build !race

package decoder

// raceEnabled: allocation counts are meaningful without -race.
const raceEnabled = false
