package model

import (
	"encoding/json"
	"errors"
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
