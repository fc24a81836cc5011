// Package parallel holds a small persistent worker pool for data-parallel
// loops that run many times per training step.
//
// Start with Pool.Run: it calls job.Do(i) for every i in [0, n), each index
// exactly once, spread over the pool's persistent worker goroutines plus the
// calling goroutine, and returns when all indices are done. No goroutine is
// started per call and a call allocates nothing, so Run may be used in the
// inner loop of a training step. RunWorkers is the same but also tells the job
// which worker runs an index, so that a job can keep per-worker scratch
// buffers (package gemm uses it for its packing buffers).
//
// Indices are handed out in spans: worker w of k first takes the indices of
// [w·n/k, (w+1)·n/k) one at a time, then whatever is left of the others' spans,
// so that a worker late to a call has its work done by the others, and a worker
// on time touches the same part of the data as in the previous loop of the same
// size (it is still in its core's cache). Which worker runs which index still
// varies from call to call; results are deterministic as long as every index
// computes its output independently of the others and of the worker that runs
// it; callers that reduce must do so in a fixed order after Run returns.
//
// A training step's loops follow each other within microseconds, and waking a
// parked goroutine costs tens of them (more than many of the loops take), so
// helpers poll for their next call for spinFor (100 µs) after each call before
// they park, and a caller polls for its helpers to finish. A call kicks no more
// helpers than GOMAXPROCS and the CPUs can run at once, and pollers yield to the
// Go scheduler and to the operating system's after 20 µs, so that a poller never
// keeps from its core the thread it waits for for long.
//
// Default returns a process-wide pool with GOMAXPROCS workers; Current, the process-wide pool
// of as many workers as GOMAXPROCS is now, after a program changed it.
package parallel
