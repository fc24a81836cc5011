package inspect

import (
	"errors"
	"fmt"
	"math"
	"math/rand"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"graphtrain/model"
	"graphtrain/vm"
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
	loss := func() (float64, error) {
		if err := vm.Feed(net.X, x); err != nil {
			return 0, err
		}
		if err := vm.Feed(net.Y, y); err != nil {
			return 0, err
		}
		tm.Reset()
		if err := tm.RunAll(); err != nil {
			return 0, fmt.Errorf("graph: gradient check: %w", err)
		}
		return vm.Scalar(net.Loss.Value())
	}
	if _, err := loss(); err != nil {
		return nil, err
	}
	var symbolic [][]float64
	for _, g := range net.Grads {
		d, ok := g.Value().Data().([]float64)
		if !ok {
			return nil, fmt.Errorf("graph: gradient of %s holds %T", g.Name(), g.Value().Data())
		}
		symbolic = append(symbolic, append([]float64(nil), d...))
	}
	for pi, p := range m.Params {
		d := p.T.Data().([]float64)
		idx := make([]int, len(d))
		for i := range idx {
			idx[i] = i
		}
		if perParam > 0 && perParam < len(d) {
			r := rand.New(rand.NewSource(int64(pi)))
			r.Shuffle(len(idx)-1, func(i, j int) { idx[i+1], idx[j+1] = idx[j+1], idx[i+1] })
			idx = idx[:perParam]
		}
		c := ParamCheck{Name: p.Name, Checked: len(idx)}
		for _, i := range idx {
			old := d[i]
			d[i] = old + GradStep
			lp, err := loss()
			d[i] = old - GradStep
			lm, err2 := loss()
			d[i] = old
			if err != nil || err2 != nil {
				return nil, fmt.Errorf("graph: gradient check of %s: %w", p.Name, errors.Join(err, err2))
			}
			num := (lp - lm) / (2 * GradStep)
			sym := symbolic[pi][i]
			rel := math.Abs(num-sym) / math.Max(1e-3, math.Abs(num)+math.Abs(sym))
			if rel >= c.Worst {
				c.Worst, c.Index, c.Symbolic, c.Numeric = rel, i, sym, num
			}
		}
		checks = append(checks, c)
	}
	return checks, nil
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
		c.Params = append(c.Params, &model.Param{Name: p.Name, T: tensor.New(tensor.WithShape(p.T.Shape().Clone()...), tensor.WithBacking(dst))})
	}
	return c, nil
}
