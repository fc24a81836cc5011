package vec

import (
	"math"
	"math/rand"
	"testing"
)

// paramCount is the parameter count of graphtrain's MLP.
const paramCount = 203530

// adam64 is the scalar Adam of the cpu package (cpu/kernels.go, adam for
// float32 buffers): float64 arithmetic, every stored value rounded.
func adam64(w, g, m, v []float32, lr, b1, b2, eps, c1, c2 float64) {
	for i := range w {
		gi := float64(g[i])
		m[i] = float32(b1*float64(m[i]) + (1-b1)*gi)
		v[i] = float32(b2*float64(v[i]) + (1-b2)*gi*gi)
		w[i] = float32(float64(w[i]) - lr*(float64(m[i])/c1)/(math.Sqrt(float64(v[i])/c2)+eps))
	}
}

func adamBuffers(n int) (w, g, m, v []float32) {
	r := rand.New(rand.NewSource(1))
	w, g, m, v = make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range w {
		w[i], g[i], m[i], v[i] = r.Float32()-0.5, r.Float32()-0.5, r.Float32()-0.5, r.Float32()
	}
	return
}

// reportGBs reports the memory traffic: 4 slices read, 3 written.
func reportGBs(b *testing.B, n, slices int) {
	b.ReportMetric(float64(slices*4*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
}

// BenchmarkAdam runs one Adam step over the MLP's parameters with every
// implementation and with the scalar float64 code it replaces.
func BenchmarkAdam(b *testing.B) {
	n := paramCount
	w, g, m, v := adamBuffers(n)
	hp := hps[0]
	c1, c2 := hp.corrections(3)
	b.Run("scalar-float64", func(b *testing.B) {
		for b.Loop() {
			adam64(w, g, m, v, float64(hp.lr), float64(hp.b1), float64(hp.b2), float64(hp.eps), float64(c1), float64(c2))
		}
		reportGBs(b, n, 7)
	})
	benchAdamImpls(b, w, g, m, v, nil)
}

// benchAdamImpls times one Adam step over w, g, m and v with every implementation, reset
// (when not nil) run before each step outside the timing.
func benchAdamImpls(b *testing.B, w, g, m, v []float32, reset func()) {
	hp := hps[0]
	c1, c2 := hp.corrections(3)
	eachImpl(b, func(b *testing.B) {
		for b.Loop() {
			if reset != nil {
				b.StopTimer()
				reset()
				b.StartTimer()
			}
			Adam(w, g, m, v, hp.lr, hp.b1, hp.b2, hp.eps, c1, c2)
		}
		reportGBs(b, len(w), 7)
	})
}

// eachImpl runs f as a sub-benchmark named after each implementation, with it in use (the
// default is restored after).
func eachImpl(b *testing.B, f func(b *testing.B)) {
	def := Impl()
	defer Use(def)
	for _, name := range Impls() {
		Use(name)
		b.Run(name, f)
	}
}

// BenchmarkSGD is the plain update over the same parameters.
func BenchmarkSGD(b *testing.B) {
	n := paramCount
	w, g, _, _ := adamBuffers(n)
	eachImpl(b, func(b *testing.B) {
		for b.Loop() {
			SGD(w, g, 1e-9)
		}
		reportGBs(b, n, 3)
	})
}

// BenchmarkAdamDenormal is BenchmarkAdam's step on a state that decays towards zero: every
// gradient 0, half of m and v just above the smallest normal float32 (their new values are
// denormals) and half already denormal, as each step is set back to. Implementations that
// flush them to zero (avx512, avx2: MXCSR's FTZ and DAZ while the kernel runs) take the time
// of a normal step (see docs/DESIGN.md, "The solvers' state flushed to zero").
func BenchmarkAdamDenormal(b *testing.B) {
	w, g, m, v := adamBuffers(paramCount)
	benchAdamImpls(b, w, g, m, v, func() {
		for i := range w {
			g[i], m[i], v[i] = 0, 1.176e-38, 1.176e-38 // 0.9 and 0.999 of it are denormals
			if i%2 == 1 {
				m[i], v[i] = 1e-39, 1e-39
			}
		}
	})
}

// BenchmarkAddWiden sums the mlp's bias gradient at batch 128 as the CPU executor does: 128
// rows of 256 float32 values added in order into a float64 row, on each implementation.
func BenchmarkAddWiden(b *testing.B) {
	const rows, cols = 128, 256
	x := make([]float32, rows*cols)
	for i := range x {
		x[i] = float32(i%97) * 0.01
	}
	acc := make([]float64, cols)
	eachImpl(b, func(b *testing.B) {
		for b.Loop() {
			clear(acc)
			for r := 0; r < rows; r++ {
				AddWiden(acc, x[r*cols:(r+1)*cols])
			}
		}
	})
}
