package model

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
)

// TestAugmentOnImagesOnly: the mlp, the cnn and a custom model on images take an
// augmentation, checked against their images' side; the XOR net and a custom model on
// vectors refuse it (ErrAugment); the spec keeps it through JSON, and Equal tells two apart.
func TestAugmentOnImagesOnly(t *testing.T) {
	a := &Augment{Shift: 2, Rotate: 10, Scale: 0.1, Seed: 7}
	mlp, _ := MLPSpec([]int{16})
	img, _ := CustomSpec("conv(2,3) relu dense(3)", Shape{C: 2, H: 5, W: 7})
	vec, _ := CustomSpec("dense(4) relu dense(3)", Shape{C: 9})
	xor, _ := SpecFor("xor", 2, true)
	for _, c := range []struct {
		spec Spec
		ok   bool
	}{{mlp, true}, {cnnSpec(), true}, {img, true}, {vec, false}, {xor, false}} {
		c.spec.Augment = a
		if err := c.spec.Check(); (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrAugment)) {
			t.Errorf("%s with %v: %v", c.spec.Kind, a, err)
		}
	}
	img.Augment = &Augment{Shift: 8}
	if err := img.Check(); !errors.Is(err, ErrAugment) {
		t.Errorf("a shift of 8 on 5x7 images: %v, want ErrAugment", err)
	}
	mlp.Augment = a
	raw, _ := json.Marshal(mlp)
	var back Spec
	if err := json.Unmarshal(raw, &back); err != nil || !back.Equal(mlp) {
		t.Errorf("%s read back as %+v (%v)", raw, back, err)
	}
	back.Augment = &Augment{Shift: 2, Rotate: 10, Scale: 0.1, Seed: 8}
	if back.Equal(mlp) {
		t.Errorf("specs with augmentations of different seeds are Equal")
	}
	// Built without gradients (evaluation, prediction), a net has no augmentation and no
	// step counter.
	m, err := NewModel(mlp, 1)
	if err != nil {
		t.Fatal(err)
	}
	if net, err := m.Build(4, false); err != nil || net.Step != nil {
		t.Errorf("an evaluation net of an augmented mlp: step %v, %v", net.Step, err)
	}
	if net, err := m.Build(4, true); err != nil || net.Step == nil {
		t.Errorf("a training net of an augmented mlp has no step counter (%v)", err)
	}
}

// TestAugmentElastic: an elastic distortion is kept through JSON as "elastic" and "sigma"; a
// model.json written before it (no such keys) reads as none, checks, and writes the flag it
// was given; alpha beyond 4 times the image's side, sigma outside [0.5, 10] and sigma without
// elastic are refused (ErrAugment); the op's launch parameters carry alpha, the radius ⌈3σ⌉
// and the decay exp(−1/(2σ²)).
func TestAugmentElastic(t *testing.T) {
	mlp, _ := MLPSpec([]int{16})
	mlp.Augment = &Augment{Shift: 1, Elastic: 34, Sigma: 4, Seed: 2}
	raw, _ := json.Marshal(mlp.Augment)
	if string(raw) != `{"shift":1,"elastic":34,"sigma":4,"seed":2}` {
		t.Errorf("written as %s", raw)
	}
	var old Augment
	if err := json.Unmarshal([]byte(`{"shift":2,"rotate":10,"scale":0.1,"seed":3}`), &old); err != nil || old.Elastic != 0 || old.Sigma != 0 {
		t.Fatalf("an older augmentation reads as %+v, %v", old, err)
	}
	if err := old.Check(Shape{C: 1, H: 28, W: 28}); err != nil || old.String() != "shift=2,rotate=10,scale=0.1" {
		t.Errorf("an older augmentation: %q, %v", old.String(), err)
	}
	if err := mlp.Check(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []Augment{{Elastic: 112.5, Sigma: 4}, {Elastic: 34, Sigma: 0.4}, {Elastic: 34, Sigma: 10.5}, {Elastic: 34}, {Sigma: 4}, {Elastic: -1, Sigma: 4}} {
		mlp.Augment = &bad
		if err := mlp.Check(); !errors.Is(err, ErrAugment) {
			t.Errorf("%+v on 28x28 images: %v, want ErrAugment", bad, err)
		}
	}
	op := &AugmentOp{Augment: Augment{Elastic: 34, Sigma: 4}, Image: Shape{C: 1, H: 28, W: 28}}
	if p := op.Params(8); p.Alpha != 34 || p.Radius != 12 || p.Decay != math.Exp(-1.0/32) {
		t.Errorf("launch parameters %+v", p)
	}
}
