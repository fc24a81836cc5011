package gemm

import (
	"math/rand"
	"runtime"
	"sync"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/graphtrain/graphtrain/internal/parallel"
)

// Trainer shapes at batch 128 (MLP 784-256-10, LeNet via im2col).
var benchShapes = []struct {
	name           string
	transA, transB bool
	m, n, k        int
}{
	{"mlp_fwd1_128x256x784", false, false, 128, 256, 784},
	{"mlp_fwd2_128x10x256", false, false, 128, 10, 256},
	{"mlp_gradW1_AT_784x256x128", true, false, 784, 256, 128},
	{"mlp_gradW2_AT_256x10x128", true, false, 256, 10, 128},
	{"mlp_dX2_BT_128x256x10", false, true, 128, 256, 10},
	{"conv1_fwd_100352x6x25", false, false, 128 * 784, 6, 25},
	{"conv2_fwd_12800x16x150", false, false, 128 * 100, 16, 150},
	{"conv1_gradW_AT_25x6x100352", true, false, 25, 6, 128 * 784},
	{"conv2_gradW_AT_150x16x12800", true, false, 150, 16, 128 * 100},
	{"conv2_dcols_BT_12800x150x16", false, true, 128 * 100, 150, 16},
	{"fc1_fwd_128x120x400", false, false, 128, 120, 400},
}

func BenchmarkSgemm(b *testing.B) {
	pool := parallel.Default()
	r := rand.New(rand.NewSource(1))
	for _, s := range benchShapes {
		ar, ac := s.m, s.k
		if s.transA {
			ar, ac = s.k, s.m
		}
		br, bc := s.k, s.n
		if s.transB {
			br, bc = s.n, s.k
		}
		a, bb, c := randSlice(r, ar*ac), randSlice(r, br*bc), make([]float32, s.m*s.n)
		flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
		report := func(b *testing.B) {
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		}
		for _, kname := range Kernels() {
			b.Run(s.name+"/"+kname, func(b *testing.B) {
				def := Kernel()
				defer Use(def)
				Use(kname)
				ws := NewWorkspace()
				ws.Sgemm(pool, s.transA, s.transB, s.m, s.n, s.k, a, ac, bb, bc, c, s.n, Epilogue{})
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					ws.Sgemm(pool, s.transA, s.transB, s.m, s.n, s.k, a, ac, bb, bc, c, s.n, Epilogue{})
				}
				report(b)
			})
		}
		b.Run(s.name+"/gonum", func(b *testing.B) {
			tA, tB := blas.NoTrans, blas.NoTrans
			if s.transA {
				tA = blas.Trans
			}
			if s.transB {
				tB = blas.Trans
			}
			A := blas32.General{Rows: ar, Cols: ac, Stride: ac, Data: a}
			B := blas32.General{Rows: br, Cols: bc, Stride: bc, Data: bb}
			C := blas32.General{Rows: s.m, Cols: s.n, Stride: s.n, Data: c}
			for i := 0; i < b.N; i++ {
				blas32.Gemm(tA, tB, 1, A, B, 0, C)
			}
			report(b)
		})
	}
}

// BenchmarkMLPStepGemms runs the five products of one training step of the
// MLP 784-256-10 at batch 128 (forward with bias+ReLU, weight gradients,
// hidden-layer input gradient) and reports the samples/s that the products
// alone would allow.
func BenchmarkMLPStepGemms(b *testing.B) {
	const B, I, H, O = 128, 784, 256, 10
	r := rand.New(rand.NewSource(1))
	x, w1, b1 := randSlice(r, B*I), randSlice(r, I*H), randSlice(r, H)
	w2, b2 := randSlice(r, H*O), randSlice(r, O)
	h, y, dy, dh := make([]float32, B*H), make([]float32, B*O), randSlice(r, B*O), make([]float32, B*H)
	gw1, gw2 := make([]float32, I*H), make([]float32, H*O)
	pool := parallel.Default()
	ws := NewWorkspace()
	step := func() {
		ws.Sgemm(pool, false, false, B, H, I, x, I, w1, H, h, H, Epilogue{Bias: b1, ReLU: true})
		ws.Sgemm(pool, false, false, B, O, H, h, H, w2, O, y, O, Epilogue{Bias: b2})
		ws.Sgemm(pool, true, false, H, O, B, h, H, dy, O, gw2, O, Epilogue{})
		ws.Sgemm(pool, false, true, B, H, O, dy, O, w2, O, dh, H, Epilogue{})
		ws.Sgemm(pool, true, false, I, H, B, x, I, dh, H, gw1, H, Epilogue{})
	}
	for _, kname := range Kernels() {
		b.Run(kname, func(b *testing.B) {
			def := Kernel()
			defer Use(def)
			Use(kname)
			step()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				step()
			}
			b.ReportMetric(float64(B*b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

// BenchmarkConvImage runs, on one worker, the products the CPU executor's fused
// convolutions make for one image of the cnn: the filters (with the bias as a column)
// times the columns over the padded grid, the image gradient's columns, and the filter
// gradient, for both convolutions.
func BenchmarkConvImage(b *testing.B) {
	shapes := []struct {
		name           string
		transA, transB bool
		m, n, k        int
	}{
		{"conv1_fwd_6x896x26", false, false, 6, 896, 26},
		{"conv2_fwd_16x140x151", false, false, 16, 140, 151},
		{"conv2_data_AT_150x140x16", true, false, 150, 140, 16},
		{"conv1_filter_BT_6x25x896", false, true, 6, 25, 896},
		{"conv2_filter_BT_16x150x140", false, true, 16, 150, 140},
	}
	serial := parallel.New(1)
	r := rand.New(rand.NewSource(1))
	for _, s := range shapes {
		lda, ldb := s.k, s.n
		if s.transA {
			lda = s.m
		}
		if s.transB {
			ldb = s.k
		}
		a, bb, c := randSlice(r, s.m*s.k), randSlice(r, s.k*s.n), make([]float32, s.m*s.n)
		flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
		for _, kname := range Kernels() {
			b.Run(s.name+"/"+kname, func(b *testing.B) {
				def := Kernel()
				defer Use(def)
				Use(kname)
				ws := NewWorkspace()
				ws.Sgemm(serial, s.transA, s.transB, s.m, s.n, s.k, a, lda, bb, ldb, c, s.n, Epilogue{})
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					ws.Sgemm(serial, s.transA, s.transB, s.m, s.n, s.k, a, lda, bb, ldb, c, s.n, Epilogue{})
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkCoreCeiling is what a second core adds when nothing is shared: each of 1 or 2
// threads (locked to its own OS thread) multiplies its own 96x256 by 256x128 matrices, which
// stay in its core's cache, on a pool of one worker. "2_threads" over "1_thread" (GFLOP/s,
// the two run back to back) bounds the 1 -> 2 worker gain of any step on this machine: no
// barrier, no shared data, no memory traffic (docs/DESIGN.md, "Helpers poll between
// launches").
func BenchmarkCoreCeiling(b *testing.B) {
	const m, n, k = 96, 128, 256
	for _, threads := range []int{1, 2} {
		b.Run(map[int]string{1: "1_thread", 2: "2_threads"}[threads], func(b *testing.B) {
			if runtime.GOMAXPROCS(0) < threads || runtime.NumCPU() < threads {
				b.Skipf("needs %d CPUs and GOMAXPROCS", threads)
			}
			var wg sync.WaitGroup
			for t := 0; t < threads; t++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					runtime.LockOSThread()
					defer runtime.UnlockOSThread()
					r := rand.New(rand.NewSource(int64(t)))
					a, bb, c := randSlice(r, m*k), randSlice(r, k*n), make([]float32, m*n)
					ws, one := NewWorkspace(), parallel.New(1)
					for i := 0; i < b.N; i++ {
						ws.Sgemm(one, false, false, m, n, k, a, k, bb, n, c, n, Epilogue{})
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(2*m*n*k*float64(threads*b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkFilterRows times the LeNet's second filter gradient for one image (16 channels by
// 151 taps, the bias's included, over 160 grid positions), the way the cnn's backward
// computes it: by SgemmCols (the taps' columns packed) and by SgemmARows (read in place).
func BenchmarkFilterRows(b *testing.B) {
	const cout, taps, pg, plane = 16, 151, 160, 14 * 14
	r := rand.New(rand.NewSource(1))
	pad := randSlice(r, 6*plane+5+pg)
	off := make([]int, taps)
	for t := range taps - 1 {
		off[t] = t/25*plane + t%25/5*14 + t%5
	}
	off[taps-1] = 6*plane + 5
	gridT := randSlice(r, pg*cout)
	part := make([]float32, cout*taps)
	one := parallel.New(1)
	ws := NewWorkspace()
	forEachKernel(b, func(name string) {
		if name == "go" {
			return
		}
		b.Run(name+"/cols", func(b *testing.B) {
			for range b.N {
				ws.SgemmCols(one, true, cout, taps, pg, gridT, cout, pad, off, part, taps, Epilogue{Accumulate: true})
			}
		})
		b.Run(name+"/arows", func(b *testing.B) {
			if ARowsNR() == 0 {
				b.Skipf("no rows kernel in the %s family", Kernel())
			}
			for range b.N {
				ws.SgemmARows(taps, cout, pg, pad, off, gridT, cout, part, cout, true)
			}
		})
	})
}

// BenchmarkEpilogue runs the dense layers' forward products with the epilogue the executor
// gives them (the bias, and the ReLU as a graph writes it: the mask): the cnn's fc1 and fc2
// and the mlp's first layer at batch 128. The epilogue is a pass over C after each block; on
// rows of 120 values its bias added by a Go loop and its mask through 16-value copies of each
// row's tail cost 8 µs of fc1's 121 (one worker, 2026-12-05).
func BenchmarkEpilogue(b *testing.B) {
	for _, s := range []struct {
		name    string
		m, n, k int
	}{{"cnn_fc1_128x120x400", 128, 120, 400}, {"cnn_fc2_128x84x120", 128, 84, 120}, {"mlp_fc1_128x256x784", 128, 256, 784}} {
		r := rand.New(rand.NewSource(1))
		a, w, c := randSlice(r, s.m*s.k), randSlice(r, s.k*s.n), make([]float32, s.m*s.n)
		bias, mask := randSlice(r, s.n), make([]float32, s.m*s.n)
		pool := parallel.Default()
		ws := NewWorkspace()
		b.Run(s.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				ws.Sgemm(pool, false, false, s.m, s.n, s.k, a, s.k, w, s.n, c, s.n, Epilogue{Bias: bias, Mask: mask})
			}
			b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
