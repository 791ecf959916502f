//go:build race

package cli

// raceEnabled is true in test binaries built with -race.
const raceEnabled = true
