package parallel

import (
	"math/rand"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type countJob struct{ hits []atomic.Int32 }

func (j *countJob) Do(i int) { j.hits[i].Add(1) }

type workerJob struct {
	size  int
	hits  []atomic.Int32
	inUse []atomic.Int32
	bad   atomic.Int32
}

func (j *workerJob) DoWorker(w, i int) {
	if w < 0 || w >= j.size {
		j.bad.Add(1)
		return
	}
	if j.inUse[w].Add(1) != 1 {
		j.bad.Add(1) // two goroutines with the same worker id at once
	}
	j.hits[i].Add(1)
	runtime.Gosched()
	j.inUse[w].Add(-1)
}

func TestRunEveryIndexOnce(t *testing.T) {
	for _, workers := range []int{1, 2, 3, 7} {
		p := New(workers)
		for _, n := range []int{0, 1, 2, 3, 7, 8, 100, 1000} {
			for rep := 0; rep < 3; rep++ {
				j := &countJob{hits: make([]atomic.Int32, n)}
				p.Run(n, j)
				for i := range j.hits {
					if h := j.hits[i].Load(); h != 1 {
						t.Fatalf("workers=%d n=%d: index %d ran %d times", workers, n, i, h)
					}
				}
			}
		}
		p.Close()
	}
}

func TestRunWorkersIDs(t *testing.T) {
	for _, workers := range []int{1, 2, 5} {
		p := New(workers)
		n := 500
		j := &workerJob{size: workers, hits: make([]atomic.Int32, n), inUse: make([]atomic.Int32, workers)}
		p.RunWorkers(n, j)
		if j.bad.Load() != 0 {
			t.Fatalf("workers=%d: bad worker ids", workers)
		}
		for i := range j.hits {
			if h := j.hits[i].Load(); h != 1 {
				t.Fatalf("index %d ran %d times", i, h)
			}
		}
		p.Close()
	}
}

type nestJob struct {
	p     *Pool
	inner []atomic.Int32
}

func (j *nestJob) Do(i int) {
	j.p.Run(10, FuncJob(func(k int) { j.inner[i*10+k].Add(1) }))
}

// FuncJob adapts a function to Job (test helper; a closure allocates).
type FuncJob func(int)

func (f FuncJob) Do(i int) { f(i) }

// A nested Run on the same pool runs inline and does not deadlock.
func TestNestedAndConcurrent(t *testing.T) {
	p := New(3)
	defer p.Close()
	j := &nestJob{p: p, inner: make([]atomic.Int32, 200)}
	p.Run(20, j)
	for i := range j.inner {
		if j.inner[i].Load() != 1 {
			t.Fatalf("nested index %d ran %d times", i, j.inner[i].Load())
		}
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < 50; r++ {
				c := &countJob{hits: make([]atomic.Int32, 37)}
				p.Run(37, c)
				for i := range c.hits {
					if c.hits[i].Load() != 1 {
						t.Errorf("concurrent: index %d ran %d times", i, c.hits[i].Load())
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

func TestClose(t *testing.T) {
	p := New(4)
	c := &countJob{hits: make([]atomic.Int32, 10)}
	p.Run(10, c)
	p.Close()
	p.Close()
	c2 := &countJob{hits: make([]atomic.Int32, 10)}
	p.Run(10, c2)
	for i := range c2.hits {
		if c2.hits[i].Load() != 1 {
			t.Fatal("Run after Close")
		}
	}
	if Default() != Default() || Default().Size() != runtime.GOMAXPROCS(0) {
		t.Fatal("Default")
	}
}

type sumJob struct{ out []float64 }

func (j *sumJob) Do(i int) { j.out[i] = float64(i) * 0.5 }

func (j *sumJob) DoWorker(w, i int) { j.out[i] = float64(i) * 0.25 }

func TestZeroAllocs(t *testing.T) {
	p := New(4)
	defer p.Close()
	j := &sumJob{out: make([]float64, 64)}
	var job Job = j
	var wjob WorkerJob = j
	for _, n := range []int{1, 3, 64} {
		if a := testing.AllocsPerRun(200, func() { p.Run(n, job) }); a != 0 {
			t.Fatalf("Run(%d): %v allocs", n, a)
		}
		if a := testing.AllocsPerRun(200, func() { p.RunWorkers(n, wjob) }); a != 0 {
			t.Fatalf("RunWorkers(%d): %v allocs", n, a)
		}
	}
}

func BenchmarkRunOverhead(b *testing.B) {
	p := New(0)
	defer p.Close()
	j := &sumJob{out: make([]float64, 64)}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p.Run(len(j.out), j)
	}
}

// TestCurrentFollowsGOMAXPROCS: Current has as many workers as GOMAXPROCS is now, and is
// Default again once GOMAXPROCS is back.
func TestCurrentFollowsGOMAXPROCS(t *testing.T) {
	d := Default()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, n := range []int{1, 3, 1} {
		runtime.GOMAXPROCS(n)
		if got := Current().Size(); got != n {
			t.Errorf("GOMAXPROCS %d: Current has %d workers", n, got)
		}
	}
	if runtime.GOMAXPROCS(d.Size()); Current() != d {
		t.Errorf("GOMAXPROCS %d again: Current is not Default", d.Size())
	}
}

// Helpers park after spinFor without a call; calls after such pauses (and calls that race
// with a helper parking) still run every index once.
func TestParkAndWake(t *testing.T) {
	p := New(3)
	defer p.Close()
	for r := 0; r < 40; r++ {
		j := &countJob{hits: make([]atomic.Int32, 9)}
		p.Run(9, j)
		for i := range j.hits {
			if h := j.hits[i].Load(); h != 1 {
				t.Fatalf("round %d: index %d ran %d times", r, i, h)
			}
		}
		// Pauses around spinFor: some calls find the helpers spinning, some parked, some
		// parking.
		time.Sleep(time.Duration(r%5) * spinFor / 2)
	}
}

// With fewer threads than workers (GOMAXPROCS 1, a pool of 4) calls run every index once,
// on the caller alone (no helper is kicked that no thread could run).
func TestFewerThreadsThanWorkers(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	p := New(4)
	defer p.Close()
	for r := 0; r < 200; r++ {
		j := &countJob{hits: make([]atomic.Int32, 16)}
		p.Run(16, j)
		for i := range j.hits {
			if h := j.hits[i].Load(); h != 1 {
				t.Fatalf("round %d: index %d ran %d times", r, i, h)
			}
		}
	}
}

// BenchmarkCoreRoundTrip times a cache line's round trip between two threads (one poll and
// one store on each side), the floor under every handoff between a caller and a helper and
// a measure of what data written on one core costs the other. Run it beside a -cpu 1,2
// comparison: on the 2-vCPU EPYC VM (2026-12-04) it measured 380-510 ns (docs/DESIGN.md,
// "Helpers poll between launches").
func BenchmarkCoreRoundTrip(b *testing.B) {
	if runtime.GOMAXPROCS(0) < 2 {
		b.Skip("needs GOMAXPROCS >= 2: two threads polling")
	}
	var flag atomic.Int64
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for i := int64(0); i < int64(b.N); i++ {
			for flag.Load() != 2*i+1 {
			}
			flag.Store(2*i + 2)
		}
		close(done)
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	for i := int64(0); i < int64(b.N); i++ {
		flag.Store(2*i + 1)
		for flag.Load() != 2*i+2 {
		}
	}
	<-done
}

// TestParkRace: calls made just as the helpers park, many times over, each must come back.
// A helper that parks on a call it missed (its store of parked passing its load of seq) never
// wakes and the call waits forever; under qemu's arm64 emulation that happened with an atomic
// Store (see await). A call taking more than 10 s fails the test.
func TestParkRace(t *testing.T) {
	p := New(2)
	defer p.Close()
	r := rand.New(rand.NewSource(1))
	rounds := 300
	if testing.Short() {
		rounds = 50
	}
	for i := range rounds {
		// Around the moment the helper gives up polling and parks.
		time.Sleep(spinFor + time.Duration(r.Intn(40)-20)*time.Microsecond)
		done := make(chan struct{})
		go func() {
			j := &countJob{hits: make([]atomic.Int32, 2)}
			p.Run(2, j)
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: a call made as the helper parked did not come back in 10 s", i)
		}
	}
}
