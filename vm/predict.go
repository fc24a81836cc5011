package vm

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/backend"
	"github.com/graphtrain/graphtrain/model"
)

// NewPredictor compiles m's forward pass (a graph built without gradients) into a
// TapeMachine for batch examples at a time. The graph shares m's parameter tensors, so it
// always runs with their current values.
func (VM) NewPredictor(m *model.Model, batch int) (p backend.Predictor, err error) {
	net, err := m.Build(batch, false)
	if err != nil {
		return nil, err
	}
	defer model.RecoverGorgonia(&err, "compile "+m.Spec.Kind+" forward pass")
	return &predictor{net: net, tm: newTapeMachine(net.G)}, nil
}

// predictor is the vm backend's forward pass.
type predictor struct {
	net *model.Net
	tm  G.VM
}

func (p *predictor) Batch() int { return p.net.Batch }

func (p *predictor) Forward(x *tensor.Dense) (out *tensor.Dense, err error) {
	defer model.RecoverGorgonia(&err, "forward pass")
	if err := Feed(p.net.X, x); err != nil {
		return nil, err
	}
	p.tm.Reset()
	if err := p.tm.RunAll(); err != nil {
		return nil, fmt.Errorf("graph: forward pass: %w", err)
	}
	d, ok := p.net.OutValue().(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("graph: the forward pass gave %T", p.net.OutValue())
	}
	return d, nil
}

func (p *predictor) Close() error { return p.tm.Close() }
