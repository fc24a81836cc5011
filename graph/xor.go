package graph

import (
	"fmt"
	"math"
	"time"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"graphtrain/internal/mt19937"
)

// The XOR net of the original numpy experiment:
//
//	h   = σ(X·W0 [+ b0])      X: [4, 2], W0: [2, H], h: [4, H]
//	ŷ   = σ(h·W1 [+ b1])      W1: [H, 1], ŷ: [4, 1]
//	L   = ½·Σ(y − ŷ)²
//
// The original updated W += 0.1·(its back-propagated deltas), which is exactly gradient
// descent on L with learning rate 0.1: with the same starting weights the runs agree.
func init() { builders["xor"] = buildXOR }

// XORInputs are the four examples in the order 00 01 10 11, and XORTargets their answers.
var (
	XORInputs  = []float64{0, 0, 0, 1, 1, 0, 1, 1}
	XORTargets = []float64{0, 1, 1, 0}
)

// NewXOR returns the XOR net with hidden sigmoid units, its weights drawn as the original
// did: np.random.seed(seed); weights0 = np.random.rand(2, H); weights1 = np.random.rand(H, 1).
// Biases, when asked for, start at zero. seed must fit in 32 bits, as numpy requires.
func NewXOR(hidden int, bias bool, seed int64) (*Model, error) {
	if hidden < 1 {
		return nil, fmt.Errorf("graph: hidden units %d: must be at least 1", hidden)
	}
	if seed < 0 || seed > math.MaxUint32 {
		return nil, fmt.Errorf("graph: seed %d: must be between 0 and %d", seed, uint32(math.MaxUint32))
	}
	r := mt19937.New(uint32(seed))
	w0 := make([]float64, 2*hidden)
	for i := range w0 {
		w0[i] = r.Float64()
	}
	w1 := make([]float64, hidden)
	for i := range w1 {
		w1[i] = r.Float64()
	}
	m := &Model{Spec: xorSpec(hidden, bias)}
	m.Params = []*Param{
		{Name: "weights0", T: tensor.New(tensor.WithShape(2, hidden), tensor.WithBacking(w0))},
		{Name: "weights1", T: tensor.New(tensor.WithShape(hidden, 1), tensor.WithBacking(w1))},
	}
	if bias {
		m.Params = append(m.Params,
			&Param{Name: "bias0", T: tensor.New(tensor.WithShape(1, hidden), tensor.WithBacking(make([]float64, hidden)))},
			&Param{Name: "bias1", T: tensor.New(tensor.WithShape(1, 1), tensor.WithBacking(make([]float64, 1)))})
	}
	return m, nil
}

func xorSpec(hidden int, bias bool) Spec {
	return Spec{Kind: "xor", Inputs: 2, Hidden: hidden, Outputs: 1, Bias: bias, Activation: "sigmoid", Dtype: "float64"}
}

func buildXOR(net *Net) error {
	w0, w1 := net.Nodes[0], net.Nodes[1]
	var b0, b1 *G.Node
	if net.Model.Spec.Bias {
		b0, b1 = net.Nodes[2], net.Nodes[3]
	}
	h, err := dense(net.X, w0, b0, G.Sigmoid)
	if err != nil {
		return err
	}
	out, err := dense(h, w1, b1, G.Sigmoid)
	if err != nil {
		return err
	}
	diff, err := G.Sub(net.Y, out)
	if err != nil {
		return err
	}
	sq, err := G.Square(diff)
	if err != nil {
		return err
	}
	sum, err := G.Sum(sq)
	if err != nil {
		return err
	}
	loss, err := G.Mul(sum, G.NewConstant(0.5, G.WithName("half")))
	if err != nil {
		return err
	}
	net.Out, net.Loss = out, loss
	return nil
}

// dense is act(x·w + b): x [batch, in], w [in, out], b [1, out] broadcast over the batch
// (nil for none), act nil for none.
func dense(x, w, b *G.Node, act func(*G.Node) (*G.Node, error)) (*G.Node, error) {
	y, err := G.Mul(x, w)
	if err != nil {
		return nil, err
	}
	if b != nil {
		if y, err = G.BroadcastAdd(y, b, nil, []byte{0}); err != nil {
			return nil, err
		}
	}
	if act != nil {
		return act(y)
	}
	return y, nil
}

// XORConfig says how to train the XOR net.
type XORConfig struct {
	Epochs   int
	LR       float64
	LogEvery int                           // call Log every LogEvery epochs (0: never)
	Log      func(epoch int, loss float64) // progress, may be nil
	Stop     func() bool                   // polled every epoch; true ends training early
	Backend  Backend                       // nil: the CPU
	Fallback Backend                       // when Backend cannot make a trainer (nil: an error)
	Warn     func(msg string)              // says why the fallback runs, may be nil
}

// XORResult is the outcome of TrainXOR.
type XORResult struct {
	Epochs      int       // epochs run
	Loss        float64   // loss of the last epoch, before its update
	Predictions []float64 // ŷ for 00 01 10 11 from the last epoch's forward pass, before its update
	Seconds     float64
	Device      string
}

// TrainXOR trains m on the four XOR examples with full-batch gradient descent. As in the
// original, the reported predictions come from the last epoch's forward pass, computed just
// before that epoch's update; m holds the weights after it.
func TrainXOR(m *Model, cfg XORConfig) (*XORResult, error) {
	if m.Spec.Kind != "xor" {
		return nil, fmt.Errorf("graph: TrainXOR: model is %q, not xor", m.Spec.Kind)
	}
	if cfg.Epochs < 1 {
		return nil, fmt.Errorf("graph: epochs %d: must be at least 1", cfg.Epochs)
	}
	b := cfg.Backend
	if b == nil {
		b = VM{}
	}
	solver, err := NewSolver("sgd", cfg.LR)
	if err != nil {
		return nil, err
	}
	net, err := m.Build(4, true)
	if err != nil {
		return nil, err
	}
	tr, b, err := newTrainer(b, cfg.Fallback, net, solver, cfg.Warn)
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	x := tensor.New(tensor.WithShape(4, 2), tensor.WithBacking(append([]float64(nil), XORInputs...)))
	y := tensor.New(tensor.WithShape(4, 1), tensor.WithBacking(append([]float64(nil), XORTargets...)))
	res := &XORResult{Device: b.Name()}
	start := time.Now()
	var loss float64
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		if err := tr.Step(x, y); err != nil {
			return nil, err
		}
		x, y = nil, nil // the same four examples every epoch: a GPU uploads them once
		res.Epochs = epoch
		if cfg.Log != nil && cfg.LogEvery > 0 && (epoch%cfg.LogEvery == 0 || epoch == 1) {
			if loss, err = tr.Loss(); err != nil {
				return nil, err
			}
			cfg.Log(epoch, loss)
		}
		if cfg.Stop != nil && cfg.Stop() {
			break
		}
	}
	res.Seconds = time.Since(start).Seconds()
	if res.Loss, err = tr.Loss(); err != nil {
		return nil, err
	}
	if math.IsNaN(res.Loss) || math.IsInf(res.Loss, 0) {
		return nil, fmt.Errorf("graph: XOR loss became %v; lower the learning rate", res.Loss)
	}
	out, err := tr.Output()
	if err != nil {
		return nil, err
	}
	res.Predictions = append([]float64(nil), out.Data().([]float64)...)
	return res, tr.Sync()
}

// PredictXOR runs the forward pass of m on inputs [n, 2] (row-major) and returns ŷ for each row.
func PredictXOR(m *Model, inputs []float64) (out []float64, err error) {
	if m.Spec.Kind != "xor" {
		return nil, fmt.Errorf("graph: model is %q, not xor", m.Spec.Kind)
	}
	if len(inputs) == 0 || len(inputs)%2 != 0 {
		return nil, fmt.Errorf("%w: %d XOR inputs: want pairs", ErrShape, len(inputs))
	}
	n := len(inputs) / 2
	net, err := m.Build(n, false)
	if err != nil {
		return nil, err
	}
	defer recoverGorgonia(&err, "XOR forward pass")
	x := tensor.New(tensor.WithShape(n, 2), tensor.WithBacking(append([]float64(nil), inputs...)))
	if err := feed(net.X, x); err != nil {
		return nil, err
	}
	vm := G.NewTapeMachine(net.G)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		return nil, fmt.Errorf("graph: XOR forward pass: %w", err)
	}
	return append([]float64(nil), net.Out.Value().Data().([]float64)...), nil
}
