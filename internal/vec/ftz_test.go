package vec

import (
	"math"
	"runtime"
	"testing"
)

// flushes reports whether implementation name's Adam and Momentum flush denormals to zero.
func flushes(name string) bool { return name == "avx512" || name == "avx2" || name == "neon" }

// TestSolversFlushDenormals: on avx512, avx2 and neon, Adam's and Momentum's state never becomes a
// denormal (a result that would be one is 0, one given is read as 0), every normal value is
// what the kernel gave before, and the caller's floating-point mode is untouched afterwards
// (a denormal product in Go is still a denormal). The Go code keeps denormals.
func TestSolversFlushDenormals(t *testing.T) {
	const n = 37                            // two whole vectors of 16 and a tail
	small := float32(1.176e-38)             // normal (just above 2^-126); 0.9 and 0.999 of it are not
	den := math.Float32frombits(0x00400000) // a denormal (2^-127)
	def := Impl()
	defer Use(def)
	for _, name := range Impls() {
		Use(name)
		w, g, m, v := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range w {
			w[i], m[i], v[i] = 0.5, small, small
			if i%3 == 0 {
				m[i], v[i] = den, den
			}
			if i%5 == 0 {
				g[i] = 0.25 // normal values on these
			}
		}
		Adam(w, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 0.5, 0.5)
		vel := make([]float32, n)
		w2 := make([]float32, n)
		for i := range vel {
			vel[i], w2[i] = small, 0.5
		}
		Momentum(w2, make([]float32, n), vel, 0.1, 0.9)
		for i := range w {
			if g[i] != 0 {
				if m[i] == 0 || v[i] == 0 || w[i] == 0.5 {
					t.Errorf("%s: element %d with a gradient: m %g, v %g, w %g", name, i, m[i], v[i], w[i])
				}
				continue
			}
			for _, x := range []struct {
				what string
				v    float32
			}{{"adam m", m[i]}, {"adam v", v[i]}, {"momentum vel", vel[i]}} {
				denormal := x.v != 0 && math.Abs(float64(x.v)) < 0x1p-126
				if flushes(name) && x.v != 0 {
					t.Errorf("%s: %s of element %d is %g, want 0 (flushed)", name, x.what, i, x.v)
				}
				if !flushes(name) && !denormal && i%3 != 0 {
					t.Errorf("%s: %s of element %d is %g, want the denormal", name, x.what, i, x.v)
				}
			}
			if w[i] != 0.5 || w2[i] != 0.5 {
				t.Errorf("%s: w of element %d moved: %g, %g", name, i, w[i], w2[i])
			}
		}
		// The mode is restored: on this thread a denormal product is still one.
		runtime.LockOSThread()
		Adam(w, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 0.5, 0.5)
		if p := half(small); p == 0 || p != small/2 {
			t.Errorf("%s: after Adam, %g/2 = %g in Go: the floating-point mode was not restored", name, small, p)
		}
		runtime.UnlockOSThread()
	}
}

// half is x/2 computed at run time (not folded by the compiler).
//
//go:noinline
func half(x float32) float32 { return x * 0.5 }
