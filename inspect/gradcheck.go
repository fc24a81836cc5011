package inspect

import (
	"errors"
	"fmt"
	"math"
	"math/rand"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/model"
	"github.com/graphtrain/graphtrain/vm"
)

// ParamCheck is the outcome of GradCheck for one parameter tensor.
type ParamCheck struct {
	Name     string  // the parameter
	Checked  int     // values compared
	Worst    float64 // worst relative error, |g − ĝ| / max(1e-3, |g| + |ĝ|)
	Index    int     // the flat index of the value with the worst error
	Symbolic float64 // gorgonia.Grad's gradient there
	Numeric  float64 // the central difference there
}

// GradStep is the step h of GradCheck's central differences, (L(θ+h) − L(θ−h)) / 2h.
const GradStep = 1e-6

// GradCheck compares the symbolic gradient (gorgonia.Grad) of the loss of m on the batch
// (x [batch, inputs], y [batch, outputs]) with central differences of the loss, parameter
// value by parameter value. m must be float64 (see Float64Copy): float32 rounding swamps
// the differences. With perParam > 0 it checks that many values of each parameter, the
// first and others picked at random (seeded by the parameter's position), not all of them.
// The parameter values are restored when it returns.
func GradCheck(m *model.Model, batch int, x, y *tensor.Dense, perParam int) (checks []ParamCheck, err error) {
	if m.Spec.Dtype != "float64" {
		return nil, fmt.Errorf("graph: gradient check of a %s model: convert it with Float64Copy first", m.Spec.Dtype)
	}
	net, err := m.Build(batch, true)
	if err != nil {
		return nil, err
	}
	defer model.RecoverGorgonia(&err, "gradient check")
	tm := G.NewTapeMachine(net.G)
	defer tm.Close()
	run := lossRun{tm: tm, net: net, x: x, y: y}
	if _, err := run.loss(); err != nil {
		return nil, err
	}
	symbolic, err := symbolicGrads(net)
	if err != nil {
		return nil, err
	}
	for pi, p := range m.Params {
		if p.Running { // a running statistic's step is no derivative of the loss
			continue
		}
		c, err := checkParam(run, p, symbolic[pi], perParam, pi)
		if err != nil {
			return nil, err
		}
		checks = append(checks, c)
	}
	return checks, nil
}

// lossRun evaluates a net's loss on one batch (x, y) on a TapeMachine of its graph.
type lossRun struct {
	tm   G.VM
	net  *model.Net
	x, y *tensor.Dense
}

// loss feeds the batch, runs the graph (the forward and the backward pass) and returns
// the loss.
func (r lossRun) loss() (float64, error) {
	if err := vm.Feed(r.net.X, r.x); err != nil {
		return 0, err
	}
	if err := vm.Feed(r.net.Y, r.y); err != nil {
		return 0, err
	}
	r.tm.Reset()
	if err := r.tm.RunAll(); err != nil {
		return 0, fmt.Errorf("graph: gradient check: %w", err)
	}
	return vm.Scalar(r.net.Loss.Value())
}

// symbolicGrads copies the values of the net's gradient nodes, one slice per parameter,
// after a run.
func symbolicGrads(net *model.Net) ([][]float64, error) {
	var symbolic [][]float64
	for _, g := range net.Grads {
		d, ok := g.Value().Data().([]float64)
		if !ok {
			return nil, fmt.Errorf("graph: gradient of %s holds %T", g.Name(), g.Value().Data())
		}
		symbolic = append(symbolic, append([]float64(nil), d...))
	}
	return symbolic, nil
}

// checkIndices are the flat indices of the n values of parameter pi to check: all of them,
// or with 0 < perParam < n, the first and perParam−1 others picked at random (seeded by pi).
func checkIndices(n, perParam, pi int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	if perParam > 0 && perParam < n {
		r := rand.New(rand.NewSource(int64(pi)))
		r.Shuffle(len(idx)-1, func(i, j int) { idx[i+1], idx[j+1] = idx[j+1], idx[i+1] })
		idx = idx[:perParam]
	}
	return idx
}

// checkParam compares sym, the symbolic gradient of the loss with respect to p (parameter
// pi), with central differences at the values checkIndices picks, restoring each value.
func checkParam(run lossRun, p *model.Param, sym []float64, perParam, pi int) (ParamCheck, error) {
	d := p.T.Data().([]float64)
	idx := checkIndices(len(d), perParam, pi)
	c := ParamCheck{Name: p.Name, Checked: len(idx)}
	for _, i := range idx {
		old := d[i]
		d[i] = old + GradStep
		lp, err := run.loss()
		d[i] = old - GradStep
		lm, err2 := run.loss()
		d[i] = old
		if err != nil || err2 != nil {
			return c, fmt.Errorf("graph: gradient check of %s: %w", p.Name, errors.Join(err, err2))
		}
		num := (lp - lm) / (2 * GradStep)
		rel := math.Abs(num-sym[i]) / math.Max(1e-3, math.Abs(num)+math.Abs(sym[i]))
		if rel >= c.Worst {
			c.Worst, c.Index, c.Symbolic, c.Numeric = rel, i, sym[i], num
		}
	}
	return c, nil
}

// Float64Copy returns a copy of m with float64 parameters (and dtype), for finite
// differences without float32 noise. A float64 model is copied as it is.
func Float64Copy(m *model.Model) (*model.Model, error) {
	c := &model.Model{Spec: m.Spec}
	c.Spec.Dtype = "float64"
	for _, p := range m.Params {
		var dst []float64
		switch src := p.T.Data().(type) {
		case []float32:
			dst = make([]float64, len(src))
			for i, v := range src {
				dst[i] = float64(v)
			}
		case []float64:
			dst = append([]float64(nil), src...)
		default:
			return nil, fmt.Errorf("graph: parameter %s holds %T", p.Name, src)
		}
		c.Params = append(c.Params, &model.Param{Name: p.Name, T: tensor.New(tensor.WithShape(p.T.Shape().Clone()...), tensor.WithBacking(dst)), Running: p.Running})
	}
	return c, nil
}
