package cpu

import (
	"fmt"
	"slices"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/backend"
	"github.com/graphtrain/graphtrain/internal/parallel"
	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/ir/ref"
	"github.com/graphtrain/graphtrain/lower/lowertest"
	"github.com/graphtrain/graphtrain/model"
	"github.com/graphtrain/graphtrain/train"
	"github.com/graphtrain/graphtrain/vm"
)

// TestAugmentMatchesReferenceAndVM: the CPU's augment kernel gives the reference
// interpreter's values bit for bit, on 1 and 2 workers alike, and so does the TapeMachine's
// op (model.AugmentOp), in both precisions, on odd image sides with several channels, with
// elastic distortion too (lowertest.AugmentCases, the identity first: its output is its
// input). The CPU smooths the elastic field row by row, the reference pixel by pixel.
func TestAugmentMatchesReferenceAndVM(t *testing.T) {
	for _, dtype := range []ir.Dtype{ir.Float32, ir.Float64} {
		for i, c := range lowertest.AugmentCases {
			what := fmt.Sprint(dtype, " ", c)
			p := lowertest.AugmentLaunch(c, int64(7+i))
			o := lowertest.NewOdd(dtype)
			n := p.Batch * p.C * p.H * p.W
			x, st, y := o.In(n, o.Rng.Float64), o.Step(float64(c[7])), o.Out(n)
			l := ir.Launch{Op: ir.Augment, Dtype: dtype, Node: 1, Args: []int{x, st, y}, Ints: p.Ints(), Reals: p.Reals()}
			h := ref.New(o.P, nil, nil)
			copy(h.Buf(x), o.Inputs[x])
			copy(h.Buf(st), o.Inputs[st])
			if err := h.Exec(l); err != nil {
				t.Fatal(err)
			}
			want := h.Buf(y)
			if i == 0 && !slices.Equal(want, o.Inputs[x]) {
				t.Errorf("%s: the identity changed the images", what)
			}
			for _, workers := range []int{1, 2} {
				if got := cpuAugment(dtype, workers, o.Inputs[x], o.Inputs[st], p); !slices.Equal(got, want) {
					t.Errorf("%s on %d workers: off the reference by %.2g relative", what, workers, lowertest.RelErr(got, want))
				}
			}
			op := &model.AugmentOp{Augment: model.Augment{Shift: c[4], Rotate: float64(c[5]), Scale: float64(c[6]) / 100,
				Elastic: float64(c[8]), Sigma: float64(c[9]) / 10, Seed: p.Seed},
				Image: model.Shape{C: p.C, H: p.H, W: p.W}}
			in := model.DenseOf(dtype.String(), p.Batch, n/p.Batch, o.Inputs[x])
			step := G.F64(c[7])
			v, err := op.Do(in, &step)
			if err != nil {
				t.Fatal(err)
			}
			if got := ref.ToF64(v.(*tensor.Dense)); !slices.Equal(got, want) {
				t.Errorf("%s: the TapeMachine's op is off the reference by %.2g relative", what, lowertest.RelErr(got, want))
			}
		}
	}
}

// cpuAugment runs the CPU's augment kernel on a pool of workers.
func cpuAugment(dtype ir.Dtype, workers int, x, step []float64, p ir.AugmentParams) []float64 {
	pool := parallel.New(workers)
	defer pool.Close()
	if dtype == ir.Float64 {
		y := make([]float64, len(x))
		augment(pool, x, step, y, p)()
		return y
	}
	y := make([]float32, len(x))
	augment(pool, toF32(x), step, y, p)()
	out := make([]float64, len(y))
	for i, v := range y {
		out[i] = float64(v)
	}
	return out
}

func toF32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// augmentedCNN is the LeNet-style cnn with augmentation.
func augmentedCNN(t *testing.T, a model.Augment) *model.Model {
	t.Helper()
	spec, err := model.SpecFor(model.CNNKind, 1, true)
	if err != nil {
		t.Fatal(err)
	}
	spec.Augment = &a
	m, err := model.NewModel(spec, 3)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestAugmentTrainsLikeVM: three steps of an augmented cnn and mlp, with elastic distortion
// and without, leave the TapeMachine's parameters within 1e-4 on the CPU (the transforms
// advance with the step counter alike on both), and differ from three steps without
// augmentation.
func TestAugmentTrainsLikeVM(t *testing.T) {
	var models []*model.Model
	for _, a := range []model.Augment{{Shift: 2, Rotate: 10, Scale: 0.1, Seed: 4}, {Rotate: 5, Elastic: 34, Sigma: 4, Seed: 5}} {
		mlpSpec, _ := model.MLPSpec([]int{32})
		mlpSpec.Augment = &a
		mlp, err := model.NewModel(mlpSpec, 3)
		if err != nil {
			t.Fatal(err)
		}
		models = append(models, augmentedCNN(t, a), mlp)
	}
	for _, m := range models {
		plain := cloneModel(m)
		plain.Spec.Augment = nil
		mv, mc := cloneModel(m), cloneModel(m)
		for _, side := range []struct {
			m *model.Model
			b backend.Backend
		}{{mv, vm.VM{}}, {mc, Backend{}}, {plain, Backend{}}} {
			trainModel(t, side.m, side.b, 3)
		}
		for i, p := range mv.Params {
			if e := lowertest.RelErr(ref.ToF64(mc.Params[i].T), ref.ToF64(p.T)); e > 1e-4 {
				t.Errorf("%s %s: %s off by %.2g relative after 3 steps", m.Spec.Kind, m.Spec.Augment, p.Name, e)
			}
		}
		if e := lowertest.RelErr(ref.ToF64(plain.Params[0].T), ref.ToF64(mc.Params[0].T)); e < 1e-6 {
			t.Errorf("%s %s: augmentation changed nothing (%.2g)", m.Spec.Kind, m.Spec.Augment, e)
		}
	}
}

// trainModel trains m for steps batches of 8 on b.
func trainModel(t *testing.T, m *model.Model, b backend.Backend, steps int) {
	t.Helper()
	net, err := m.Build(8, true)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := model.NewSolver("adam", 1e-3)
	tr, err := b.NewTrainer(net, s)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	for i := 0; i < steps; i++ {
		x, y := lowertest.Batch(m, 8, int64(i))
		if err := tr.Step(x, y); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Sync(); err != nil {
		t.Fatal(err)
	}
}

// TestAugmentOffAtEvaluation: the forward pass of an augmented model is the plain one's: the
// CPU's predictor and a trainer's validation pass (Program.Forward) give the TapeMachine's
// outputs of the graph without gradients, which has no augmentation.
func TestAugmentOffAtEvaluation(t *testing.T) {
	checkOffAtEvaluation(t, augmentedCNN(t, model.Augment{Shift: 3, Rotate: 20, Scale: 0.2, Elastic: 20, Sigma: 3, Seed: 1}))
}

// checkOffAtEvaluation checks that m's forward pass at evaluation on the CPU, in the
// predictor and in a trainer's validation pass (Program.Forward) alike, gives the
// TapeMachine's outputs of m's graph without gradients (no augmentation, no dropout, batch
// norms on their running statistics).
func checkOffAtEvaluation(t *testing.T, m *model.Model) {
	t.Helper()
	xt, _ := model.RandomBatch(m, 40, 5)
	x := xt.Data().([]float32)
	var want, got, trained []float32
	collect := func(dst *[]float32) func([]float32) {
		return func(out []float32) { *dst = append(*dst, out...) }
	}
	if err := train.Logits(vm.VM{}, m, x, 16, collect(&want)); err != nil {
		t.Fatal(err)
	}
	if err := train.Logits(Backend{}, m, x, 16, collect(&got)); err != nil {
		t.Fatal(err)
	}
	tr := adamTrainer(t, m, 16)
	if err := tr.(backend.Forwarder).Logits(x, collect(&trained)); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string][]float32{"predictor": got, "trainer": trained} {
		if e := lowertest.RelErr(f64s(out), f64s(want)); !(e <= 1e-5) {
			t.Errorf("the cpu %s's outputs are off the TapeMachine's by %.2g relative", name, e)
		}
	}
}

func f64s(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// TestAugmentStepAllocatesNothing: a training step of an augmented cnn allocates nothing on
// the CPU, with elastic distortion too (its scratch is made when the program is compiled).
func TestAugmentStepAllocatesNothing(t *testing.T) {
	for _, a := range []model.Augment{{Shift: 2, Rotate: 10, Scale: 0.1, Seed: 1}, {Shift: 2, Elastic: 34, Sigma: 4, Seed: 1}} {
		m := augmentedCNN(t, a)
		tr := adamTrainer(t, m, 16)
		x, y := lowertest.Batch(m, 16, 1)
		if n := testing.AllocsPerRun(5, func() {
			if err := tr.Step(x, y); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%s: %v allocations a step", a.String(), n)
		}
		tr.Close()
	}
}

// BenchmarkAugment is an Augment launch on a batch of 128 MNIST-sized images on the default
// pool: the affine transform alone, and with Simard's elastic field (α 34, σ 4: a radius of
// 12 pixels).
func BenchmarkAugment(b *testing.B) {
	for _, c := range []struct {
		name string
		a    model.Augment
	}{{"shift", model.Augment{Shift: 2}}, {"affine", model.Augment{Shift: 2, Rotate: 10, Scale: 0.1}}, {"elastic", model.Augment{Shift: 2, Elastic: 34, Sigma: 4}}} {
		b.Run(c.name, func(b *testing.B) {
			op := &model.AugmentOp{Augment: c.a, Image: model.Shape{C: 1, H: 28, W: 28}}
			p := op.Params(128)
			x, y := make([]float32, 128*784), make([]float32, 128*784)
			for i := range x {
				x[i] = float32(i%7) / 7
			}
			step := []float64{3}
			run := augment(parallel.Default(), x, step, y, p)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				step[0]++
				run()
			}
			b.ReportMetric(float64(b.N*p.Batch)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
