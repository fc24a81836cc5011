package vec

import (
	"fmt"
	"math"
)

//go:generate go run asmgen.go

// impl is one implementation of every kernel of the package. The functions
// get slices of equal length (checked by the exported wrappers).
type impl struct {
	name  string
	lanes int // float32 lanes per vector register (1 for the portable code)
	// fma: Adam's m and v updates and Momentum contract a·b+c into one
	// rounding (see the package documentation); otherwise every product and
	// sum is rounded to float32 on its own.
	fma      bool
	adam     func(w, g, m, v []float32, lr, b1, b2, eps, c1, c2 float32)
	maskMul  func(dst, mask, x []float32)
	geZero   func(mask, x []float32)
	add      func(dst, a, b []float32)
	sgd      func(w, g []float32, lr float32)
	momentum func(w, g, vel []float32, lr, mu float32)
	pool2    func(pooled, route, pre []float32, gw, rows, n int)
	unpool2  func(grid, route, dpooled []float32, gw, rows, n int) // nil: Unpool2 in Go
	addWiden func(acc []float64, x []float32)                      // nil: AddWiden in Go
}

var (
	impls  []*impl // available on this CPU, preferred first
	active *impl
)

var goImpl = &impl{
	name: "go", lanes: 1,
	adam: adamGo, maskMul: maskMulGo, geZero: geZeroGo, add: addGo, sgd: sgdGo, momentum: momentumGo,
	pool2: pool2Go,
}

func init() {
	impls = append(archImpls(), goImpl)
	active = impls[0]
}

// Impls lists the implementations usable on this machine, the default
// (fastest) first; "go" (portable) is always last.
func Impls() []string {
	names := make([]string, len(impls))
	for i, k := range impls {
		names[i] = k.name
	}
	return names
}

// Impl returns the name of the implementation in use.
func Impl() string { return active.name }

// Use selects the implementation by name (see Impls). It is meant for tests
// and benchmarks: it must not be called while a kernel is running.
func Use(name string) error {
	for _, k := range impls {
		if k.name == name {
			active = k
			return nil
		}
	}
	return fmt.Errorf("vec: implementation %q not available (have %v)", name, Impls())
}

func checkLen(op string, n int, others ...int) {
	for _, o := range others {
		if o != n {
			panic(fmt.Sprintf("vec.%s: slices of different lengths (%d and %d)", op, n, o))
		}
	}
}

// Adam is one Adam step over equal-length slices, in place, in float32:
//
//	m = b1·m + (1−b1)·g
//	v = b2·v + ((1−b2)·g)·g
//	w = w − (lr·(m/c1)) / (sqrt(v/c2) + eps)
//
// c1 = 1−b1^t and c2 = 1−b2^t are the bias corrections of step t, computed
// by the caller. The operations are done in exactly this order; the SIMD
// implementations fuse b1·m and b2·v into the following addition (one
// rounding), the portable one rounds every operation.
func Adam(w, g, m, v []float32, lr, b1, b2, eps, c1, c2 float32) {
	checkLen("Adam", len(w), len(g), len(m), len(v))
	if len(w) == 0 {
		return
	}
	active.adam(w, g, m, v, lr, b1, b2, eps, c1, c2)
}

// MaskMul sets dst[i] = mask[i]·x[i] (exact: one rounded product).
func MaskMul(dst, mask, x []float32) {
	checkLen("MaskMul", len(dst), len(mask), len(x))
	if len(dst) == 0 {
		return
	}
	active.maskMul(dst, mask, x)
}

// GeZeroMask sets mask[i] = 1 if x[i] ≥ 0 (−0 included), else 0 (NaN
// included): the ReLU derivative mask.
func GeZeroMask(mask, x []float32) {
	checkLen("GeZeroMask", len(mask), len(x))
	if len(mask) == 0 {
		return
	}
	active.geZero(mask, x)
}

// Add sets dst[i] = a[i] + b[i].
func Add(dst, a, b []float32) {
	checkLen("Add", len(dst), len(a), len(b))
	if len(dst) == 0 {
		return
	}
	active.add(dst, a, b)
}

// SGD is w[i] −= lr·g[i] with the product rounded to float32 before the
// subtraction (no FMA in any implementation), which is exactly graphtrain's
// reference (float64 arithmetic, every stored value rounded to float32).
func SGD(w, g []float32, lr float32) {
	checkLen("SGD", len(w), len(g))
	if len(w) == 0 {
		return
	}
	active.sgd(w, g, lr)
}

// Momentum is SGD with momentum, in place:
//
//	vel = mu·vel + g
//	w   = w − lr·vel
//
// The SIMD implementations compute both lines with one fused multiply-add
// each (one rounding); the portable one rounds the product first.
func Momentum(w, g, vel []float32, lr, mu float32) {
	checkLen("Momentum", len(w), len(g), len(vel))
	if len(w) == 0 {
		return
	}
	active.momentum(w, g, vel, lr, mu)
}

// The portable implementation. Explicit float32 conversions forbid the
// compiler from fusing x*y + z (it does on arm64, ppc64, s390x, riscv64), so
// the results are the same on every architecture.

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

func adamGo(w, g, m, v []float32, lr, b1, b2, eps, c1, c2 float32) {
	ob1, ob2 := 1-b1, 1-b2
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	for i := range w {
		gi := g[i]
		mi := float32(b1*m[i]) + float32(ob1*gi)
		vi := float32(b2*v[i]) + float32(float32(ob2*gi)*gi)
		m[i], v[i] = mi, vi
		w[i] -= float32(lr*(mi/c1)) / (sqrt32(vi/c2) + eps)
	}
}

func maskMulGo(dst, mask, x []float32) {
	mask, x = mask[:len(dst)], x[:len(dst)]
	for i := range dst {
		dst[i] = mask[i] * x[i]
	}
}

func geZeroGo(mask, x []float32) {
	x = x[:len(mask)]
	for i := range mask {
		if x[i] >= 0 {
			mask[i] = 1
		} else {
			mask[i] = 0
		}
	}
}

func addGo(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

func sgdGo(w, g []float32, lr float32) {
	g = g[:len(w)]
	for i := range w {
		w[i] -= float32(lr * g[i])
	}
}

func momentumGo(w, g, vel []float32, lr, mu float32) {
	g, vel = g[:len(w)], vel[:len(w)]
	for i := range w {
		vi := float32(mu*vel[i]) + g[i]
		vel[i] = vi
		w[i] -= float32(lr * vi)
	}
}
