package model

import (
	"fmt"
	"hash"
	"hash/fnv"
	"math"
	"strings"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/ir"
)

// Augment is a model's augmentation in training (Spec.Augment): every training image moved by
// a random transform of its own, a whole-pixel translation of at most Shift pixels along each
// axis, a rotation of at most Rotate degrees and a scaling by at most Scale of its size, and
// distorted by an elastic field of Elastic pixels smoothed by a Gaussian of Sigma pixels
// (Simard et al. 2003; ir/elastic.go), drawn from Philox under Seed at each step
// (ir/augment.go). Evaluation and prediction see the images as they are. A model.json
// written before elastic distortion has neither key: none.
type Augment struct {
	Shift   int     `json:"shift,omitempty"`   // pixels, at most the image's side
	Rotate  float64 `json:"rotate,omitempty"`  // degrees, in [0, 90]
	Scale   float64 `json:"scale,omitempty"`   // a fraction, in [0, 1)
	Elastic float64 `json:"elastic,omitempty"` // α, pixels, at most 4 times the image's side; 0 none
	Sigma   float64 `json:"sigma,omitempty"`   // σ, pixels, in [0.5, 10] with Elastic, else 0
	Seed    int64   `json:"seed"`              // the key of the transforms: the run's seed
}

// DefaultElasticSigma is the smoothing of an elastic field given without sigma: Simard's 4
// pixels.
const DefaultElasticSigma = 4

// ErrAugment reports an augmentation graphtrain does not apply.
var ErrAugment = fmt.Errorf("%w: augmentation", ErrSpec)

// Check checks the augmentation's ranges on images of shape in.
func (a *Augment) Check(in Shape) error {
	switch {
	case a.Shift < 0 || a.Shift > max(in.H, in.W):
		return fmt.Errorf("%w: shift %d: must be 0 to %d pixels (the image's side)", ErrAugment, a.Shift, max(in.H, in.W))
	case !(a.Rotate >= 0 && a.Rotate <= ir.MaxAugmentRotate):
		return fmt.Errorf("%w: rotate %v: must be 0 to %d degrees", ErrAugment, a.Rotate, ir.MaxAugmentRotate)
	case !(a.Scale >= 0 && a.Scale < 1):
		return fmt.Errorf("%w: scale %v: must be in [0, 1)", ErrAugment, a.Scale)
	case !(a.Elastic >= 0 && a.Elastic <= ir.ElasticAlphaPerSide*float64(max(in.H, in.W))):
		return fmt.Errorf("%w: elastic %v: must be 0 to %d pixels (%d times the image's side)", ErrAugment, a.Elastic,
			ir.ElasticAlphaPerSide*max(in.H, in.W), ir.ElasticAlphaPerSide)
	case a.Elastic == 0 && a.Sigma != 0:
		return fmt.Errorf("%w: sigma %v without elastic: sigma smooths the elastic field", ErrAugment, a.Sigma)
	case a.Elastic > 0 && !(a.Sigma >= ir.MinElasticSigma && a.Sigma <= ir.MaxElasticSigma):
		return fmt.Errorf("%w: sigma %v: must be %v to %v pixels", ErrAugment, a.Sigma, ir.MinElasticSigma, ir.MaxElasticSigma)
	}
	return nil
}

// String writes the augmentation as --augment takes it, the keys that are not 0:
// "shift=2,rotate=10,scale=0.1", "shift=2", "elastic=34,sigma=4".
func (a *Augment) String() string {
	if a == nil {
		return "none"
	}
	var keys []string // the keys that move the image; a key left out is 0
	if a.Shift != 0 {
		keys = append(keys, fmt.Sprintf("shift=%d", a.Shift))
	}
	if a.Rotate != 0 {
		keys = append(keys, fmt.Sprintf("rotate=%v", a.Rotate))
	}
	if a.Scale != 0 {
		keys = append(keys, fmt.Sprintf("scale=%v", a.Scale))
	}
	if a.Elastic > 0 {
		keys = append(keys, fmt.Sprintf("elastic=%v,sigma=%v", a.Elastic, a.Sigma))
	}
	if len(keys) == 0 {
		return "shift=0"
	}
	return strings.Join(keys, ",")
}

// Equal reports whether two augmentations (nil: none) are the same.
func (a *Augment) Equal(o *Augment) bool {
	if a == nil || o == nil {
		return a == o
	}
	return *a == *o
}

// ImageShape is the shape of the images a model of this spec reads, which augmentation
// moves: a custom model's Image, the 28x28 one-channel images of the built-in mlp and cnn
// (the mlp sees them as 784 values); false for a model on vectors (xor, a custom model
// without an image).
func (s Spec) ImageShape() (Shape, bool) {
	switch {
	case len(s.Image) == 3:
		return Shape{C: s.Image[0], H: s.Image[1], W: s.Image[2]}, true
	case s.Kind == mlpKind.name || s.Kind == CNNKind:
		return imageInput(s), true
	}
	return Shape{}, false
}

// checkAugment checks the spec's augmentation, if any: on images, in range.
func (s Spec) checkAugment() error {
	if s.Augment == nil {
		return nil
	}
	in, ok := s.ImageShape()
	if !ok {
		return fmt.Errorf("%w: a %s model on vectors has no images to move", ErrAugment, Short(s.Kind))
	}
	return s.Augment.Check(in)
}

// AugmentOp is augmentation as a Gorgonia op: its first argument x [batch, C·H·W] with each
// example moved by its transform at the step its second argument holds (a float64 scalar:
// the solver's updates so far), as an ir.Augment launch computes it. It has no gradient: x
// is an input. The lowering turns it into an ir.Augment launch.
type AugmentOp struct {
	Augment
	Image Shape // one example's [C, H, W]
}

// Params are the op's launch parameters for a batch.
func (op *AugmentOp) Params(batch int) ir.AugmentParams {
	p := ir.AugmentParams{Batch: batch, C: op.Image.C, H: op.Image.H, W: op.Image.W, Seed: op.Seed, Shift: op.Shift,
		TanHalf: ir.AugmentTanHalf(op.Rotate), Scale: op.Scale}
	if op.Elastic > 0 {
		p.Alpha, p.Radius, p.Decay = op.Elastic, ir.ElasticRadius(op.Sigma), ir.ElasticDecay(op.Sigma)
	}
	return p
}

func (op *AugmentOp) Arity() int { return 2 }

func (op *AugmentOp) Type() hm.Type {
	x, step := hm.TypeVariable('x'), hm.TypeVariable('s')
	return hm.NewFnType(x, step, x)
}

func (op *AugmentOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("graph: augment: %d inputs, want 2", len(in))
	}
	s, ok := in[0].(tensor.Shape)
	if !ok || len(s) != 2 || s[1] != op.Image.Size() {
		return nil, fmt.Errorf("graph: augment: input of shape %v, want [batch, %d]", in[0], op.Image.Size())
	}
	return s.Clone(), nil
}

func (op *AugmentOp) Do(in ...G.Value) (G.Value, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("graph: augment: %d inputs, want 2", len(in))
	}
	x, ok := in[0].(*tensor.Dense)
	if !ok || x.Dims() != 2 {
		return nil, fmt.Errorf("graph: augment: input is %T, not a dense matrix", in[0])
	}
	step, err := stepOf(in[1])
	if err != nil {
		return nil, err
	}
	p := op.Params(x.Shape()[0])
	if math.IsNaN(p.TanHalf) {
		return nil, fmt.Errorf("graph: augment: rotate %v", op.Rotate)
	}
	if _, err := (ir.Launch{Op: ir.Augment, Ints: p.Ints(), Reals: p.Reals()}).AugmentParams(); err != nil {
		return nil, fmt.Errorf("graph: %w", err)
	}
	y := tensor.New(tensor.Of(x.Dtype()), tensor.WithShape(x.Shape().Clone()...))
	switch xs := x.Data().(type) {
	case []float32:
		augmentInto(y.Data().([]float32), xs, p, step)
	case []float64:
		augmentInto(y.Data().([]float64), xs, p, step)
	default:
		return nil, fmt.Errorf("graph: augment of %v values", x.Dtype())
	}
	return y, nil
}

// augmentInto sets y to x with each example moved by its transform at step: the arithmetic of
// ir.Augment.
func augmentInto[T float32 | float64](y, x []T, p ir.AugmentParams, step int64) {
	size := p.C * p.H * p.W
	var d, scratch []float64
	if p.Elastic() {
		d, scratch = make([]float64, 2*p.H*p.W), make([]float64, p.ElasticScratch())
	}
	for b := 0; b < p.Batch; b++ {
		if d != nil {
			p.ElasticField(d, scratch, step, b)
		}
		ir.AugmentElastic(y[b*size:(b+1)*size], x[b*size:(b+1)*size], p.C, p.H, p.W, p.Transform(step, b), d)
	}
}

func (op *AugmentOp) ReturnsPtr() bool     { return false }
func (op *AugmentOp) CallsExtern() bool    { return false }
func (op *AugmentOp) OverwritesInput() int { return -1 }
func (op *AugmentOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "augment(%d,%v,%v,%v,%v,%d,%v)", op.Shift, op.Rotate, op.Scale, op.Elastic, op.Sigma, op.Seed, op.Image)
}
func (op *AugmentOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}
func (op *AugmentOp) String() string { return "Augment{" + op.Augment.String() + "}" }

// DiffWRT: x is an input and the step a counter; neither has a gradient.
func (op *AugmentOp) DiffWRT(inputs int) []bool { return []bool{false, false} }

// SymDiff is never needed: nothing differentiates with respect to the images.
func (op *AugmentOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("graph: augment has no gradient: its input is the images")
}

// augment adds the model's augmentation to x [batch, inputs] in training; at evaluation (no
// gradients), or without augmentation, x is returned as it is.
func (net *Net) augment(x *G.Node) (*G.Node, error) {
	a := net.Model.Spec.Augment
	if !net.training || a == nil {
		return x, nil
	}
	in, ok := net.Model.Spec.ImageShape()
	if !ok {
		return nil, fmt.Errorf("%w: a %s model on vectors has no images to move", ErrAugment, Short(net.Model.Spec.Kind))
	}
	return G.ApplyOp(&AugmentOp{Augment: *a, Image: in}, x, net.stepNode())
}
