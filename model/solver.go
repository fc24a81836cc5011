package model

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"
)

// Solver updates parameters from their gradients. Its state (Adam's moments, momentum's
// velocity, the step count) lives here so that a checkpoint can save it and a resumed run
// continues exactly.
//
//	sgd:      w -= lr·g
//	momentum: v = μ·v + g;  w -= lr·v                      (PyTorch's form)
//	adam:     m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²
//	          w -= lr·m̂ / (√v̂ + ε),  m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ)
//	adamw:    w -= (lr·λ)·w, then adam's step                 (decoupled weight decay, λ WeightDecay)
//
// AdamW is PyTorch's torch.optim.AdamW (Loshchilov and Hutter, "Decoupled weight decay
// regularization"): the decay shrinks the weights by lr·λ of themselves before the step and
// never enters the moments. Only parameters with two or more dimensions longer than 1 decay
// (Decay): the weight matrices and filter banks, not the biases, stored [1,n] and
// [1,C,1,1], nor any other vector of one value per unit (a normalisation's scale and
// shift), as is usual. A weight matrix of one row or column counts as a vector too.
type Solver struct {
	Kind        string  `json:"kind"` // "sgd", "momentum", "adam" or "adamw"
	LR          float64 `json:"lr"`
	Momentum    float64 `json:"momentum,omitempty"`
	Beta1       float64 `json:"beta1,omitempty"`
	Beta2       float64 `json:"beta2,omitempty"`
	Eps         float64 `json:"eps,omitempty"`
	WeightDecay float64 `json:"weight_decay,omitempty"` // adamw's λ
	Steps       int     `json:"steps"`                  // updates done so far (Adam's t)

	// Rate is the learning rate in effect when a schedule scales LR (see Trainer.SetLR);
	// 0 means LR itself. It is not saved: a schedule recomputes it from the epoch.
	Rate float64 `json:"-"`

	// State holds per-parameter buffers, keyed "<slot>/<param>": "m/weights0", "v/weights0"
	// for Adam, "velocity/weights0" for momentum. Same shape and dtype as the parameter.
	State map[string]*tensor.Dense `json:"-"`
}

// DefaultLR is each solver's default learning rate: what --lr 0 and the Go API's zero rate
// mean.
var DefaultLR = map[string]float64{"adam": 1e-3, "adamw": 1e-3, "sgd": 0.1, "momentum": 0.01}

// Solvers are the solver kinds, in the order a message lists them.
var Solvers = []string{"adam", "adamw", "sgd", "momentum"}

// DefaultWeightDecay is adamw's λ unless set otherwise, PyTorch's default.
const DefaultWeightDecay = 0.01

// NewSolver returns a solver of kind with learning rate lr and the usual defaults
// (momentum 0.9; Adam β1 0.9, β2 0.999, ε 1e-8; AdamW's as Adam's, λ DefaultWeightDecay).
func NewSolver(kind string, lr float64) (*Solver, error) {
	if !(lr > 0) || math.IsInf(lr, 0) {
		return nil, fmt.Errorf("graph: learning rate %v: must be a positive number", lr)
	}
	s := &Solver{Kind: kind, LR: lr}
	switch kind {
	case "sgd":
	case "momentum":
		s.Momentum = 0.9
	case "adam", "adamw":
		s.Beta1, s.Beta2, s.Eps = 0.9, 0.999, 1e-8
		if kind == "adamw" {
			s.WeightDecay = DefaultWeightDecay
		}
	default:
		return nil, fmt.Errorf("graph: solver %q: must be adam, adamw, sgd or momentum", kind)
	}
	return s, nil
}

// Adam reports whether the solver takes Adam's step (adam, adamw): moments m and v, and a
// step counter.
func (s *Solver) Adam() bool { return s.Kind == "adam" || s.Kind == "adamw" }

// Decay is the weight decay λ that p gets: WeightDecay for adamw and a parameter with two or
// more dimensions longer than 1 (a weight matrix, a filter bank), 0 otherwise (a bias, any
// vector; any solver but adamw).
func (s *Solver) Decay(p *Param) float64 {
	long := 0
	for _, d := range p.T.Shape() {
		if d > 1 {
			long++
		}
	}
	if s.Kind != "adamw" || long < 2 {
		return 0
	}
	return s.WeightDecay
}

// Slots names the state buffers the solver keeps per parameter.
func (s *Solver) Slots() []string {
	switch s.Kind {
	case "momentum":
		return []string{"velocity"}
	case "adam", "adamw":
		return []string{"m", "v"}
	}
	return nil
}

// Init gives the solver zero state for every parameter of m that has none yet, and checks
// that the state it has fits m. Backends call it before the first step.
func (s *Solver) Init(m *Model) error {
	if s.State == nil {
		s.State = map[string]*tensor.Dense{}
	}
	for _, slot := range s.Slots() {
		for _, p := range m.Params {
			key := slot + "/" + p.Name
			if st, ok := s.State[key]; ok {
				if !st.Shape().Eq(p.T.Shape()) || st.Dtype() != p.T.Dtype() {
					return fmt.Errorf("%w: solver state %s is %v %v, the parameter %v %v", ErrShape, key, st.Dtype(), st.Shape(), p.T.Dtype(), p.T.Shape())
				}
				continue
			}
			s.State[key] = tensor.New(tensor.Of(p.T.Dtype()), tensor.WithShape(p.T.Shape().Clone()...))
		}
	}
	return nil
}

// Update applies one step to every parameter with its gradient (same order).
func (s *Solver) Update(params []*Param, grads []*tensor.Dense) error {
	if len(params) != len(grads) {
		return fmt.Errorf("graph: %d gradients for %d parameters", len(grads), len(params))
	}
	s.Steps++
	for i, p := range params {
		var err error
		if p.Running {
			err = stepRunning(p, grads[i])
			if err != nil {
				return err
			}
			continue
		}
		switch w := p.T.Data().(type) {
		case []float64:
			err = update(s, p.Name, w, grads[i], s.Decay(p))
		case []float32:
			err = update(s, p.Name, w, grads[i], s.Decay(p))
		default:
			err = fmt.Errorf("graph: parameter %s has unsupported type %T", p.Name, w)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// stepRunning moves a running statistic by its step: w −= g.
func stepRunning(p *Param, g *tensor.Dense) error {
	switch w := p.T.Data().(type) {
	case []float32:
		if gs, ok := g.Data().([]float32); ok && len(gs) == len(w) {
			for i := range w {
				w[i] -= gs[i]
			}
			return nil
		}
	case []float64:
		if gs, ok := g.Data().([]float64); ok && len(gs) == len(w) {
			for i := range w {
				w[i] -= gs[i]
			}
			return nil
		}
	}
	return fmt.Errorf("%w: the step of %s is %v %v, the statistic %v", ErrShape, p.Name, g.Dtype(), g.Shape(), p.T.Shape())
}

// update steps w by its gradient gt, decaying it by wd first (adamw).
func update[T float32 | float64](s *Solver, name string, w []T, gt *tensor.Dense, wd float64) error {
	g, ok := gt.Data().([]T)
	if !ok || len(g) != len(w) {
		return fmt.Errorf("%w: gradient of %s is %v %v, the parameter has %d values", ErrShape, name, gt.Dtype(), gt.Shape(), len(w))
	}
	rate := s.LR
	if s.Rate > 0 {
		rate = s.Rate
	}
	lr := T(rate)
	switch s.Kind {
	case "sgd":
		for i := range w {
			w[i] -= lr * g[i]
		}
	case "momentum":
		v := s.State["velocity/"+name].Data().([]T)
		mu := T(s.Momentum)
		for i := range w {
			v[i] = mu*v[i] + g[i]
			w[i] -= lr * v[i]
		}
	case "adam", "adamw":
		if wd != 0 {
			// w −= round(lr·λ)·w, the product rounded before the subtraction, as ir.Adam.
			d := T(rate * wd)
			for i := range w {
				w[i] -= T(d * w[i])
			}
		}
		m := s.State["m/"+name].Data().([]T)
		v := s.State["v/"+name].Data().([]T)
		b1, b2 := T(s.Beta1), T(s.Beta2)
		c1 := T(1 - math.Pow(s.Beta1, float64(s.Steps)))
		c2 := T(1 - math.Pow(s.Beta2, float64(s.Steps)))
		eps := T(s.Eps)
		for i := range w {
			m[i] = b1*m[i] + (1-b1)*g[i]
			v[i] = b2*v[i] + (1-b2)*g[i]*g[i]
			w[i] -= lr * (m[i] / c1) / (T(math.Sqrt(float64(v[i]/c2))) + eps)
		}
	default:
		return fmt.Errorf("graph: solver %q: must be adam, adamw, sgd or momentum", s.Kind)
	}
	return nil
}
