package main

// train mnist --augment: the flag read, checked against the model's images, and reconciled
// with --resume's checkpoint, which records it in its model spec.

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/model"
)

// augmentHelp is --augment's help.
const augmentHelp = "move each training image by a random transform of its own at every step (never at evaluation), drawn from --seed, the step and the image: shift=N whole pixels at most along each axis, rotate=D degrees at most (0 to 90), scale=F of its size at most (below 1), elastic=A an elastic distortion (Simard et al. 2003): a random field, each component uniform in [-1, 1] at every pixel, smoothed by a Gaussian of sigma=S pixels (0.5 to 10, default 4), times A pixels (at most 4 times the image's side; Simard's: elastic=34,sigma=4); e.g. shift=2,rotate=10,scale=0.1, a key left out 0; for the mlp, the cnn and --arch models on images; recorded in the checkpoint"

// parseAugment reads --augment's list of key=value pairs; "" is none (nil). An elastic
// distortion without sigma takes model.DefaultElasticSigma.
func parseAugment(text string) (*model.Augment, error) {
	if text == "" {
		return nil, nil
	}
	a, seen := &model.Augment{}, map[string]bool{}
	for _, kv := range strings.Split(text, ",") {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		switch {
		case !ok || err != nil || math.IsNaN(x) || math.IsInf(x, 0):
			return nil, usagef("--augment %q: %q is not key=number; give shift=N,rotate=D,scale=F,elastic=A,sigma=S", text, kv)
		case seen[k]:
			return nil, usagef("--augment %q: %s given twice; give each key once", text, k)
		case x < 0:
			return nil, usagef("--augment %q: %s=%v is negative; give 0 or more", text, k, x)
		}
		seen[k] = true
		switch k {
		case "shift":
			if x != math.Trunc(x) || x > 1<<20 {
				return nil, usagef("--augment %q: shift=%v is not a whole number of pixels; give shift=N", text, x)
			}
			a.Shift = int(x)
		case "rotate":
			a.Rotate = x
		case "scale":
			a.Scale = x
		case "elastic":
			a.Elastic = x
		case "sigma":
			a.Sigma = x
		default:
			return nil, usagef("--augment %q: unknown key %q; the keys are shift, rotate, scale, elastic and sigma", text, k)
		}
	}
	switch {
	case seen["sigma"] && a.Elastic == 0:
		return nil, usagef("--augment %q: sigma=%v without elastic: sigma smooths the elastic field; give elastic=A too, or leave sigma out", text, a.Sigma)
	case a.Elastic > 0 && !seen["sigma"]:
		a.Sigma = model.DefaultElasticSigma
	}
	if err := a.Check(model.Shape{C: 1, H: 1 << 20, W: 1 << 20}); err != nil { // the image's side: once the model is known
		return nil, augmentError(text, err)
	}
	return a, nil
}

// augmentSpec sets spec's augmentation from --augment, keyed by --seed, and checks it against
// the model's images.
func augmentSpec(o *trainMNISTOpts, spec *model.Spec) error {
	a, err := parseAugment(o.augment)
	if err != nil || a == nil {
		return err
	}
	a.Seed = o.seed
	spec.Augment = a
	if err := spec.Check(); err != nil {
		return augmentError(o.augment, err)
	}
	return nil
}

// augmentError is a refused augmentation as the CLI says it.
func augmentError(text string, err error) error {
	if !errors.Is(err, model.ErrAugment) {
		return err
	}
	why, advice := strings.TrimPrefix(err.Error(), model.ErrAugment.Error()+": "), "give a smaller value"
	switch {
	case strings.Contains(why, "vectors"):
		advice = "leave out --augment"
	case strings.HasPrefix(why, "sigma"):
		advice = fmt.Sprintf("give sigma=%v to %v", ir.MinElasticSigma, ir.MaxElasticSigma)
	}
	return usagef("--augment %q: %s; %s", text, why, advice)
}

// resumeAugment takes the checkpoint's augmentation unless --augment is given; a different
// one is refused without --force, and replaces it with --force.
func resumeAugment(fs *pflag.FlagSet, o *trainMNISTOpts, m *model.Model) error {
	was := m.Spec.Augment
	if !fs.Changed("augment") {
		o.augment = ""
		if was != nil {
			o.augment = was.String()
		}
		return nil
	}
	a, err := parseAugment(o.augment)
	if err != nil {
		return err
	}
	if a != nil {
		a.Seed = o.seed
		if was != nil {
			a.Seed = was.Seed
		}
	}
	if !a.Equal(was) && !o.force {
		return usagef("--augment %q: the checkpoint in --resume %s was trained with --augment %s, and a resumed run continues exactly as an uninterrupted one only with the same; leave --augment out, or add --force", o.augment, o.resume, was.String())
	}
	spec := m.Spec
	spec.Augment = a
	if err := spec.Check(); err != nil {
		return augmentError(o.augment, err)
	}
	m.Spec.Augment = a
	return nil
}
