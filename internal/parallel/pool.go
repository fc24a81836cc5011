package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Job is a loop body: Do(i) processes index i. Do must not depend on which
// goroutine runs it.
type Job interface{ Do(i int) }

// WorkerJob is a loop body that is also told which worker runs index i.
// worker is in [0, Pool.Size()); 0 is the goroutine that called RunWorkers.
// Within one RunWorkers call no two goroutines run with the same worker id at
// the same time, so DoWorker may use scratch space indexed by worker.
type WorkerJob interface{ DoWorker(worker, i int) }

// Pool is a set of persistent worker goroutines. The zero value is not
// usable; create one with New or use Default.
//
// Run and RunWorkers are safe to call from several goroutines, but a pool
// executes one call at a time: a call that finds the pool busy (another
// goroutine's call, or a nested call made from inside a job of the same
// pool) does not wait, it runs all its indices itself, serially, on the
// calling goroutine (with worker id 0). This avoids deadlocks in nested use
// at the cost of parallelism; use separate pools if two parallel loops must
// overlap.
type Pool struct {
	mu      sync.Mutex // held for the duration of one parallel call
	size    int
	wake    []chan struct{} // wake[w] for helper w (index 0 unused)
	done    chan struct{}
	closed  bool
	n       int64
	next    atomic.Int64
	job     Job
	wjob    WorkerJob
	started sync.Once
}

// New returns a pool that runs loops on `workers` goroutines in total,
// counting the caller's: workers-1 helper goroutines are started (lazily, on
// the first parallel call). workers <= 0 means runtime.GOMAXPROCS(0).
func New(workers int) *Pool {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	return &Pool{size: workers, done: make(chan struct{}, workers)}
}

var (
	defOnce sync.Once
	defPool *Pool

	sizedMu sync.Mutex
	sized   = map[int]*Pool{} // the process-wide pools by size: Default's, Current's
)

// Default returns the process-wide pool, created on first use with
// GOMAXPROCS workers. It is never closed.
func Default() *Pool {
	defOnce.Do(func() { defPool = sizedPool(runtime.GOMAXPROCS(0)) })
	return defPool
}

// Current returns the process-wide pool of runtime.GOMAXPROCS(0) workers, GOMAXPROCS as it
// is now: Default while GOMAXPROCS is the size Default was made with, else a pool of the new
// size, made on the first call that asks for it and kept, never closed (its idle helpers wait
// on their channels). A program that changes GOMAXPROCS while it runs (graphtrain bench
// --threads) thus runs the work it starts afterwards on as many workers.
func Current() *Pool { return sizedPool(runtime.GOMAXPROCS(0)) }

// sizedPool is the process-wide pool of n workers, made on first use.
func sizedPool(n int) *Pool {
	sizedMu.Lock()
	defer sizedMu.Unlock()
	if sized[n] == nil {
		sized[n] = New(n)
	}
	return sized[n]
}

// Size returns the number of workers, counting the caller.
func (p *Pool) Size() int { return p.size }

func (p *Pool) start() {
	p.wake = make([]chan struct{}, p.size)
	for w := 1; w < p.size; w++ {
		ch := make(chan struct{}, 1)
		p.wake[w] = ch
		go p.helper(w, ch)
	}
}

func (p *Pool) helper(w int, wake chan struct{}) {
	for range wake {
		p.work(w)
		p.done <- struct{}{}
	}
}

// work takes indices from the shared counter until none are left.
func (p *Pool) work(w int) {
	n := p.n
	if p.job != nil {
		for {
			i := p.next.Add(1) - 1
			if i >= n {
				return
			}
			p.job.Do(int(i))
		}
	}
	for {
		i := p.next.Add(1) - 1
		if i >= n {
			return
		}
		p.wjob.DoWorker(w, int(i))
	}
}

// Run calls job.Do(i) for i in [0, n), each exactly once, and returns when
// all calls have returned. n <= 0 does nothing; n == 1 (or a pool of one
// worker) runs inline on the caller without synchronisation. It allocates
// nothing. See Pool for concurrent and nested use.
func (p *Pool) Run(n int, job Job) {
	if n <= 0 {
		return
	}
	if n == 1 || p.size == 1 {
		for i := 0; i < n; i++ {
			job.Do(i)
		}
		return
	}
	if !p.mu.TryLock() {
		for i := 0; i < n; i++ {
			job.Do(i)
		}
		return
	}
	p.job = job
	p.parallel(n)
	p.job = nil
	p.mu.Unlock()
}

// RunWorkers is Run for a WorkerJob: it calls job.DoWorker(w, i) for i in
// [0, n), each exactly once, where w identifies the worker (see WorkerJob).
func (p *Pool) RunWorkers(n int, job WorkerJob) {
	if n <= 0 {
		return
	}
	if n == 1 || p.size == 1 {
		for i := 0; i < n; i++ {
			job.DoWorker(0, i)
		}
		return
	}
	if !p.mu.TryLock() {
		for i := 0; i < n; i++ {
			job.DoWorker(0, i)
		}
		return
	}
	p.wjob = job
	p.parallel(n)
	p.wjob = nil
	p.mu.Unlock()
}

// parallel runs the current job over n indices; p.mu is held.
func (p *Pool) parallel(n int) {
	if p.closed {
		p.n = int64(n)
		p.next.Store(0)
		p.work(0)
		return
	}
	p.started.Do(p.start)
	p.n = int64(n)
	p.next.Store(0)
	helpers := p.size - 1
	if helpers > n-1 {
		helpers = n - 1
	}
	for w := 1; w <= helpers; w++ {
		p.wake[w] <- struct{}{}
	}
	p.work(0)
	for w := 0; w < helpers; w++ {
		<-p.done
	}
}

// Close stops the helper goroutines. Later calls still work but run
// serially on the caller. Close must not be called during a Run of the same
// pool from inside a job; it waits for a running call to finish.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	if p.wake != nil {
		for w := 1; w < p.size; w++ {
			close(p.wake[w])
		}
	}
}
