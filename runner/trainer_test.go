package runner

import (
	"math"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/lower/lowertest"
)

// TestEveryCallInsideDo: every device call of every trainer method runs inside Device.Do,
// never one Do inside another, and a step (fed or gathered) is one Do.
func TestEveryCallInsideDo(t *testing.T) {
	f, tr, err := newFake(t, "")
	if err != nil {
		t.Fatal(err)
	}
	x, y := lowertest.Batch(tr.net.Model, 4, 1)
	dos := f.dos
	if err := tr.Step(x, y); err != nil {
		t.Fatal(err)
	}
	if f.dos != dos+1 {
		t.Errorf("a step took %d Do calls, want 1", f.dos-dos)
	}
	in, out := tr.net.Model.Spec.Inputs, tr.net.Model.Spec.Outputs
	if err := tr.SetDataset(make([]float32, 8*in), make([]float32, 8*out), 8); err != nil {
		t.Fatal(err)
	}
	if err := tr.SetOrder([]int{7, 6, 5, 4, 3, 2, 1, 0}); err != nil {
		t.Fatal(err)
	}
	dos = f.dos
	if err := tr.StepNext(); err != nil {
		t.Fatal(err)
	}
	if f.dos != dos+1 {
		t.Errorf("a resident step took %d Do calls, want 1", f.dos-dos)
	}
	for _, err := range []error{tr.SetLR(0.5), tr.Sync(), tr.Logits(make([]float32, 6*in), func([]float32) {})} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tr.Loss(); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.MeanLoss(); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Output(); err != nil {
		t.Fatal(err)
	}
	if got := tr.Launching(); got != "fake set" {
		t.Errorf("Launching with a resident set: %q, want the set's launches' mode", got)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if len(f.wrong) > 0 {
		t.Errorf("device calls out of place: %v", f.wrong)
	}
}

// TestSetup: a trainer allocates its program's slots, uploads the parameters, the solver
// state, the constants, the step counter and a zero loss sum, then compiles the launches.
func TestSetup(t *testing.T) {
	f, tr, err := newFake(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if f.log[0] != "alloc train" || f.log[len(f.log)-1] != "prepare train" {
		t.Errorf("setup %v: want alloc first and prepare last", f.log)
	}
	for _, b := range tr.p.Buffers {
		up := slices.Contains(f.log, "upload "+b.Name)
		want := b.Kind == ir.Param || b.Kind == ir.State || b.Kind == ir.Const || b.Kind == ir.Step || b.Kind == ir.Accum
		if up != want {
			t.Errorf("%s buffer %s: uploaded %v, want %v", b.Kind, b.Name, up, want)
		}
	}
}

// TestFailedSetupFrees: a trainer that cannot be made waits for the device and frees what
// it allocated, as Close does, and returns the device's error.
func TestFailedSetupFrees(t *testing.T) {
	for _, fail := range []string{"alloc", "prepare"} {
		f, tr, err := newFake(t, fail)
		if err == nil || tr != nil {
			t.Fatalf("%s failing: trainer %v, error %v", fail, tr, err)
		}
		tail := f.log[len(f.log)-2:]
		if !slices.Equal(tail, []string{"wait", "free mem train"}) {
			t.Errorf("%s failing: the log ends %v, want a wait and the memory freed", fail, tail)
		}
	}
}

// TestCloseOrder: Close waits for the queued work, frees the resident set (waiting again, its
// memory, then its launches), the training memory and launches, then the forward launches;
// a second Close touches nothing, and every use after it says the trainer is closed.
func TestCloseOrder(t *testing.T) {
	f, tr, err := newFake(t, "")
	if err != nil {
		t.Fatal(err)
	}
	in, out := tr.net.Model.Spec.Inputs, tr.net.Model.Spec.Outputs
	if err := tr.SetDataset(make([]float32, 8*in), make([]float32, 8*out), 8); err != nil {
		t.Fatal(err)
	}
	if err := tr.Logits(make([]float32, in), func([]float32) {}); err != nil {
		t.Fatal(err)
	}
	i := len(f.log)
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	want := []string{"wait", "wait", "free mem set", "free launches set", "free mem train", "free launches train", "free launches forward"}
	if got := f.since(i); !slices.Equal(got, want) {
		t.Errorf("Close: %v, want %v", got, want)
	}
	i = len(f.log)
	if err := tr.Close(); err != nil || len(f.log) != i {
		t.Errorf("second Close: %v, calls %v", err, f.since(i))
	}
	x, y := lowertest.Batch(tr.net.Model, 4, 1)
	_, lerr := tr.Loss()
	_, merr := tr.MeanLoss()
	_, oerr := tr.Output()
	for what, err := range map[string]error{"Step": tr.Step(x, y), "Loss": lerr, "MeanLoss": merr, "Output": oerr, "Sync": tr.Sync(), "SetLR": tr.SetLR(0.1),
		"SetDataset": tr.SetDataset(nil, nil, 0), "SetOrder": tr.SetOrder([]int{0}), "StepNext": tr.StepNext(), "Logits": tr.Logits(nil, func([]float32) {})} {
		if err == nil || !strings.Contains(err.Error(), "fake: the mlp trainer is closed") {
			t.Errorf("%s after Close: %v, want an error saying the trainer is closed", what, err)
		}
	}
	if len(f.log) != i {
		t.Errorf("uses after Close called the device: %v", f.since(i))
	}
}

// TestSetDataset: a set the device cannot hold is freed after a wait and leaves the trainer
// as it was; a second set replaces the first, which is freed once the new one is ready.
func TestSetDataset(t *testing.T) {
	f, tr, err := newFake(t, "hold")
	if err != nil {
		t.Fatal(err)
	}
	in, out := tr.net.Model.Spec.Inputs, tr.net.Model.Spec.Outputs
	x, y := make([]float32, 8*in), make([]float32, 8*out)
	i := len(f.log)
	if err := tr.SetDataset(x, y, 8); err == nil || !strings.Contains(err.Error(), "does not fit") {
		t.Errorf("SetDataset failing: %v, want the device's error", err)
	}
	if got, want := f.since(i), []string{"hold set", "wait", "free mem set"}; !slices.Equal(got, want) {
		t.Errorf("SetDataset failing: %v, want %v", got, want)
	}
	if p, _, _ := tr.Resident(); p != nil {
		t.Error("a set that failed is held")
	}
	if err := tr.StepNext(); err == nil || !strings.Contains(err.Error(), "before SetDataset") {
		t.Errorf("StepNext with no set: %v", err)
	}
	f.fail = ""
	for k := 0; k < 2; k++ {
		i = len(f.log)
		if err := tr.SetDataset(x, y, 8); err != nil {
			t.Fatal(err)
		}
		want := []string{"hold set", "upload cursor", "prepare set"}
		if k == 1 {
			want = append(want, "wait", "free mem set", "free launches set")
		}
		if got := f.since(i); !slices.Equal(got, want) {
			t.Errorf("SetDataset %d: %v, want %v", k, got, want)
		}
	}
}

// TestResidentPass: StepNext wants an order, takes its whole batches and then asks for the
// next pass's; SetOrder uploads the order and rewinds the cursor.
func TestResidentPass(t *testing.T) {
	f, tr, err := newFake(t, "")
	if err != nil {
		t.Fatal(err)
	}
	in, out := tr.net.Model.Spec.Inputs, tr.net.Model.Spec.Outputs
	if err := tr.SetDataset(make([]float32, 10*in), make([]float32, 10*out), 10); err != nil {
		t.Fatal(err)
	}
	if err := tr.StepNext(); err == nil || !strings.Contains(err.Error(), "before SetOrder") {
		t.Errorf("StepNext before SetOrder: %v", err)
	}
	i := len(f.log)
	if err := tr.SetOrder([]int{9, 8, 7, 6, 5, 4, 3, 2, 1}); err != nil {
		t.Fatal(err)
	}
	if got, want := f.since(i), []string{"upload order", "upload cursor"}; !slices.Equal(got, want) {
		t.Errorf("SetOrder: %v, want %v", got, want)
	}
	for k := 0; k < 2; k++ {
		if err := tr.StepNext(); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.StepNext(); err == nil || !strings.Contains(err.Error(), "holds 2 batches of 4, all taken: call SetOrder") {
		t.Errorf("a third batch of 4 from an order of 9: %v", err)
	}
	if tr.steps != 2 || tr.s.Steps != 2 {
		t.Errorf("%d steps, the solver %d, want 2", tr.steps, tr.s.Steps)
	}
}

// TestSetLR: SetLR passes the rate to every update launch of the training program and of the
// resident set's, and sets the solver's rate; a rate that is not a positive number is an
// error that changes nothing.
func TestSetLR(t *testing.T) {
	f, tr, err := newFake(t, "")
	if err != nil {
		t.Fatal(err)
	}
	in, out := tr.net.Model.Spec.Inputs, tr.net.Model.Spec.Outputs
	if err := tr.SetDataset(make([]float32, 8*in), make([]float32, 8*out), 8); err != nil {
		t.Fatal(err)
	}
	i := len(f.log)
	if err := tr.SetLR(0.25); err != nil {
		t.Fatal(err)
	}
	n := len(tr.p.Params)
	got := f.since(i)
	if len(got) != 2*n || !strings.HasPrefix(got[0], "set real train") || !strings.HasPrefix(got[n], "set real set") {
		t.Errorf("SetLR: %v, want the rate of the %d updates of each program", got, n)
	}
	for _, p := range []*ir.Program{tr.p, tr.data.p} {
		for _, l := range p.Launches {
			if l.Op.IsUpdate() && l.Reals[0] != 0.25 {
				t.Errorf("%s: rate %v", l.What, l.Reals[0])
			}
		}
	}
	if tr.s.Rate != 0.25 {
		t.Errorf("solver rate %v", tr.s.Rate)
	}
	for _, lr := range []float64{0, -1, math.Inf(1), math.NaN()} {
		if err := tr.SetLR(lr); err == nil || tr.s.Rate != 0.25 {
			t.Errorf("SetLR(%v): %v, rate %v", lr, err, tr.s.Rate)
		}
	}
}

// TestMeanLoss: MeanLoss reads the device's loss sum back once, divides it by the steps since
// the last call and zeroes it.
func TestMeanLoss(t *testing.T) {
	f, tr, err := newFake(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.MeanLoss(); err == nil {
		t.Error("MeanLoss before a step: no error")
	}
	x, y := lowertest.Batch(tr.net.Model, 4, 1)
	for k := 0; k < 3; k++ {
		if err := tr.Step(x, y); err != nil {
			t.Fatal(err)
		}
	}
	m := tr.mem.(*fakeMem)
	sum := m.slots[tr.p.Buffers[tr.p.LossSum].Slot]
	*(*float32)(unsafe.Pointer(&sum[0])) = 6
	i := len(f.log)
	mean, err := tr.MeanLoss()
	if err != nil || mean != 2 {
		t.Errorf("MeanLoss: %v, %v, want 2", mean, err)
	}
	if got, want := f.since(i), []string{"download loss sum", "upload loss sum"}; !slices.Equal(got, want) {
		t.Errorf("MeanLoss: %v, want %v", got, want)
	}
	if v := *(*float32)(unsafe.Pointer(&sum[0])); v != 0 {
		t.Errorf("loss sum %v after MeanLoss, want 0", v)
	}
	if _, err := tr.MeanLoss(); err == nil {
		t.Error("MeanLoss with no step since: no error")
	}
}
