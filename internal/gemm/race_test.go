//go:build race

package gemm

// raceEnabled trims the slowest test combinations under the race detector.
const raceEnabled = true
