package train

import (
	"fmt"
	"math/rand"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"

	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/backend"
	"github.com/graphtrain/graphtrain/model"
	"github.com/graphtrain/graphtrain/vm"
)

// residentCPU is a backend whose trainers behave like a GPU's that holds the training set:
// the CPU trainer, fed by gathering each batch from the set by the order, as the device's
// gather kernels do. It tests Train's and Bench's use of DatasetTrainer without a device.
type residentCPU struct {
	vm.VM
	steps *int // StepNext calls, across its trainers
}

func (residentCPU) Name() string { return "resident-cpu" }

func (r residentCPU) NewTrainer(net *model.Net, s *model.Solver) (backend.Trainer, error) {
	tr, err := r.VM.NewTrainer(net, s)
	if err != nil {
		return nil, err
	}
	in, out := net.Model.Spec.Inputs, net.Model.Spec.Outputs
	return &residentTrainer{Trainer: tr, steps: r.steps,
		x: tensor.New(tensor.WithShape(net.Batch, in), tensor.WithBacking(make([]float32, net.Batch*in))),
		y: tensor.New(tensor.WithShape(net.Batch, out), tensor.WithBacking(make([]float32, net.Batch*out)))}, nil
}

type residentTrainer struct {
	backend.Trainer
	dx, dy []float32
	n      int
	order  []int
	cursor int
	x, y   *tensor.Dense
	steps  *int
}

// Launching says how its steps run, as the GPU trainer does (Bench reports it).
func (t *residentTrainer) Launching() string { return "gathered on the host" }

func (t *residentTrainer) SetDataset(x, y []float32, n int) error {
	t.dx, t.dy, t.n = x, y, n
	return nil
}

func (t *residentTrainer) SetOrder(order []int) error {
	if len(order) != t.n {
		return fmt.Errorf("order of %d for %d examples", len(order), t.n)
	}
	t.order, t.cursor = append([]int(nil), order...), 0
	return nil
}

func (t *residentTrainer) StepNext() error {
	xb, yb := t.x.Data().([]float32), t.y.Data().([]float32)
	rows := t.x.Shape()[0]
	in, out := len(xb)/rows, len(yb)/rows
	if t.cursor+rows > len(t.order) {
		return fmt.Errorf("past the end of the order")
	}
	for r := 0; r < rows; r++ {
		i := t.order[t.cursor+r]
		copy(xb[r*in:(r+1)*in], t.dx[i*in:(i+1)*in])
		copy(yb[r*out:(r+1)*out], t.dy[i*out:(i+1)*out])
	}
	t.cursor += rows
	*t.steps++
	return t.Trainer.Step(t.x, t.y)
}

// sliceBatches is a Batches and a Dataset over a small in-memory set, shuffled per epoch.
type sliceBatches struct {
	x, y   []float32
	n, b   int
	order  []int
	pos    int
	bx, by []float32
}

func (s *sliceBatches) Reset(epoch int) {
	s.order = rand.New(rand.NewSource(int64(epoch))).Perm(s.n)
	s.pos = 0
}

func (s *sliceBatches) Next() bool {
	if s.pos+s.b > s.n {
		return false
	}
	s.bx, s.by = s.bx[:0], s.by[:0]
	for _, i := range s.order[s.pos : s.pos+s.b] {
		s.bx = append(s.bx, s.x[i*model.ImageSize:(i+1)*model.ImageSize]...)
		s.by = append(s.by, s.y[i*model.Classes:(i+1)*model.Classes]...)
	}
	s.pos += s.b
	return true
}

func (s *sliceBatches) Batch() (x, y []float32) { return s.bx, s.by }

func (s *sliceBatches) Count() int { return s.n / s.b }

func (s *sliceBatches) Examples() (x, y []float32, n int) { return s.x, s.y, s.n }

func (s *sliceBatches) Order() []int { return s.order }

// TestTrainResidentMatchesUploads: training through DatasetTrainer (the set held by the
// trainer, batches gathered by the order) ends with the same parameters, bit for bit, as
// feeding each batch.
func TestTrainResidentMatchesUploads(t *testing.T) {
	const n, batch = 40, 8
	m0, _ := model.NewMLP(8, 1)
	x, y := model.RandomBatch(m0, n, 7)
	run := func(b backend.Backend) *model.Model {
		m, _ := model.NewMLP(8, 1)
		s, _ := model.NewSolver("adam", 1e-2)
		_, err := Train(m, TrainConfig{
			Epochs: 3, Batch: batch, Solver: s, Backend: b, Out: filepath.Join(t.TempDir(), "out"),
			Train: &sliceBatches{x: x.Data().([]float32), y: y.Data().([]float32), n: n, b: batch},
		})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	steps := 0
	uploaded, resident := run(vm.VM{}), run(residentCPU{steps: &steps})
	if steps != 3*n/batch {
		t.Fatalf("%d steps through StepNext, want %d", steps, 3*n/batch)
	}
	for i, p := range uploaded.Params {
		if !reflect.DeepEqual(p.T.Data(), resident.Params[i].T.Data()) {
			t.Errorf("%s differs between uploaded and resident batches", p.Name)
		}
	}
}

func TestBenchResident(t *testing.T) {
	m, _ := model.NewMLP(8, 1)
	s, _ := model.NewSolver("adam", 1e-3)
	steps := 0
	r, err := Bench(m, residentCPU{steps: &steps}, s, 4, 5, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Resident || r.Steps != 5 || !(r.SamplesPerSec > 0) || steps != 3+1+5+5 || r.Launch != "gathered on the host" {
		t.Errorf("resident bench: %+v", r)
	}
}

// TestBenchResidentSetBounded checks that a bench of more steps than BenchSetBatches gives a
// trainer that holds its set no more than BenchSetBatches batches, passed over again: the
// memory of a bench does not grow with --steps.
func TestBenchResidentSetBounded(t *testing.T) {
	m, _ := model.NewMLP(2, 1)
	s, _ := model.NewSolver("sgd", 1e-3)
	steps := 0
	n := BenchSetBatches*2 + 7
	held := 0
	r, err := Bench(m, setSize{residentCPU{steps: &steps}, &held}, s, 1, n, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Steps != n || held != BenchSetBatches || steps != 3+1+n+200 {
		t.Errorf("bench of %d steps: %d examples held, %d steps run (%+v)", n, held, steps, r)
	}
}

// setSize is residentCPU recording the size of the set its trainers are given.
type setSize struct {
	residentCPU
	n *int
}

func (b setSize) NewTrainer(net *model.Net, s *model.Solver) (backend.Trainer, error) {
	tr, err := b.residentCPU.NewTrainer(net, s)
	if err != nil {
		return nil, err
	}
	return &sizedTrainer{tr.(*residentTrainer), b.n}, nil
}

type sizedTrainer struct {
	*residentTrainer
	n *int
}

func (t *sizedTrainer) SetDataset(x, y []float32, n int) error {
	*t.n = n
	return t.residentTrainer.SetDataset(x, y, n)
}

// TestBenchThreads checks BenchThreads: a trainer for each number of threads, each made and
// stepped with GOMAXPROCS set to its threads and no other, their steps in rounds that
// alternate between them (the trainers' steps interleave), one training set shared by all,
// a result for each in order, and GOMAXPROCS restored.
func TestBenchThreads(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	rec := &procsRecord{}
	b := procsCPU{residentCPU{steps: new(int)}, rec}
	build := func() (*model.Model, *model.Solver, error) {
		m, err := model.NewMLP(8, 1)
		s, _ := model.NewSolver("adam", 1e-3)
		return m, s, err
	}
	const steps = 23
	rs, err := BenchThreads(build, b, 4, steps, 5, []int{1, 2}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOMAXPROCS(0) != 3 {
		t.Errorf("GOMAXPROCS %d after the bench, want 3 restored", runtime.GOMAXPROCS(0))
	}
	if len(rs) != 2 {
		t.Fatalf("%d results for 2 thread counts", len(rs))
	}
	for i, r := range rs {
		if r.Steps != steps || r.Rounds != 5 || !(r.SamplesPerSec > 0) || r.AllocsPerStep < 0 || !r.Resident {
			t.Errorf("result %d: %+v", i, r)
		}
	}
	if len(rec.sets) != 2 || &rec.sets[0][0] != &rec.sets[1][0] {
		t.Errorf("the trainers were given %d sets, want one shared by both", len(rec.sets))
	}
	// Each trainer: 3 warm-up steps, one untimed step a round, 23 timed, 23 latencies;
	// trainer k at k+1 threads.
	count, switches := map[int]int{}, 0
	for i, s := range rec.steps {
		count[s.trainer]++
		if s.procs != s.trainer+1 {
			t.Fatalf("step %d of trainer %d ran at GOMAXPROCS %d", i, s.trainer, s.procs)
		}
		if i > 0 && s.trainer != rec.steps[i-1].trainer {
			switches++
		}
	}
	if count[0] != 3+5+2*steps || count[1] != 3+5+2*steps {
		t.Errorf("steps by trainer %v, want %d each", count, 3+5+2*steps)
	}
	if switches < 2*5 {
		t.Errorf("the trainers took turns %d times, want at least one a round of each phase", switches)
	}
	if _, err := BenchThreads(build, b, 4, steps, 5, []int{1, 0}, nil, nil); err == nil {
		t.Error("0 threads: no error")
	}
}

// procsCPU is residentCPU recording which trainer ran each step at which GOMAXPROCS, and the
// sets they were given.
type procsCPU struct {
	residentCPU
	rec *procsRecord
}

type procsRecord struct {
	trainers int
	steps    []struct{ trainer, procs int }
	sets     [][]float32
}

func (b procsCPU) NewTrainer(net *model.Net, s *model.Solver) (backend.Trainer, error) {
	tr, err := b.residentCPU.NewTrainer(net, s)
	if err != nil {
		return nil, err
	}
	b.rec.trainers++
	return &procsTrainer{tr.(*residentTrainer), b.rec, b.rec.trainers - 1}, nil
}

type procsTrainer struct {
	*residentTrainer
	rec *procsRecord
	k   int
}

func (t *procsTrainer) SetDataset(x, y []float32, n int) error {
	t.rec.sets = append(t.rec.sets, x)
	return t.residentTrainer.SetDataset(x, y, n)
}

func (t *procsTrainer) StepNext() error {
	t.rec.steps = append(t.rec.steps, struct{ trainer, procs int }{t.k, runtime.GOMAXPROCS(0)})
	return t.residentTrainer.StepNext()
}
