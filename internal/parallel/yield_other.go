//go:build !linux

package parallel

// osyield does nothing where sched_yield is not at hand: runtime.Gosched alone yields.
func osyield() {}
