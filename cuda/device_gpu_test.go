//go:build gpu

package cuda

import (
	"fmt"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"strings"
	"testing"
	"unsafe"

	"gorgonia.org/cu"
	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/backend"
	"github.com/graphtrain/graphtrain/ir/ref"
	"github.com/graphtrain/graphtrain/lower/lowertest"
	"github.com/graphtrain/graphtrain/model"
	"github.com/graphtrain/graphtrain/runner"
	"github.com/graphtrain/graphtrain/train"
	"github.com/graphtrain/graphtrain/vm"
)

// needGPU skips the test, with the reason, where no GPU is usable.
func needGPU(t *testing.T) {
	t.Helper()
	if err := (Backend{}).Available(); err != nil {
		t.Skipf("no CUDA device: %v", err)
	}
}

// TestGuard: the test binary imports gorgonia.org/cu, so it only got here because the cuInit
// guard kept cu's init from exiting. Devices either lists GPUs or says why there are none.
func TestGuard(t *testing.T) {
	devs, driver, err := Devices()
	if err != nil {
		if strings.Contains(err.Error(), "never called") {
			t.Fatal(err)
		}
		t.Logf("no GPU, as reported: %v", err)
		if (Backend{}).Available() == nil {
			t.Fatal("Available is nil although Devices failed")
		}
		return
	}
	t.Logf("driver CUDA %s, GPUs %+v", driver, devs)
	if len(devs) == 0 || devs[0].Name == "" || devs[0].MemoryBytes <= 0 {
		t.Errorf("devices %+v", devs)
	}
}

// TestRegistered: the gpu build registers "cuda" (cmd/graphtrain tests choosing it).
func TestRegistered(t *testing.T) {
	if b := backend.Lookup("cuda"); b == nil || b.Name() != "cuda" {
		t.Fatalf("the gpu build registers no cuda backend: %v", b)
	}
}

// TestLinksOnlyDriver: the gpu build needs libcuda.so.1 and libc at run time, nothing more.
func TestLinksOnlyDriver(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	if _, err := exec.LookPath("ldd"); err != nil {
		t.Skip("no ldd")
	}
	out, err := exec.Command("ldd", exe).CombinedOutput()
	if err != nil {
		t.Fatalf("ldd: %v\n%s", err, out)
	}
	seen := false
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		lib := strings.Fields(line)[0]
		switch {
		case lib == "libcuda.so.1":
			seen = true
		case strings.HasPrefix(lib, "linux-vdso"), strings.Contains(lib, "ld-linux"),
			lib == "libc.so.6", lib == "libdl.so.2", lib == "libpthread.so.0", lib == "libm.so.6", lib == "librt.so.1":
		default:
			t.Errorf("the gpu build needs %s at run time (only libcuda.so.1 and libc are allowed)", lib)
		}
	}
	if !seen {
		t.Error("the gpu build does not link libcuda.so.1")
	}
}

// newDeviceTrainer makes a cuda trainer for a test model.
func newDeviceTrainer(t testing.TB, m *model.Model, batch int, solver string, lr float64) (*runner.Trainer, *model.Solver) {
	t.Helper()
	net, err := m.Build(batch, true)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := model.NewSolver(solver, lr)
	tr, err := Backend{}.NewTrainer(net, s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr.(*runner.Trainer), s
}

// gpuOf is the GPU that a trainer runs on (the process's), memOf its training program's
// memory and launchesOf its compiled launches.
func gpuOf(*runner.Trainer) *gpu {
	g, _ := openGPU()
	return g
}

func memOf(tr *runner.Trainer) *memory        { return tr.Memory().(*memory) }
func launchesOf(tr *runner.Trainer) *compiled { return tr.Launches().(*compiled) }

// upload copies a tensor into a device buffer of the training program.
func upload(tr *runner.Trainer, b int, d *tensor.Dense) error {
	m := memOf(tr)
	return gpuOf(tr).th.do(func() error {
		switch x := d.Data().(type) {
		case []float32:
			return cu.MemcpyHtoD(m.bufs[b], unsafe.Pointer(&x[0]), int64(len(x))*4)
		case []float64:
			return cu.MemcpyHtoD(m.bufs[b], unsafe.Pointer(&x[0]), int64(len(x))*8)
		}
		return fmt.Errorf("upload a %v tensor", d.Dtype())
	})
}

// readBuf copies a device buffer of the training program back as float64s.
func readBuf(tr *runner.Trainer, b int) ([]float64, error) {
	buf := tr.Program().Buffers[b]
	m := memOf(tr)
	out := make([]float64, buf.Elems)
	err := gpuOf(tr).th.do(func() error {
		if buf.Elem == 8 {
			return cu.MemcpyDtoH(unsafe.Pointer(&out[0]), m.bufs[b], buf.Bytes())
		}
		f := make([]float32, buf.Elems)
		if err := cu.MemcpyDtoH(unsafe.Pointer(&f[0]), m.bufs[b], buf.Bytes()); err != nil {
			return err
		}
		for i, v := range f {
			out[i] = float64(v)
		}
		return nil
	})
	return out, err
}

// runOne launches one kernel of the training program and waits for it.
func runOne(tr *runner.Trainer, i int) error {
	c := launchesOf(tr)
	return gpuOf(tr).th.do(func() error {
		if err := c.ls.only(i).run(c.p); err != nil {
			return err
		}
		return cu.Synchronize()
	})
}

// TestEveryKernelMatchesHost runs each model's program launch by launch on the device and on
// the host interpreter (which TestHostProgramMatchesTapeMachine ties to the TapeMachine) and
// compares every launch's output within 1e-4 relative; the device's result then feeds both,
// so each op is compared on the same inputs. The mlp runs at batch 1024 too, where its
// products of many 64x64 tiles take the _t64 kernels.
func TestEveryKernelMatchesHost(t *testing.T) {
	needGPU(t)
	mlp, err := model.NewMLP(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	wide := lowertest.Case{M: mlp, Batch: 1024, Solver: "adam", LR: 1e-3}
	for _, tm := range append(lowertest.Models(t), wide) {
		tr, s := newDeviceTrainer(t, tm.M, tm.Batch, tm.Solver, tm.LR)
		p := tr.Program()
		if tm.Batch == wide.Batch {
			n := 0
			for _, l := range p.Launches {
				if strings.Contains(kernelFor(l).Name, "_t64_") {
					n++
				}
			}
			if n == 0 {
				t.Fatalf("the mlp at batch %d takes no _t64 kernel", tm.Batch)
			}
		}
		h := ref.New(p, tm.M, s)
		x, y := lowertest.Batch(tm.M, tm.Batch, 3)
		copy(h.Buf(p.X), ref.ToF64(x))
		copy(h.Buf(p.Y), ref.ToF64(y))
		if err := upload(tr, p.X, x); err != nil {
			t.Fatal(err)
		}
		if err := upload(tr, p.Y, y); err != nil {
			t.Fatal(err)
		}
		for i, l := range p.Launches {
			if err := runOne(tr, i); err != nil {
				t.Fatal(err)
			}
			if err := h.Exec(l); err != nil {
				t.Fatal(err)
			}
			outs := []int{l.Args[len(l.Args)-1]}
			if strings.HasPrefix(l.What, "update") {
				outs = l.Args // parameters and state
			}
			for _, b := range outs {
				got, err := readBuf(tr, b)
				if err != nil {
					t.Fatal(err)
				}
				if e := lowertest.RelErr(got, h.Buf(b)); e > 1e-4 {
					t.Errorf("%s launch %d %s (%s): off by %.2g relative", tm.M.Spec.Kind, i, kernelFor(l).Name, l.What, e)
				}
				copy(h.Buf(b), got)
			}
		}
	}
}

// TestModelsMatchTapeMachine: one step of each model (and of a three-hidden-layer mlp) on the device; the loss, the output and
// every gradient against the TapeMachine within 1e-4 relative.
func TestModelsMatchTapeMachine(t *testing.T) {
	needGPU(t)
	deep, err := model.NewDeepMLP([]int{24, 16, 12}, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, tm := range append(lowertest.Models(t), lowertest.Case{M: deep, Batch: 8, Solver: "adam", LR: 1e-3}) {
		x, y := lowertest.Batch(tm.M, tm.Batch, 11)
		loss, out, grads := lowertest.TapeReference(t, tm.M, tm.Batch, x, y)
		tr, _ := newDeviceTrainer(t, tm.M, tm.Batch, tm.Solver, tm.LR)
		if err := tr.Step(x, y); err != nil {
			t.Fatal(err)
		}
		l, err := tr.Loss()
		if err != nil {
			t.Fatal(err)
		}
		if e := lowertest.RelErr([]float64{l}, []float64{loss}); e > 1e-4 {
			t.Errorf("%s: loss %v, TapeMachine %v", tm.M.Spec.Kind, l, loss)
		}
		o, err := tr.Output()
		if err != nil {
			t.Fatal(err)
		}
		if e := lowertest.RelErr(ref.ToF64(o), out); e > 1e-4 {
			t.Errorf("%s: output off by %.2g relative", tm.M.Spec.Kind, e)
		}
		for i, g := range tr.Program().Grads {
			got, err := readBuf(tr, g)
			if err != nil {
				t.Fatal(err)
			}
			if e := lowertest.RelErr(got, grads[i]); e > 1e-4 {
				t.Errorf("%s: gradient of %s off by %.2g relative", tm.M.Spec.Kind, tm.M.Params[i].Name, e)
			}
		}
	}
}

// TestTrainingMatchesCPU: a full XOR run and a short MLP run on the device agree with the
// CPU's, and Sync brings back the parameters and the solver state.
func TestTrainingMatchesCPU(t *testing.T) {
	needGPU(t)
	xorCPU, _ := model.NewXOR(4, false, 42)
	xorGPU, _ := model.NewXOR(4, false, 42)
	rc, err := train.TrainXOR(xorCPU, train.XORConfig{Epochs: 10000, LR: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	rg, err := train.TrainXOR(xorGPU, train.XORConfig{Epochs: 10000, LR: 0.1, Backend: Backend{}})
	if err != nil {
		t.Fatal(err)
	}
	if e := lowertest.RelErr(rg.Predictions, rc.Predictions); e > 1e-4 {
		t.Errorf("xor predictions %v, CPU %v", rg.Predictions, rc.Predictions)
	}
	for i, p := range xorGPU.Params {
		if e := lowertest.RelErr(ref.ToF64(p.T), ref.ToF64(xorCPU.Params[i].T)); e > 1e-4 {
			t.Errorf("xor %s off by %.2g relative", p.Name, e)
		}
	}
	t.Logf("xor: CPU %.2fs, GPU %.2fs, loss %v vs %v", rc.Seconds, rg.Seconds, rc.Loss, rg.Loss)

	mc, _ := model.NewMLP(64, 1)
	mg, _ := model.NewMLP(64, 1)
	const batch, steps = 32, 20
	netC, _ := mc.Build(batch, true)
	sc, _ := model.NewSolver("adam", 1e-3)
	cpu, err := vm.VM{}.NewTrainer(netC, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer cpu.Close()
	gt, sg := newDeviceTrainer(t, mg, batch, "adam", 1e-3)
	for i := 0; i < steps; i++ {
		x, y := lowertest.Batch(mc, batch, int64(i))
		if err := cpu.Step(x, y); err != nil {
			t.Fatal(err)
		}
		if err := gt.Step(x, y); err != nil {
			t.Fatal(err)
		}
		lc, _ := cpu.Loss()
		lg, err := gt.Loss()
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(lc-lg) > 1e-3*math.Abs(lc) {
			t.Errorf("mlp step %d: loss %v, CPU %v", i, lg, lc)
		}
	}
	if err := gt.Sync(); err != nil {
		t.Fatal(err)
	}
	if sg.Steps != sc.Steps {
		t.Errorf("solver steps %d, CPU %d", sg.Steps, sc.Steps)
	}
	for i, p := range mg.Params {
		if e := lowertest.RelErr(ref.ToF64(p.T), ref.ToF64(mc.Params[i].T)); e > 1e-3 {
			t.Errorf("mlp %s off by %.2g relative after %d Adam steps", p.Name, e, steps)
		}
	}
	for k, st := range sg.State {
		if e := lowertest.RelErr(ref.ToF64(st), ref.ToF64(sc.State[k])); e > 1e-3 {
			t.Errorf("mlp solver state %s off by %.2g relative", k, e)
		}
	}
}

// TestStepNextMatchesCPU: with the training set on the device (SetDataset once, SetOrder per
// pass, StepNext per step, nothing uploaded per step), an MLP trained with Adam over two
// passes in different orders, the rate halved in the second, agrees with the CPU fed the same
// batches in the same order: every step's loss, the last output, the mean loss, and after
// Sync the parameters and the solver state. Steps past the order, or before the set and the
// order are there, are errors.
func TestStepNextMatchesCPU(t *testing.T) {
	needGPU(t)
	mc, _ := model.NewMLP(64, 1)
	mg, _ := model.NewMLP(64, 1)
	const batch, n = 32, 200 // 6 batches a pass, 8 examples left over
	x, y := randomSet(mc, n, 3)
	netC, _ := mc.Build(batch, true)
	sc, _ := model.NewSolver("adam", 1e-3)
	cpu, err := vm.VM{}.NewTrainer(netC, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer cpu.Close()
	gt, sg := newDeviceTrainer(t, mg, batch, "adam", 1e-3)
	if err := gt.StepNext(); err == nil {
		t.Error("StepNext before SetDataset: no error")
	}
	if err := gt.SetOrder(make([]int, n)); err == nil {
		t.Error("SetOrder before SetDataset: no error")
	}
	if err := gt.SetDataset(x, y[:len(y)-1], n); err == nil {
		t.Error("SetDataset with a target short: no error")
	}
	if err := gt.SetDataset(x, y, n); err != nil {
		t.Fatal(err)
	}
	if err := gt.StepNext(); err == nil {
		t.Error("StepNext before SetOrder: no error")
	}
	rng := rand.New(rand.NewSource(4))
	steps := 0
	for pass, k := range []int{n / batch, 3} {
		order := rng.Perm(n)
		if err := gt.SetOrder(order); err != nil {
			t.Fatal(err)
		}
		if pass == 1 {
			if err := cpu.SetLR(5e-4); err != nil {
				t.Fatal(err)
			}
			if err := gt.SetLR(5e-4); err != nil {
				t.Fatal(err)
			}
		}
		for s := 0; s < k; s++ {
			bx, by := batchOf(mc, x, y, order, s*batch, batch)
			if err := cpu.Step(bx, by); err != nil {
				t.Fatal(err)
			}
			if err := gt.StepNext(); err != nil {
				t.Fatalf("pass %d step %d: %v", pass, s, err)
			}
			steps++
			lc, _ := cpu.Loss()
			lg, err := gt.Loss()
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(lc-lg) > 1e-3*math.Abs(lc) {
				t.Errorf("pass %d step %d: loss %v, CPU %v", pass, s, lg, lc)
			}
		}
		if pass == 0 {
			if err := gt.StepNext(); err == nil || !strings.Contains(err.Error(), "SetOrder") {
				t.Errorf("StepNext past the pass's order: %v, want an error saying to call SetOrder", err)
			}
		}
	}
	if mode := gt.Launching(); graphsOn() && mode != "CUDA graph" {
		t.Errorf("resident steps launched %s, want CUDA graph", mode)
	}
	var cursor int64
	rp, rm, _ := gt.Resident()
	if err := gpuOf(gt).th.do(func() error {
		return cu.MemcpyDtoH(unsafe.Pointer(&cursor), rm.(*memory).bufs[rp.Data.Cursor], 8)
	}); err != nil {
		t.Fatal(err)
	}
	if cursor != 3*batch {
		t.Errorf("device batch cursor %d, want %d", cursor, 3*batch)
	}
	oc, _ := cpu.Output()
	og, err := gt.Output()
	if err != nil {
		t.Fatal(err)
	}
	if e := lowertest.RelErr(ref.ToF64(og), ref.ToF64(oc)); e > 1e-3 {
		t.Errorf("last output off by %.2g relative", e)
	}
	mlc, _ := cpu.MeanLoss()
	mlg, err := gt.MeanLoss()
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(mlc-mlg) > 1e-3*math.Abs(mlc) {
		t.Errorf("mean loss %v, CPU %v", mlg, mlc)
	}
	if err := gt.Sync(); err != nil {
		t.Fatal(err)
	}
	if sg.Steps != sc.Steps || sg.Steps != steps {
		t.Errorf("solver steps %d, CPU %d, want %d", sg.Steps, sc.Steps, steps)
	}
	for i, p := range mg.Params {
		if e := lowertest.RelErr(ref.ToF64(p.T), ref.ToF64(mc.Params[i].T)); e > 1e-3 {
			t.Errorf("mlp %s off by %.2g relative after %d resident Adam steps", p.Name, e, steps)
		}
	}
	for k, st := range sg.State {
		if e := lowertest.RelErr(ref.ToF64(st), ref.ToF64(sc.State[k])); e > 1e-3 {
			t.Errorf("mlp solver state %s off by %.2g relative", k, e)
		}
	}
}

// TestGraphMatchesLaunches: each model's steps run as one CUDA graph (the default) give the
// same losses and parameters as the same steps launched kernel by kernel, a learning rate set
// between steps included (it must reach the instantiated graph's update nodes); and the
// graph was really built, not fallen back from.
func TestGraphMatchesLaunches(t *testing.T) {
	needGPU(t)
	if !graphsOn() {
		t.Skip("GRAPHTRAIN_CUDA_GRAPH=0: CUDA graphs are off")
	}
	ga, gb := lowertest.Models(t), lowertest.Models(t)
	for k := range ga {
		a, _ := newDeviceTrainer(t, ga[k].M, ga[k].Batch, ga[k].Solver, ga[k].LR)
		b, _ := newDeviceTrainer(t, gb[k].M, gb[k].Batch, gb[k].Solver, gb[k].LR)
		launchesOf(b).ls.useGraph = false
		kind := ga[k].M.Spec.Kind
		for i := 0; i < 6; i++ {
			if i == 3 {
				for _, tr := range []*runner.Trainer{a, b} {
					if err := tr.SetLR(ga[k].LR / 4); err != nil {
						t.Fatal(err)
					}
				}
			}
			x, y := lowertest.Batch(ga[k].M, ga[k].Batch, int64(20+i))
			if err := a.Step(x, y); err != nil {
				t.Fatal(err)
			}
			if err := b.Step(x, y); err != nil {
				t.Fatal(err)
			}
			la, err := a.Loss()
			if err != nil {
				t.Fatal(err)
			}
			lb, _ := b.Loss()
			if math.Abs(la-lb) > 1e-6*math.Abs(lb) {
				t.Errorf("%s step %d: loss %v as a graph, %v launch by launch", kind, i, la, lb)
			}
		}
		if mode := a.Launching(); mode != "CUDA graph" {
			t.Errorf("%s: steps launched %s, want CUDA graph", kind, mode)
		}
		if mode := b.Launching(); mode != "one by one" {
			t.Errorf("%s: graphs off, steps launched %s", kind, mode)
		}
		for i, p := range a.Program().Params {
			pa, err := readBuf(a, p)
			if err != nil {
				t.Fatal(err)
			}
			pb, _ := readBuf(b, b.Program().Params[i])
			if e := lowertest.RelErr(pa, pb); e > 1e-6 {
				t.Errorf("%s %s off by %.2g relative between graph and launches", kind, ga[k].M.Params[i].Name, e)
			}
		}
	}
}

// TestLogitsMatchCPU: after a few Adam steps, the device's forward pass (Logits, as Train
// validates) over 300 images, the last batch partial, gives the CPU forward pass's outputs of
// the synced model within 1e-4 relative, changes no parameter, and training goes on from it
// as it would have.
func TestLogitsMatchCPU(t *testing.T) {
	needGPU(t)
	for _, tm := range lowertest.Models(t) {
		if tm.M.Spec.Dtype != "float32" {
			continue
		}
		kind := tm.M.Spec.Kind
		tr, _ := newDeviceTrainer(t, tm.M, tm.Batch, tm.Solver, tm.LR)
		for i := 0; i < 3; i++ {
			x, y := lowertest.Batch(tm.M, tm.Batch, int64(40+i))
			if err := tr.Step(x, y); err != nil {
				t.Fatal(err)
			}
		}
		if err := tr.Sync(); err != nil {
			t.Fatal(err)
		}
		images, _ := randomSet(tm.M, 300, 9)
		var want, got []float64
		if err := train.Logits(vm.VM{}, tm.M, images, 64, func(l []float32) {
			for _, v := range l {
				want = append(want, float64(v))
			}
		}); err != nil {
			t.Fatal(err)
		}
		before, _ := readBuf(tr, tr.Program().Params[0])
		if err := tr.Logits(images, func(l []float32) {
			for _, v := range l {
				got = append(got, float64(v))
			}
		}); err != nil {
			t.Fatal(err)
		}
		if e := lowertest.RelErr(got, want); !(e <= 1e-4) {
			t.Errorf("%s: device logits off by %.2g relative (%d values, CPU %d)", kind, e, len(got), len(want))
		}
		after, _ := readBuf(tr, tr.Program().Params[0])
		if lowertest.RelErr(after, before) != 0 {
			t.Errorf("%s: Logits changed %s", kind, tm.M.Params[0].Name)
		}
		x, y := lowertest.Batch(tm.M, tm.Batch, 50)
		if err := tr.Step(x, y); err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Loss(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestUseAfterClose: a closed trainer says so on every use, never touches the freed device
// memory, and a second Close is nothing.
func TestUseAfterClose(t *testing.T) {
	needGPU(t)
	m, _ := model.NewMLP(16, 1)
	tr, _ := newDeviceTrainer(t, m, 8, "adam", 1e-3)
	x, y := lowertest.Batch(m, 8, 1)
	if err := tr.Step(x, y); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	_, lerr := tr.Loss()
	for what, err := range map[string]error{"Step": tr.Step(x, y), "Loss": lerr, "Sync": tr.Sync(), "SetLR": tr.SetLR(0.1), "StepNext": tr.StepNext(),
		"Logits": tr.Logits(make([]float32, 16*model.ImageSize), func([]float32) {})} {
		if err == nil || !strings.Contains(err.Error(), "closed") {
			t.Errorf("%s after Close: %v, want an error saying the trainer is closed", what, err)
		}
	}
}

// TestPredictorMatchesVM: for each model, the GPU's predictor gives the TapeMachine's
// outputs and predictions.
func TestPredictorMatchesVM(t *testing.T) {
	needGPU(t)
	lowertest.CheckPredictorMatchesVM(t, Backend{})
}

// TestPredictorReadsParamsOnce: a predictor on the GPU runs with the parameters it was made
// with, refuses a wrong shape, and says so once closed.
func TestPredictorReadsParamsOnce(t *testing.T) {
	needGPU(t)
	lowertest.CheckPredictorReadsParamsOnce(t, Backend{})
}
