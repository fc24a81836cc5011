package vec

import (
	"fmt"
	"maps"
	"math"
	"math/big"
	"math/rand"
	"runtime"
	"slices"
	"testing"

	"golang.org/x/sys/cpu"
)

// forEachImpl runs f once per available implementation, the portable one
// included, restoring the default afterwards.
func forEachImpl(t testing.TB, f func(name string)) {
	def := Impl()
	defer Use(def)
	for _, name := range Impls() {
		if err := Use(name); err != nil {
			t.Fatal(err)
		}
		f(name)
	}
}

// Adam hyper-parameters used by the tests.
type adamHP struct{ lr, b1, b2, eps float32 }

var hps = []adamHP{{1e-3, 0.9, 0.999, 1e-8}, {0.1, 0.8, 0.99, 1e-3}}

// corrections returns c1 = 1−b1^t and c2 = 1−b2^t as graphtrain computes
// them (float64, rounded to float32).
func (h adamHP) corrections(t int) (c1, c2 float32) {
	return float32(1 - math.Pow(float64(h.b1), float64(t))), float32(1 - math.Pow(float64(h.b2), float64(t)))
}

// fma32 is a float32 fused multiply-add, a·b+c rounded once (to nearest
// even), computed exactly with math/big. The tests keep values away from the
// subnormal range, where big.Float (no subnormals) would round differently.
func fma32(a, b, c float32) float32 {
	var p, s big.Float
	p.SetPrec(64).SetFloat64(float64(a))
	p.Mul(&p, new(big.Float).SetFloat64(float64(b))) // exact: 48 bits
	s.SetPrec(24).SetMode(big.ToNearestEven)
	s.Add(&p, new(big.Float).SetFloat64(float64(c)))
	f, _ := s.Float32()
	return f
}

func r32(x float64) float32 { return float32(x) }

// op describes one exported kernel for the generic tests. An element's
// values across the op's slices are e[0], e[1], ...
type op struct {
	name   string
	nbuf   int
	fresh  []int // slices given new random values before every step
	gen    func(r *rand.Rand, buf int) float32
	run    func(s [][]float32, step int, hp adamHP)
	ref    func(e []float32, step int, hp adamHP) // float64 arithmetic, stores rounded to float32
	model  func(e []float32, step int, hp adamHP, fma bool)
	exact  bool    // the kernel equals ref bit for bit
	relTol float64 // otherwise |got−ref| ≤ relTol·max|ref| per slice
}

// sym is a random value with a random sign and a magnitude spread over
// 2^-20 .. 2^2, 1 in 50 of them exactly 0.
func sym(r *rand.Rand) float32 {
	if r.Intn(50) == 0 {
		return 0
	}
	x := float32(math.Ldexp(1+r.Float64(), -20+r.Intn(22)))
	if r.Intn(2) == 0 {
		x = -x
	}
	return x
}

func genSym(r *rand.Rand, buf int) float32 { return sym(r) }

var ops = []op{
	{
		name: "Adam", nbuf: 4, fresh: []int{1},
		gen: func(r *rand.Rand, buf int) float32 {
			switch buf {
			case 0:
				return r.Float32()*2 - 1
			case 3: // v ≥ 0
				return float32(math.Abs(float64(sym(r))))
			}
			return sym(r)
		},
		run: func(s [][]float32, t int, hp adamHP) {
			c1, c2 := hp.corrections(t)
			Adam(s[0], s[1], s[2], s[3], hp.lr, hp.b1, hp.b2, hp.eps, c1, c2)
		},
		// As graphtrain's reference interpreter (and cpu's adam kernel).
		ref: func(e []float32, t int, hp adamHP) {
			c1f, c2f := hp.corrections(t)
			lr, b1, b2, eps := float64(hp.lr), float64(hp.b1), float64(hp.b2), float64(hp.eps)
			c1, c2 := float64(c1f), float64(c2f)
			g := float64(e[1])
			e[2] = r32(b1*float64(e[2]) + (1-b1)*g)
			e[3] = r32(b2*float64(e[3]) + (1-b2)*g*g)
			e[0] = r32(float64(e[0]) - lr*(float64(e[2])/c1)/(math.Sqrt(float64(e[3])/c2)+eps))
		},
		model: func(e []float32, t int, hp adamHP, fma bool) {
			c1, c2 := hp.corrections(t)
			ob1, ob2 := 1-hp.b1, 1-hp.b2
			g := e[1]
			t1 := float32(ob1 * g)
			t2 := float32(float32(ob2*g) * g)
			if fma {
				e[2] = fma32(hp.b1, e[2], t1)
				e[3] = fma32(hp.b2, e[3], t2)
			} else {
				e[2] = float32(hp.b1*e[2]) + t1
				e[3] = float32(hp.b2*e[3]) + t2
			}
			e[0] = e[0] - float32(hp.lr*float32(e[2]/c1))/(float32(sqrt32(float32(e[3]/c2)))+hp.eps)
		},
		relTol: 1e-6,
	},
	{
		name: "MaskMul", nbuf: 3, fresh: []int{1, 2},
		gen: func(r *rand.Rand, buf int) float32 {
			if buf == 1 {
				return float32(r.Intn(2))
			}
			return sym(r)
		},
		run:   func(s [][]float32, _ int, _ adamHP) { MaskMul(s[0], s[1], s[2]) },
		ref:   func(e []float32, _ int, _ adamHP) { e[0] = r32(float64(e[1]) * float64(e[2])) },
		model: func(e []float32, _ int, _ adamHP, _ bool) { e[0] = e[1] * e[2] },
		exact: true,
	},
	{
		name: "GeZeroMask", nbuf: 2, fresh: []int{1},
		gen: func(r *rand.Rand, buf int) float32 {
			if buf == 1 && r.Intn(8) == 0 {
				sp := []float64{math.NaN(), math.Copysign(0, -1), 0, math.Inf(1), math.Inf(-1), -1e-30, 1e-30, -math.MaxFloat32}
				return float32(sp[r.Intn(len(sp))])
			}
			return sym(r)
		},
		run: func(s [][]float32, _ int, _ adamHP) { GeZeroMask(s[0], s[1]) },
		ref: func(e []float32, _ int, _ adamHP) {
			e[0] = 0
			if float64(e[1]) >= 0 {
				e[0] = 1
			}
		},
		model: func(e []float32, _ int, _ adamHP, _ bool) {
			e[0] = 0
			if e[1] >= 0 {
				e[0] = 1
			}
		},
		exact: true,
	},
	{
		name: "Add", nbuf: 3, fresh: []int{1, 2}, gen: genSym,
		run:   func(s [][]float32, _ int, _ adamHP) { Add(s[0], s[1], s[2]) },
		ref:   func(e []float32, _ int, _ adamHP) { e[0] = r32(float64(e[1]) + float64(e[2])) },
		model: func(e []float32, _ int, _ adamHP, _ bool) { e[0] = e[1] + e[2] },
		exact: true,
	},
	{
		name: "SGD", nbuf: 2, fresh: []int{1}, gen: genSym,
		run: func(s [][]float32, _ int, hp adamHP) { SGD(s[0], s[1], hp.lr) },
		// As cpu's sgd kernel: w − (lr·g rounded).
		ref: func(e []float32, _ int, hp adamHP) {
			e[0] = r32(float64(e[0]) - float64(r32(float64(hp.lr)*float64(e[1]))))
		},
		model: func(e []float32, _ int, hp adamHP, _ bool) { e[0] = e[0] - float32(hp.lr*e[1]) },
		exact: true,
	},
	{
		name: "Momentum", nbuf: 3, fresh: []int{1}, gen: genSym,
		run: func(s [][]float32, _ int, hp adamHP) { Momentum(s[0], s[1], s[2], hp.lr, hp.b1) },
		// As cpu's momentum kernel.
		ref: func(e []float32, _ int, hp adamHP) {
			lr, mu := float64(hp.lr), float64(hp.b1)
			e[2] = r32(mu*float64(e[2]) + float64(e[1]))
			e[0] = r32(float64(e[0]) - lr*float64(e[2]))
		},
		model: func(e []float32, _ int, hp adamHP, fma bool) {
			if fma {
				e[2] = fma32(hp.b1, e[2], e[1])
				e[0] = fma32(-hp.lr, e[2], e[0])
			} else {
				e[2] = float32(hp.b1*e[2]) + e[1]
				e[0] = e[0] - float32(hp.lr*e[2])
			}
		},
		relTol: 1e-6,
	},
}

func activeImpl() *impl { return active }

var lengths = []int{0, 1, 7, 15, 16, 17, 31, 33, 1000, 200001}

const sentinel = -12345.678

// state is an op's slices, each an unaligned window s[1:n+1] of a buffer
// with a sentinel on either side.
type state struct {
	bufs [][]float32
	s    [][]float32
}

func newState(o *op, r *rand.Rand, n int) *state {
	st := &state{}
	for b := 0; b < o.nbuf; b++ {
		buf := make([]float32, n+2)
		buf[0], buf[n+1] = sentinel, sentinel
		for i := 1; i <= n; i++ {
			buf[i] = o.gen(r, b)
		}
		st.bufs = append(st.bufs, buf)
		st.s = append(st.s, buf[1:n+1])
	}
	return st
}

func (st *state) clone() *state {
	c := &state{}
	for _, b := range st.bufs {
		nb := slices.Clone(b)
		c.bufs = append(c.bufs, nb)
		c.s = append(c.s, nb[1:len(nb)-1])
	}
	return c
}

func (st *state) refresh(o *op, r *rand.Rand, others ...*state) {
	for _, b := range o.fresh {
		for i := range st.s[b] {
			x := o.gen(r, b)
			st.s[b][i] = x
			for _, ot := range others {
				ot.s[b][i] = x
			}
		}
	}
}

// elementwise applies f to every element of st.
func (st *state) elementwise(f func(e []float32)) {
	e := make([]float32, len(st.s))
	for i := range st.s[0] {
		for b := range e {
			e[b] = st.s[b][i]
		}
		f(e)
		for b := range e {
			st.s[b][i] = e[b]
		}
	}
}

func sameBits(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || a != a && b != b
}

// Every implementation against the float64 reference, over several steps on
// independent trajectories, and bit for bit against its float32 model (same
// inputs) on the shorter lengths.
func TestAgainstReference(t *testing.T) {
	forEachImpl(t, func(name string) {
		fma := activeImpl().fma
		for oi := range ops {
			o := &ops[oi]
			for _, n := range lengths {
				for hi, hp := range hps {
					r := rand.New(rand.NewSource(int64(1000*oi + n + hi)))
					got := newState(o, r, n)
					want := got.clone()
					for step := 1; step <= 5; step++ {
						what := fmt.Sprintf("%s %s n=%d hp=%d step %d", name, o.name, n, hi, step)
						got.refresh(o, r, want)
						var model *state
						if n <= 1000 {
							model = got.clone()
							model.elementwise(func(e []float32) { o.model(e, step, hp, fma) })
						}
						o.run(got.s, step, hp)
						want.elementwise(func(e []float32) { o.ref(e, step, hp) })
						for b, buf := range got.bufs {
							if buf[0] != sentinel || buf[n+1] != sentinel {
								t.Fatalf("%s: slice %d: wrote outside the slice", what, b)
							}
						}
						compare(t, what, o, got, want)
						if model != nil {
							for b := range got.s {
								for i := range got.s[b] {
									if g, m := got.s[b][i], model.s[b][i]; !sameBits(g, m) {
										t.Fatalf("%s: slice %d [%d] = %v (%#x), float32 model (fma=%v) %v (%#x)", what, b, i, g, math.Float32bits(g), fma, m, math.Float32bits(m))
									}
								}
							}
						}
					}
				}
			}
		}
	})
	for _, k := range slices.Sorted(maps.Keys(worst)) {
		t.Logf("%-20s max |diff|/max|ref| = %.3g", k, worst[k])
	}
}

// worst[op slice] is the largest error seen relative to max|ref|, logged by
// TestAgainstReference (go test -v).
var worst = map[string]float64{}

func compare(t *testing.T, what string, o *op, got, want *state) {
	t.Helper()
	for b := range got.s {
		gs, ws := got.s[b], want.s[b]
		if o.exact {
			for i := range gs {
				if !sameBits(gs[i], ws[i]) {
					t.Fatalf("%s: slice %d [%d] = %v, reference %v", what, b, i, gs[i], ws[i])
				}
			}
			continue
		}
		var scale, maxd float64
		for i := range ws {
			scale = max(scale, math.Abs(float64(ws[i])))
		}
		for i := range gs {
			d := math.Abs(float64(gs[i]) - float64(ws[i]))
			if !(d <= o.relTol*scale) {
				t.Fatalf("%s: slice %d [%d] = %v, reference %v (|diff| %g > %g·max|ref| %g)", what, b, i, gs[i], ws[i], d, o.relTol, scale)
			}
			maxd = max(maxd, d)
		}
		if scale > 0 {
			k := fmt.Sprintf("%s slice %d", o.name, b)
			worst[k] = max(worst[k], maxd/scale)
		}
	}
}

// Callers split work across threads: processing a slice whole or in pieces
// (of 16384 as the cpu package does, or of odd sizes) must give the same bits.
func TestChunkingBitIdentical(t *testing.T) {
	const n = 200001
	forEachImpl(t, func(name string) {
		for oi := range ops {
			o := &ops[oi]
			hp := hps[0]
			r := rand.New(rand.NewSource(int64(oi)))
			whole := newState(o, r, n)
			for _, pieces := range [][]int{{16384}, {1, 7, 15, 16, 17, 31, 33, 1000, 5}} {
				for step := 1; step <= 3; step++ {
					w := whole.clone()
					c := whole.clone()
					o.run(w.s, step, hp)
					for lo, k := 0, 0; lo < n; k++ {
						hi := min(n, lo+pieces[k%len(pieces)])
						sub := make([][]float32, len(c.s))
						for b := range sub {
							sub[b] = c.s[b][lo:hi]
						}
						o.run(sub, step, hp)
						lo = hi
					}
					for b := range w.s {
						for i := range w.s[b] {
							if !sameBits(w.s[b][i], c.s[b][i]) {
								t.Fatalf("%s %s pieces %v step %d: slice %d [%d]: whole %v, in pieces %v", name, o.name, pieces, step, b, i, w.s[b][i], c.s[b][i])
							}
						}
					}
					whole = w
				}
			}
		}
	})
}

func TestNoAllocs(t *testing.T) {
	forEachImpl(t, func(name string) {
		for oi := range ops {
			o := &ops[oi]
			for _, n := range []int{5, 1007} {
				st := newState(o, rand.New(rand.NewSource(1)), n)
				f := func() { o.run(st.s, 1, hps[0]) }
				if a := testing.AllocsPerRun(20, f); a != 0 {
					t.Errorf("%s %s n=%d: %v allocs per call", name, o.name, n, a)
				}
			}
		}
	})
}

func TestPanicsOnLengthMismatch(t *testing.T) {
	a, b := make([]float32, 3), make([]float32, 4)
	for name, f := range map[string]func(){
		"Adam":       func() { Adam(a, a, a, b, 1, 0.9, 0.99, 1e-8, 1, 1) },
		"MaskMul":    func() { MaskMul(a, b, a) },
		"GeZeroMask": func() { GeZeroMask(b, a) },
		"Add":        func() { Add(a, a, b) },
		"SGD":        func() { SGD(a, b, 1) },
		"Momentum":   func() { Momentum(a, a, b, 1, 0.9) },
		"AddWiden":   func() { AddWiden(make([]float64, 3), b) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic on slices of different lengths", name)
				}
			}()
			f()
		}()
	}
}

func TestImpls(t *testing.T) {
	names := Impls()
	if names[len(names)-1] != "go" {
		t.Errorf("Impls() = %v: want go last", names)
	}
	if Impl() != names[0] {
		t.Errorf("default %q, want the first of %v", Impl(), names)
	}
	if runtime.GOARCH == "amd64" {
		want := []string{}
		if cpu.X86.HasAVX512F {
			want = append(want, "avx512")
		}
		if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
			want = append(want, "avx2")
		}
		if !slices.Equal(names, append(want, "go")) {
			t.Errorf("Impls() = %v, want %v", names, append(want, "go"))
		}
	}
	// NEON (ASIMD) is mandatory on arm64.
	if runtime.GOARCH == "arm64" && !slices.Equal(names, []string{"neon", "go"}) {
		t.Errorf("Impls() = %v, want [neon go]", names)
	}
	if err := Use("nope"); err == nil {
		t.Error("Use of an unknown implementation: no error")
	}
	if Impl() != names[0] {
		t.Errorf("a failed Use changed the implementation to %q", Impl())
	}
}

// Outputs may be the same slice as an input.
func TestInPlace(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	forEachImpl(t, func(name string) {
		for _, n := range []int{7, 16, 33, 1000} {
			a, b := make([]float32, n), make([]float32, n)
			for i := range a {
				a[i], b[i] = sym(r), sym(r)
			}
			want := make([]float32, n)
			got := slices.Clone(a)
			Add(want, a, b)
			Add(got, got, b)
			if !slices.Equal(got, want) {
				t.Fatalf("%s n=%d: Add(a, a, b) differs from Add(dst, a, b)", name, n)
			}
			got = slices.Clone(a)
			MaskMul(want, b, a)
			MaskMul(got, b, got)
			if !slices.Equal(got, want) {
				t.Fatalf("%s n=%d: MaskMul(x, mask, x) differs from MaskMul(dst, mask, x)", name, n)
			}
			got = slices.Clone(a)
			GeZeroMask(want, a)
			GeZeroMask(got, got)
			if !slices.Equal(got, want) {
				t.Fatalf("%s n=%d: GeZeroMask(x, x) differs from GeZeroMask(mask, x)", name, n)
			}
		}
	})
}
