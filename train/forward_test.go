package train

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/graphtrain/graphtrain/backend"
	"github.com/graphtrain/graphtrain/model"
	"github.com/graphtrain/graphtrain/vm"
)

// forwardCPU is a backend whose trainers are Forwarders, as the GPU's are: the CPU trainer,
// whose Logits runs the CPU forward pass (batches of 7, so the last one is partial) and
// counts its calls. drop makes Logits hand over one image too few.
type forwardCPU struct {
	vm.VM
	calls *int
	drop  bool
}

func (f forwardCPU) NewTrainer(net *model.Net, s *model.Solver) (backend.Trainer, error) {
	tr, err := f.VM.NewTrainer(net, s)
	if err != nil {
		return nil, err
	}
	return &forwardTrainer{Trainer: tr, m: net.Model, f: f}, nil
}

type forwardTrainer struct {
	backend.Trainer
	m *model.Model
	f forwardCPU
}

func (t *forwardTrainer) Logits(images []float32, f func([]float32)) error {
	*t.f.calls++
	if t.f.drop {
		images = images[:len(images)-model.ImageSize]
	}
	return Logits(vm.VM{}, t.m, images, 7, f)
}

// TestTrainValidatesOnForwarder: Train validates with the trainer's own forward pass when it
// has one, once an epoch, and gets the accuracies the CPU's Predict gets; a forward pass that
// loses an image is an error, not a wrong accuracy.
func TestTrainValidatesOnForwarder(t *testing.T) {
	const n, batch = 40, 8
	m0, _ := model.NewMLP(8, 1)
	x, y := model.RandomBatch(m0, n, 7)
	vx, vy := model.RandomBatch(m0, 30, 8)
	val := Labelled{Images: vx.Data().([]float32)}
	for i := 0; i < 30; i++ {
		val.Labels = append(val.Labels, uint8(argmax(vy.Data().([]float32)[i*model.Classes:(i+1)*model.Classes])))
	}
	run := func(b backend.Backend) ([]float64, error) {
		m, _ := model.NewMLP(8, 1)
		s, _ := model.NewSolver("adam", 1e-2)
		var accs []float64
		_, err := Train(m, TrainConfig{
			Epochs: 3, Batch: batch, Solver: s, Backend: b, Out: filepath.Join(t.TempDir(), "out"), Val: val,
			Train:   &sliceBatches{x: x.Data().([]float32), y: y.Data().([]float32), n: n, b: batch},
			OnEpoch: func(st EpochStats) { accs = append(accs, st.ValAccuracy) },
		})
		return accs, err
	}
	want, err := run(vm.VM{})
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	got, err := run(forwardCPU{calls: &calls})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 3 {
		t.Errorf("the trainer's forward pass ran %d times in 3 epochs", calls)
	}
	if len(got) != 3 || !reflect.DeepEqual(got, want) {
		t.Errorf("validation accuracies %v through the trainer, %v through Predict", got, want)
	}
	if _, err := run(forwardCPU{calls: &calls, drop: true}); err == nil || !strings.Contains(err.Error(), "29 predictions for 30 images") {
		t.Errorf("a forward pass that loses an image: %v", err)
	}
}
