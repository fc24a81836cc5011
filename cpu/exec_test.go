package cpu

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/backend"
	"github.com/graphtrain/graphtrain/internal/gemm"
	"github.com/graphtrain/graphtrain/internal/parallel"
	"github.com/graphtrain/graphtrain/internal/vec"
	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/ir/ref"
	"github.com/graphtrain/graphtrain/lower"
	"github.com/graphtrain/graphtrain/lower/lowertest"
	"github.com/graphtrain/graphtrain/model"
	"github.com/graphtrain/graphtrain/runner"
	"github.com/graphtrain/graphtrain/train"
)

// kernels runs f once with each GEMM kernel this machine has (the portable Go one included),
// so that every test covers every product kernel.
func kernels(t *testing.T, f func(t *testing.T)) {
	defer gemm.Use(gemm.Kernel())
	for _, k := range gemm.Kernels() {
		if err := gemm.Use(k); err != nil {
			t.Fatal(err)
		}
		t.Run(k, f)
	}
}

// read is buffer id of e as float64s.
func read(e *executor, id int) []float64 {
	out := make([]float64, e.p.Buffers[id].Elems)
	for i := range out {
		if e.p.Buffers[id].Elem == 8 && e.p.Buffers[id].Kind == ir.Dataset && (id == e.p.Data.Order || id == e.p.Data.Cursor) {
			out[i] = float64(e.i64(id)[i])
		} else {
			out[i] = e.real(id, i)
		}
	}
	return out
}

// write sets buffer id of e from float64s.
func write(e *executor, id int, v []float64) {
	for i, x := range v {
		e.setReal(id, i, x)
	}
}

// executorOf is the executor of a cpu trainer's training program.
func executorOf(tr backend.Trainer) *executor {
	return tr.(*runner.Trainer).Launches().(*launches).e
}

// loadBatch copies inputs x and targets y into the program's x and y.
func loadBatch(e *executor, x, y *tensor.Dense) {
	write(e, e.p.X, ref.ToF64(x))
	write(e, e.p.Y, ref.ToF64(y))
}

// stepLaunches runs p's launches one at a time on the executor and on the reference
// interpreter, compares each launch's output, then carries on from the reference's values so
// that one error does not spread.
func stepLaunches(t *testing.T, what string, e *executor, h *ref.Machine, tol float64) {
	t.Helper()
	for i, l := range e.p.Launches {
		e.steps[i]()
		if err := h.Exec(l); err != nil {
			t.Fatalf("%s: launch %d: %v", what, i, err)
		}
		outs := []int{l.Args[len(l.Args)-1]}
		switch l.Op {
		case ir.SoftmaxXent:
			outs = l.Args[2:]
		case ir.ConvReLU, ir.ConvReLUPool:
			outs = l.Args[3:]
		case ir.ConvReLUPoolBack:
			outs = l.Args[4:]
		case ir.Momentum:
			outs = []int{l.Args[0], l.Args[2]}
		case ir.Adam:
			outs = []int{l.Args[0], l.Args[2], l.Args[3]}
		case ir.SGD:
			outs = []int{l.Args[0]}
		case ir.StepInc, ir.CursorAdd:
			continue
		case ir.BatchNormStats, ir.BatchNormBackScale:
			outs = l.Args[len(l.Args)-2:]
		}
		lt := tol
		if (l.Op == ir.Adam || l.Op == ir.Momentum) && l.Dtype == ir.Float32 {
			// Float32 arithmetic with float32 hyperparameters: 1−β2 rounded to float32 is
			// off by 1.3e-5 relative, and so is v's new term.
			lt = 1e-4
		}
		for _, b := range outs {
			got, want := read(e, b), h.Buf(b)
			if d := lowertest.RelErr(got, want); !(d <= lt) {
				t.Errorf("%s: launch %d (%s): buffer %s off by %.2g relative", what, i, l, e.p.Buffers[b].Name, d)
			}
			write(e, b, want)
		}
	}
}

// TestOddShapes runs every CUDA-kernel op on shapes the models do not make (package
// programtest's list), and the CPU's own fused products (with a bias, with a bias and a
// ReLU, times a matrix), in both precisions, on every GEMM kernel, against the reference
// interpreter.
func TestOddShapes(t *testing.T) {
	kernels(t, func(t *testing.T) {
		for _, dtype := range []ir.Dtype{ir.Float32, ir.Float64} {
			o := lowertest.NewOdd(dtype)
			o.AddAll()
			for _, s := range [][3]int{{1, 1, 1}, {17, 5, 33}, {130, 40, 17}, {33, 70, 300}} {
				m, n, k := s[0], s[1], s[2]
				for _, ta := range []int64{0, 1} {
					for _, tb := range []int64{0, 1} {
						a, b, bias := o.In(m*k, o.Normal), o.In(k*n, o.Normal), o.In(n, o.Normal)
						o.Launch(ir.GemmBias, fmt.Sprintf("gemm_bias %v ta=%d tb=%d", s, ta, tb), []int{a, b, bias, o.Out(m * n)}, []int64{int64(m), int64(n), int64(k), ta, tb})
						o.Launch(ir.GemmBiasReLU, fmt.Sprintf("gemm_bias_relu %v ta=%d tb=%d", s, ta, tb), []int{a, b, bias, o.Out(m * n), o.Out(m * n)}, []int64{int64(m), int64(n), int64(k), ta, tb})
						o.Launch(ir.GemmMul, fmt.Sprintf("gemm_mul %v ta=%d tb=%d", s, ta, tb), []int{a, b, o.In(m*n, o.Normal), o.Out(m * n)}, []int64{int64(m), int64(n), int64(k), ta, tb})
					}
				}
			}
			// The ReLU's mask where the sum is exactly 0 (+0 and −0 both pass): A of zeros, a
			// bias of zeros of both signs and of values either side; a C that the product
			// cuts along K (a long K, few outputs).
			for _, s := range [][3]int{{9, 6, 3}, {5, 7, 5000}} {
				m, n, k := s[0], s[1], s[2]
				signed := func() float64 { return []float64{0, math.Copysign(0, -1), 1, -1}[o.Rng.Intn(4)] }
				zeros := func() float64 { return 0 }
				if k > 100 {
					zeros = o.Normal
				}
				o.Launch(ir.GemmBiasReLU, fmt.Sprint("gemm_bias_relu at zero ", s), []int{o.In(m*k, zeros), o.In(k*n, o.Normal), o.In(n, signed), o.Out(m * n), o.Out(m * n)},
					[]int64{int64(m), int64(n), int64(k), 0, 0})
			}
			// The 2x2 pooling at stride 2 that the cnn uses has kernels of its own: ties
			// (values from a small set) check that the first maximum of a window wins.
			for _, pg := range [][4]int{{3, 2, 8, 6}, {2, 1, 7, 5}} {
				b, c, h, w := pg[0], pg[1], pg[2], pg[3]
				ints := []int64{int64(b), int64(c), int64(h), int64(w), 2, 2, 0, 0, 2, 2, int64(h / 2), int64(w / 2)}
				ties := func() float64 { return float64(o.Rng.Intn(3)) }
				in := o.In(b*c*h*w, ties)
				pooled := b * c * (h / 2) * (w / 2)
				o.Launch(ir.MaxPool, fmt.Sprint("maxpool 2x2 ", pg), []int{in, o.Out(pooled)}, ints)
				o.Launch(ir.MaxPoolBack, fmt.Sprint("maxpool_back 2x2 ", pg), []int{in, o.In(pooled, o.Normal), o.Out(b * c * h * w)}, ints)
			}
			// The fused convolutions: padding, strides, dilation, more images than a filter
			// group, one output channel and many.
			for _, g := range [][13]int{{2, 3, 7, 6, 3, 2, 1, 0, 2, 1, 2, 1, 4}, {11, 3, 7, 6, 3, 3, 1, 1, 2, 2, 1, 1, 1},
				{1, 2, 5, 9, 1, 4, 0, 2, 1, 3, 1, 1, 7}, {9, 1, 12, 10, 5, 5, 2, 2, 1, 1, 1, 1, 6}, {3, 6, 8, 8, 5, 5, 0, 0, 1, 1, 1, 1, 16}} {
				b, c, h, w, kh, kw, ph, pw, sh, sw, dh, dw, cout := g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12]
				oh, ow := (h+2*ph-dh*(kh-1)-1)/sh+1, (w+2*pw-dw*(kw-1)-1)/sw+1
				ints := []int64{}
				for _, v := range []int{b, c, h, w, kh, kw, ph, pw, sh, sw, dh, dw, oh, ow, cout} {
					ints = append(ints, int64(v))
				}
				img, out, filt := b*c*h*w, b*cout*oh*ow, cout*c*kh*kw
				o.Launch(ir.Conv, fmt.Sprint("conv ", g), []int{o.In(img, o.Normal), o.In(filt, o.Normal), o.In(cout, o.Normal), o.Out(out)}, ints)
				o.Launch(ir.ConvData, fmt.Sprint("conv_data ", g), []int{o.In(out, o.Normal), o.In(filt, o.Normal), o.Out(img)}, ints)
				o.Launch(ir.ConvFilter, fmt.Sprint("conv_filter ", g), []int{o.In(out, o.Normal), o.In(img, o.Normal), o.Out(filt)}, ints)
				o.Launch(ir.ConvReLU, fmt.Sprint("conv_relu ", g), []int{o.In(img, o.Normal), o.In(filt, o.Normal), o.In(cout, o.Normal), o.Out(out), o.Out(out)}, ints)
			}
			// Pooling's gradient times a mask, both pooling kernels.
			for _, pg := range [][10]int{{3, 2, 8, 6, 2, 2, 0, 0, 2, 2}, {2, 3, 7, 6, 3, 3, 1, 1, 2, 2}} {
				b, c, h, w, kh, kw, ph, pw, sh, sw := pg[0], pg[1], pg[2], pg[3], pg[4], pg[5], pg[6], pg[7], pg[8], pg[9]
				oh, ow := (h+2*ph-kh)/sh+1, (w+2*pw-kw)/sw+1
				ints := []int64{int64(b), int64(c), int64(h), int64(w), int64(kh), int64(kw), int64(ph), int64(pw), int64(sh), int64(sw), int64(oh), int64(ow)}
				bits := func() float64 { return float64(o.Rng.Intn(2)) }
				o.Launch(ir.MaxPoolBackMask, fmt.Sprint("maxpool_back_mask ", pg), []int{o.In(b*c*h*w, o.Normal), o.In(b*c*oh*ow, o.Normal), o.In(b*c*h*w, bits), o.Out(b * c * h * w)}, ints)
				// Routes: every place, masked or not, and windows with none.
				kk := kh * kw
				places := func() float64 { return float64(o.Rng.Intn(2*kk+1) - 1) }
				o.Launch(ir.PoolRouteBack, fmt.Sprint("pool_route_back ", pg), []int{o.In(b*c*oh*ow, places), o.In(b*c*oh*ow, o.Normal), o.Out(b * c * h * w)}, ints)
			}
			// The convolution, ReLU and 2x2 pooling in one, on odd sizes (an odd side drops its
			// last row or column from the pooling), with ties after the ReLU.
			for _, g := range [][8]int{{3, 2, 9, 7, 3, 1, 1, 5}, {10, 1, 12, 12, 5, 2, 2, 6}, {2, 4, 6, 5, 1, 0, 0, 3}} {
				b, c, h, w, k, ph, pw, cout := g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7]
				oh, ow := h+2*ph-k+1, w+2*pw-k+1
				var ints []int64
				for _, v := range []int{b, c, h, w, k, k, ph, pw, 1, 1, 1, 1, oh, ow, cout, b, cout, oh, ow, 2, 2, 0, 0, 2, 2, oh / 2, ow / 2} {
					ints = append(ints, int64(v))
				}
				pooled := b * cout * (oh / 2) * (ow / 2)
				o.Launch(ir.ConvReLUPool, fmt.Sprint("conv_relu_pool ", g), []int{o.In(b*c*h*w, o.Normal), o.In(cout*c*k*k, o.Normal), o.In(cout, o.Normal), o.Out(pooled), o.Out(pooled)}, ints)
				// Its backward pass, with and without the image gradient, on routes of every
				// kind (masked, unmasked, none).
				places := func() float64 { return float64(o.Rng.Intn(9) - 1) }
				for _, withImage := range []bool{false, true} {
					args := []int{o.In(pooled, places), o.In(pooled, o.Normal), o.In(b*c*h*w, o.Normal), o.In(cout*c*k*k, o.Normal), o.Out(cout * c * k * k), o.Out(cout)}
					if withImage {
						args = append(args, o.Out(b*c*h*w))
					}
					o.Launch(ir.ConvReLUPoolBack, fmt.Sprint("conv_relu_pool_back ", g, withImage), args, ints)
				}
			}
			e, err := newExecutor(o.P, parallel.Default())
			if err != nil {
				t.Fatal(err)
			}
			h := ref.New(o.P, nil, nil)
			for id, v := range o.Inputs {
				copy(h.Buf(id), v)
				write(e, id, v)
			}
			tol := 1e-5
			if dtype == ir.Float64 {
				tol = 1e-12
			}
			stepLaunches(t, dtype.String(), e, h, tol)
		}
	})
}

// TestModelsMatchReference runs a few training steps of each model's program, for the CPU and
// the CUDA target (whose split products the CPU runs too), launch by launch against the
// reference interpreter.
func TestModelsMatchReference(t *testing.T) {
	for _, target := range []lower.Target{lower.CPU, lower.CUDA} {
		for _, tm := range lowertest.Models(t) {
			p, s := lowertest.Lower(t, tm.M, tm.Batch, tm.Solver, tm.LR, target)
			tr, err := newTrainer(p, &model.Net{Model: tm.M}, s, parallel.Default())
			if err != nil {
				t.Fatal(err)
			}
			h := ref.New(p, tm.M, s)
			tol := 1e-5
			if p.Dtype == ir.Float64 {
				tol = 1e-12
			}
			for step := 0; step < 3; step++ {
				x, y := lowertest.Batch(tm.M, tm.Batch, int64(step))
				copy(h.Buf(p.X), ref.ToF64(x))
				copy(h.Buf(p.Y), ref.ToF64(y))
				e := executorOf(tr)
				loadBatch(e, x, y)
				stepLaunches(t, fmt.Sprintf("%s %s step %d", target.Name, p.Kind, step), e, h, tol)
			}
		}
	}
}

// TestGradientsMatchVM: one step's loss, output and every gradient agree with Gorgonia's
// TapeMachine within 1e-4 relative, for every model.
func TestGradientsMatchVM(t *testing.T) {
	kernels(t, func(t *testing.T) {
		for _, tm := range lowertest.Models(t) {
			checkStepMatchesVM(t, tm.M.Spec.Kind, tm)
		}
	})
}

// checkStepMatchesVM runs one step of c's model on the CPU executor and compares its loss,
// output and every gradient with Gorgonia's TapeMachine's, within 1e-4 relative.
func checkStepMatchesVM(t *testing.T, what string, c lowertest.Case) {
	t.Helper()
	x, y := lowertest.Batch(c.M, c.Batch, 7)
	loss, out, grads := lowertest.TapeReference(t, c.M, c.Batch, x, y)
	p, s := lowertest.Lower(t, c.M, c.Batch, c.Solver, c.LR, lower.CPU)
	tr, err := newTrainer(p, &model.Net{Model: c.M}, s, parallel.Default())
	if err != nil {
		t.Fatal(err)
	}
	ex := executorOf(tr)
	loadBatch(ex, x, y)
	ex.run()
	if e := lowertest.RelErr(read(ex, p.Loss), []float64{loss}); e > 1e-4 {
		t.Errorf("%s: loss %v, TapeMachine %v", what, read(ex, p.Loss), loss)
	}
	if e := lowertest.RelErr(read(ex, p.Out), out); e > 1e-4 {
		t.Errorf("%s: output off by %.2g relative", what, e)
	}
	for i, g := range p.Grads {
		if e := lowertest.RelErr(read(ex, g), grads[i]); e > 1e-4 {
			t.Errorf("%s: gradient of %s off by %.2g relative", what, c.M.Params[i].Name, e)
		}
	}
}

// adamTrainer is the CPU's trainer of m at batch with Adam at 1e-3, closed when the test or
// benchmark ends.
func adamTrainer(tb testing.TB, m *model.Model, batch int) backend.Trainer {
	tb.Helper()
	net, err := m.Build(batch, true)
	if err != nil {
		tb.Fatal(err)
	}
	s, _ := model.NewSolver("adam", 1e-3)
	tr, err := Backend{}.NewTrainer(net, s)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { tr.Close() })
	return tr
}

// trainSteps runs steps of the model of kind on a pool of workers and returns its parameters.
func trainSteps(t *testing.T, kind string, workers, steps int) [][]float32 {
	t.Helper()
	m := lowertest.Model(t, kind)
	net, err := m.Build(16, true)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := model.NewSolver("adam", 1e-3)
	if err := s.Init(m); err != nil {
		t.Fatal(err)
	}
	p, err := lower.Lower(net, s, lower.CPU)
	if err != nil {
		t.Fatal(err)
	}
	pool := parallel.New(workers)
	defer pool.Close()
	tr, err := newTrainer(p, net, s, pool)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < steps; i++ {
		x, y := lowertest.Batch(m, 16, int64(i))
		if err := tr.Step(x, y); err != nil {
			t.Fatal(err)
		}
	}
	var out [][]float32
	for _, b := range p.Params {
		out = append(out, append([]float32(nil), executorOf(tr).f32(b)...))
	}
	return out
}

// TestSameOnAnyWorkers: training gives the same parameters bit for bit on 1, 2 and 3
// workers.
func TestSameOnAnyWorkers(t *testing.T) {
	for _, kind := range []string{"mlp", "cnn"} {
		want := trainSteps(t, kind, 1, 3)
		for _, w := range []int{2, 3} {
			got := trainSteps(t, kind, w, 3)
			for i := range want {
				for j := range want[i] {
					if math.Float32bits(got[i][j]) != math.Float32bits(want[i][j]) {
						t.Fatalf("%s on %d workers: parameter %d element %d is %v, on 1 worker %v", kind, w, i, j, got[i][j], want[i][j])
					}
				}
			}
		}
	}
}

// TestConvPathsSameBits: the cnn's backward convolutions take the faster paths where the
// machine has them: the second's filter gradient with the GEMM's rows kernel (16 channels;
// gemm.SgemmARows, the taps' rows read in place, the gradient transposed) and the routed
// gradient written a window at a time (vec.Unpool2; the transposed grid made from it).
// Training gives the same parameters bit for bit with and without each, on 1 and 2 workers,
// with each SIMD family the machine has (the GEMM's and vec's of the same name).
func TestConvPathsSameBits(t *testing.T) {
	defer gemm.Use(gemm.Kernel())
	defer vec.Use(vec.Impl())
	defer func() { noARows, noUnpool = false, false }()
	tried := 0
	for _, family := range gemm.Kernels() {
		if gemm.Use(family) != nil || vec.Use(family) != nil || gemm.ARowsNR() == 0 && !vec.FastUnpool2() {
			continue
		}
		tried++
		for _, w := range []int{1, 2} {
			noARows, noUnpool = true, true
			want := trainSteps(t, "cnn", w, 3)
			for _, c := range []struct{ rows, unpool bool }{{true, false}, {false, true}, {true, true}} {
				noARows, noUnpool = !c.rows, !c.unpool
				got := trainSteps(t, "cnn", w, 3)
				for i := range want {
					for j := range want[i] {
						if math.Float32bits(got[i][j]) != math.Float32bits(want[i][j]) {
							t.Fatalf("%s on %d workers, rows kernel %v, Unpool2 %v: parameter %d element %d is %v, without either %v", family, w, c.rows, c.unpool, i, j, got[i][j], want[i][j])
						}
					}
				}
			}
		}
	}
	if tried == 0 {
		t.Skipf("no SIMD family here (GEMM %v, vec %v) has a rows kernel or a vectorised Unpool2: nothing to compare", gemm.Kernels(), vec.Impls())
	}
}

// TestStepAllocatesNothing: after the first step, a training step allocates nothing, fed
// tensors or gathering from a resident set.
func TestStepAllocatesNothing(t *testing.T) {
	for _, kind := range []string{"xor", "mlp", "cnn"} {
		m := lowertest.Model(t, kind)
		batch := 16
		if kind == "xor" {
			batch = 4
		}
		tr := adamTrainer(t, m, batch)
		x, y := lowertest.Batch(m, batch, 1)
		if n := testing.AllocsPerRun(5, func() {
			if err := tr.Step(x, y); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%s: %v allocations a step", kind, n)
		}
		// Reading the loss back (bench waits for its steps so) allocates nothing either.
		if n := testing.AllocsPerRun(5, func() {
			if _, err := tr.Loss(); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%s: %v allocations a Loss", kind, n)
		}
		if kind == "xor" {
			continue
		}
		d := tr.(backend.DatasetTrainer)
		xs, ys := make([]float32, 64*m.Spec.Inputs), make([]float32, 64*m.Spec.Outputs)
		if err := d.SetDataset(xs, ys, 64); err != nil {
			t.Fatal(err)
		}
		order := make([]int, 64)
		for i := range order {
			order[i] = 63 - i
		}
		if n := testing.AllocsPerRun(3, func() {
			if err := d.SetOrder(order); err != nil {
				t.Fatal(err)
			}
			if err := d.StepNext(); err != nil {
				t.Fatal(err)
			}
		}); n > 1 { // SetOrder converts the order once a pass
			t.Errorf("%s: %v allocations a resident step", kind, n)
		}
	}
}

// TestResidentMatchesFed: steps that gather their batches from the resident set give the
// same parameters, bit for bit, as steps fed the same batches.
func TestResidentMatchesFed(t *testing.T) {
	m1, m2 := lowertest.Model(t, "mlp"), lowertest.Model(t, "mlp")
	const n, batch = 48, 16
	x, y := lowertest.Batch(m1, n, 3)
	xs, ys := x.Float32s(), y.Float32s()
	order := []int{5, 40, 2, 33, 17, 8, 21, 47, 0, 12, 30, 44, 3, 9, 26, 38, 1, 6, 11, 19, 22, 25, 28, 31, 34, 35, 36, 37, 39, 41, 42, 43, 45, 46, 4, 7, 10, 13, 14, 15, 16, 18, 20, 23, 24, 27, 29, 32}
	mk := func(m *model.Model) (*runner.Trainer, *model.Net) {
		net, _ := m.Build(batch, true)
		s, _ := model.NewSolver("adam", 1e-3)
		tr, err := Backend{}.NewTrainer(net, s)
		if err != nil {
			t.Fatal(err)
		}
		return tr.(*runner.Trainer), net
	}
	fed, _ := mk(m1)
	res, _ := mk(m2)
	if err := res.SetDataset(xs, ys, n); err != nil {
		t.Fatal(err)
	}
	if err := res.SetOrder(order); err != nil {
		t.Fatal(err)
	}
	bx := tensor.New(tensor.WithShape(batch, m1.Spec.Inputs), tensor.WithBacking(make([]float32, batch*m1.Spec.Inputs)))
	by := tensor.New(tensor.WithShape(batch, m1.Spec.Outputs), tensor.WithBacking(make([]float32, batch*m1.Spec.Outputs)))
	for k := 0; k < n/batch; k++ {
		for r := 0; r < batch; r++ {
			i := order[k*batch+r]
			copy(bx.Float32s()[r*784:(r+1)*784], xs[i*784:(i+1)*784])
			copy(by.Float32s()[r*10:(r+1)*10], ys[i*10:(i+1)*10])
		}
		if err := fed.Step(bx, by); err != nil {
			t.Fatal(err)
		}
		if err := res.StepNext(); err != nil {
			t.Fatal(err)
		}
	}
	if err := res.StepNext(); err == nil {
		t.Error("a step past the end of the order ran")
	}
	for i, b := range fed.Program().Params {
		a, c := executorOf(fed).f32(b), executorOf(res).f32(b)
		for j := range a {
			if a[j] != c[j] {
				t.Fatalf("parameter %d differs at %d: fed %v, resident %v", i, j, a[j], c[j])
			}
		}
	}
	lf, _ := fed.MeanLoss()
	lr, _ := res.MeanLoss()
	if lf != lr {
		t.Errorf("mean loss fed %v, resident %v", lf, lr)
	}
}

// TestClosedTrainerSaysSo: every call on a closed trainer is an error, not a crash.
func TestClosedTrainerSaysSo(t *testing.T) {
	m := lowertest.Model(t, "mlp")
	tr := adamTrainer(t, m, 8)
	x, y := lowertest.Batch(m, 8, 1)
	if err := tr.Step(x, y); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	d := tr.(*runner.Trainer)
	_, e1 := tr.Loss()
	_, e2 := tr.MeanLoss()
	_, e3 := tr.Output()
	for i, err := range []error{tr.Step(x, y), e1, e2, e3, tr.SetLR(0.1), tr.Sync(), d.SetOrder([]int{0}), d.StepNext(), d.Logits(make([]float32, 784), func([]float32) {})} {
		if err == nil || !strings.Contains(err.Error(), "closed") {
			t.Errorf("call %d on a closed trainer: %v", i, err)
		}
	}
}

// TestPredictOnCPU: train.PredictOn with the compiled executor predicts what the TapeMachine
// predicts, for the mlp and the cnn, over a batch size that leaves a partial last batch.
func TestPredictOnCPU(t *testing.T) {
	for _, kind := range []string{"mlp", "cnn"} {
		m := lowertest.Model(t, kind)
		x, _ := lowertest.Batch(m, 203, 5)
		images := x.Float32s()
		want, err := train.Predict(m, images, 64)
		if err != nil {
			t.Fatal(err)
		}
		got, err := train.PredictOn(Backend{}, m, images, 64)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d predictions, want %d", kind, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s: image %d predicted %d on cpu, %d on vm", kind, i, got[i], want[i])
			}
		}
	}
}

// TestFusedPoolingOnlyHalves: the fused convolution with pooling has kernels for 2x2 windows
// at stride 2 over the convolution's own output; a launch with any other pooling is an error
// when the program is compiled, not wrong numbers.
func TestFusedPoolingOnlyHalves(t *testing.T) {
	o := lowertest.NewOdd(ir.Float32)
	conv := []int64{2, 1, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 8, 8, 4}
	for _, pool := range [][]int64{{2, 4, 8, 8, 3, 3, 0, 0, 2, 2, 3, 3}, {2, 4, 8, 8, 2, 2, 0, 0, 1, 1, 7, 7}, {2, 5, 8, 8, 2, 2, 0, 0, 2, 2, 4, 4}} {
		o.P.Launches = nil
		o.Launch(ir.ConvReLUPool, "conv_relu_pool", []int{o.In(128, o.Normal), o.In(36, o.Normal), o.In(4, o.Normal), o.Out(128), o.Out(128)}, append(append([]int64(nil), conv...), pool...))
		if _, err := newExecutor(o.P, parallel.Default()); err == nil || !strings.Contains(err.Error(), "no CPU kernel pools") {
			t.Errorf("pooling %v: %v, want an error that says no CPU kernel pools it", pool, err)
		}
	}
}

// TestReduceBlocksAnyWorkers: a sum along the rows of several blocks of rows and ranges of
// columns gives the same bits on 1, 2 and 3 workers, each sum within a float32 rounding of
// the exact one, and the sums of no more than a block of rows are ref's, in order of k.
func TestReduceBlocksAnyWorkers(t *testing.T) {
	const outer, length, inner = 2, 3*reduceRows + 5, reduceCols + 37
	in := make([]float32, outer*length*inner)
	for i := range in {
		// Magnitudes from 2^-20 to 2^20: float64 sums of these in another order differ.
		in[i] = float32(math.Ldexp(math.Sin(float64(i)*0.7), (i*7919)%41-20))
	}
	sums := func(workers, length int) []float32 {
		pool := parallel.New(workers)
		defer pool.Close()
		out := make([]float32, outer*inner)
		reduceSum(pool, in[:outer*length*inner], out, outer, length, inner)()
		return out
	}
	// ordered is ref's sum of [o, :, i] over the first length rows, in order, in float64.
	ordered := func(o, i, length int) float64 {
		var acc float64
		for k := 0; k < length; k++ {
			acc += float64(in[(o*length+k)*inner+i])
		}
		return acc
	}
	want := sums(1, length)
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			exact := ordered(o, i, length)
			if got := float64(want[o*inner+i]); math.Abs(got-exact) > math.Abs(exact)*0x1p-23+0x1p-60 {
				t.Fatalf("sum [%d, %d] is %g, want %g", o, i, got, exact)
			}
		}
	}
	for _, w := range []int{2, 3} {
		got := sums(w, length)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%d workers: sum %d is %v, on 1 worker %v", w, i, got[i], want[i])
			}
		}
	}
	// One block of rows: ref's order.
	short := sums(2, reduceRows)
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			if ref := float32(ordered(o, i, reduceRows)); short[o*inner+i] != ref {
				t.Fatalf("one block of rows: sum [%d, %d] is %v, ref's %v", o, i, short[o*inner+i], ref)
			}
		}
	}
}
