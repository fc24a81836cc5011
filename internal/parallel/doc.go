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
// Indices are handed out dynamically (an atomic counter), so which worker
// runs which index varies from call to call. Results are still deterministic
// as long as every index computes its output independently of the others and
// of the worker that runs it; callers that reduce must do so in a fixed
// order after Run returns.
//
// Default returns a process-wide pool with GOMAXPROCS workers; Current, the process-wide pool
// of as many workers as GOMAXPROCS is now, after a program changed it.
package parallel
