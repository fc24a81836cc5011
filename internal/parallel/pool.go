package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
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
	hs      []helper // hs[w] for helper w (index 0 unused)
	active  atomic.Int32
	closed  bool
	spans   []span // the indices of the call, a range per worker taking part
	takers  int    // how many workers take part in the call
	job     Job
	wjob    WorkerJob
	started sync.Once
}

// A helper's mailbox. The caller hands it a call by incrementing seq; the helper spins on seq
// for a while after each call (a training step's launches follow each other within
// microseconds, and waking a parked goroutine costs tens of them), then parks on wake, saying
// so in parked so that the next call sends it a token.
type helper struct {
	seq    atomic.Uint64
	parked atomic.Bool
	quit   atomic.Bool
	wake   chan struct{}
	_      [40]byte // keep helpers' mailboxes on separate cache lines
}

// A span is the range of indices a worker takes first: [next, end), next claimed by atomic
// increments, by its worker and, once theirs are done, by the others.
type span struct {
	next atomic.Int64
	end  int64
	_    [48]byte
}

// numCPU is how many CPUs the process may run on (its affinity mask at start-up).
var numCPU = runtime.NumCPU()

// spinFor is how long an idle helper polls its mailbox before it parks; pollers yield after
// yieldAfter (see spinner).
const (
	spinFor       = 100 * time.Microsecond
	yieldAfter    = 20 * time.Microsecond
	pollsPerCheck = 64
)

// New returns a pool that runs loops on `workers` goroutines in total,
// counting the caller's: workers-1 helper goroutines are started (lazily, on
// the first parallel call). workers <= 0 means runtime.GOMAXPROCS(0).
func New(workers int) *Pool {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	return &Pool{size: workers, spans: make([]span, workers)}
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
// size, made on the first call that asks for it and kept, never closed (its idle helpers
// park). A program that changes GOMAXPROCS while it runs (graphtrain bench --threads) thus
// runs the work it starts afterwards on as many workers.
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
	p.hs = make([]helper, p.size)
	for w := 1; w < p.size; w++ {
		p.hs[w].wake = make(chan struct{}, 1)
		go p.helper(w)
	}
}

// kick hands helper w the current call (or, with quit set, tells it to stop).
func (p *Pool) kick(w int) {
	h := &p.hs[w]
	h.seq.Add(1)
	if h.parked.Load() && h.parked.CompareAndSwap(true, false) {
		h.wake <- struct{}{}
	}
}

// helper runs helper w: it waits for a call in its mailbox, takes indices until none are
// left, says it is done, and waits again.
func (p *Pool) helper(w int) {
	h := &p.hs[w]
	var seen uint64
	for {
		seen = h.await(seen)
		if h.quit.Load() {
			return
		}
		p.work(w)
		p.active.Add(-1)
	}
}

// await returns the mailbox's sequence number once it differs from seen: polling it for
// spinFor, then parked. A caller that increments seq after parked was set either finds it
// set and sends a token (winning the CompareAndSwap), or finds it cleared by the helper,
// which then saw the new seq itself: a call is never missed, nor a token left unread.
func (h *helper) await(seen uint64) uint64 {
	var sp spinner
	for {
		if s := h.seq.Load(); s != seen {
			return s
		}
		if sp.pause() < spinFor {
			continue
		}
		// Swap, not Store: the store must not pass the load of seq below. Go's atomics are
		// sequentially consistent, but qemu's arm64 emulation on an x86 host (make
		// test-arm64) let a store-release pass a later load-acquire: the helper then read an
		// old seq and parked while the caller, reading parked still false, sent no token,
		// and a call waited for it forever (a 10-minute test timeout, 2026-12-05). An
		// atomic exchange is a full barrier there too.
		h.parked.Swap(true)
		if s := h.seq.Load(); s != seen {
			if !h.parked.CompareAndSwap(true, false) {
				<-h.wake // the caller saw parked and sends a token
			}
			return s
		}
		<-h.wake
		return h.seq.Load()
	}
}

// A spinner paces a polling loop: pause is called once a poll and returns how long the loop
// has polled, measured every pollsPerCheck polls. Past yieldAfter it also yields, to the Go
// scheduler and to the operating system's, once a check: when there are more pollers than
// threads or cores (GOMAXPROCS below a pool's size, other processes on the cores), the
// goroutine or thread being waited for gets to run. Before that it only polls: yielding at
// once would let the scheduler move goroutines between threads on every call.
type spinner struct {
	polls   int
	start   time.Time
	elapsed time.Duration
}

func (sp *spinner) pause() time.Duration {
	sp.polls++
	if sp.polls%pollsPerCheck != 0 {
		return sp.elapsed
	}
	if sp.start.IsZero() {
		sp.start = time.Now()
		return 0
	}
	sp.elapsed = time.Since(sp.start)
	if sp.elapsed >= yieldAfter {
		runtime.Gosched()
		osyield()
	}
	return sp.elapsed
}

// work takes the indices of worker w's own span, then those left in the others' spans (in
// worker order after w), until none are left. Each worker starting with a range of its own,
// the same one every call of the same size, a worker tends to touch the same part of the
// data in successive loops (rows it wrote a loop before are still in its core's cache).
func (p *Pool) work(w int) {
	for k := 0; k < p.takers; k++ {
		sp := &p.spans[(w+k)%p.takers]
		for {
			i := sp.next.Add(1) - 1
			if i >= sp.end {
				break
			}
			if p.job != nil {
				p.job.Do(int(i))
			} else {
				p.wjob.DoWorker(w, int(i))
			}
		}
	}
}

// split divides [0, n) into the spans of k workers.
func (p *Pool) split(n, k int) {
	p.takers = k
	for w := 0; w < k; w++ {
		p.spans[w].next.Store(int64(w * n / k))
		p.spans[w].end = int64((w + 1) * n / k)
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

// parallel runs the current job over n indices; p.mu is held. The caller takes indices
// too, then polls until every helper it handed the call to is done.
func (p *Pool) parallel(n int) {
	// No more helpers than threads and CPUs to run them at once: with GOMAXPROCS below the
	// pool's size (changed after the pool was made), or more workers than CPUs, a helper
	// kicked would wait for a thread or a core while the caller polls for it (4 workers on
	// 2 CPUs ran the mlp's step 1.8x slower than 2). A closed pool has none.
	helpers := 0
	if !p.closed {
		p.started.Do(p.start)
		helpers = min(p.size-1, n-1, runtime.GOMAXPROCS(0)-1, numCPU-1)
	}
	p.split(n, helpers+1)
	if helpers == 0 {
		p.work(0)
		return
	}
	p.active.Store(int32(helpers))
	for w := 1; w <= helpers; w++ {
		p.kick(w)
	}
	p.work(0)
	var sp spinner
	for p.active.Load() != 0 {
		sp.pause()
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
	for w := 1; w < len(p.hs); w++ {
		p.hs[w].quit.Store(true)
		p.kick(w)
	}
}
