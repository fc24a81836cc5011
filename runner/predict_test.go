package runner

import (
	"slices"
	"testing"

	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/lower"
	"github.com/graphtrain/graphtrain/lower/lowertest"
	"github.com/graphtrain/graphtrain/model"
)

// TestForwardOnly: the forward program of each model keeps the slots its launches, its
// inputs and its output use, as they were, cuts every other to nothing, and leaves the
// training program as it was.
func TestForwardOnly(t *testing.T) {
	for _, tm := range lowertest.Models(t) {
		p, _ := lowertest.Lower(t, tm.M, tm.Batch, tm.Solver, tm.LR, lower.CPU)
		slots := slices.Clone(p.Slots)
		f := ForwardOnly(p)
		if !slices.Equal(p.Slots, slots) {
			t.Fatalf("%s: ForwardOnly changed the training program's slots", p.Kind)
		}
		used := map[int]bool{f.Buffers[f.X].Slot: true, f.Buffers[f.Out].Slot: true}
		for _, l := range f.Launches {
			for _, b := range l.Args {
				used[f.Buffers[b].Slot] = true
			}
		}
		for i, n := range f.Slots {
			if want := map[bool]int64{true: slots[i], false: 0}[used[i]]; n != want {
				t.Errorf("%s: slot %d of %d bytes, want %d", p.Kind, i, n, want)
			}
		}
		t.Logf("%s: %d of the training program's %d bytes", p.Kind, f.Bytes(), p.Bytes())
		if f.Bytes() >= p.Bytes() {
			t.Errorf("%s: the forward program needs %d bytes, the training program %d", p.Kind, f.Bytes(), p.Bytes())
		}
	}
}

// TestPredictorCalls: a predictor uploads the parameters and the constants its launches read
// once, a Forward call is one Do (the input up, the launches, the output back), and Close
// waits, then frees the memory and the launches.
func TestPredictorCalls(t *testing.T) {
	m := lowertest.Model(t, "cnn")
	p, net, err := LowerForward(m, 5, func(net *model.Net, s *model.Solver) (*ir.Program, error) { return lower.Lower(net, s, lower.CPU) })
	if err != nil {
		t.Fatal(err)
	}
	f := &fake{}
	pr, err := NewPredictor(f, p, net)
	if err != nil {
		t.Fatal(err)
	}
	if pr.Batch() != 5 {
		t.Errorf("batch %d, want 5", pr.Batch())
	}
	want := []string{"alloc forward"}
	for _, b := range p.Buffers {
		if (b.Kind == ir.Param || b.Kind == ir.Const) && p.Slots[b.Slot] > 0 {
			want = append(want, "upload "+b.Name)
		}
	}
	want = append(want, "prepare forward")
	if !slices.Equal(f.log, want) {
		t.Errorf("setup %v, want %v", f.log, want)
	}
	x, _ := lowertest.Batch(m, 5, 1)
	i, dos := len(f.log), f.dos
	out, err := pr.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.since(i); f.dos != dos+1 || !slices.Equal(got, []string{"upload x", "run forward", "download " + p.Buffers[p.Out].Name}) {
		t.Errorf("Forward: %v in %d Do calls", got, f.dos-dos)
	}
	if !out.Shape().Eq(net.Out.Shape()) {
		t.Errorf("outputs %v, want %v", out.Shape(), net.Out.Shape())
	}
	i = len(f.log)
	if err := pr.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := f.since(i), []string{"wait", "free mem forward", "free launches forward"}; !slices.Equal(got, want) {
		t.Errorf("Close: %v, want %v", got, want)
	}
	if len(f.wrong) > 0 {
		t.Errorf("device calls out of place: %v", f.wrong)
	}
}
