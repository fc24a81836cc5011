package main

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/graphtrain/graphtrain/model"
)

// recipe is how train mnist trains a model on a data set when the flags leave it out: each
// field fills its flag in a fresh run. The named models' recipes were chosen by seed sweeps
// (README.md, "Default recipes"; docs/DESIGN.md for how): tuned by validation accuracy on
// seeds other than those README reports, and reported on seeds 1 to 5.
type recipe struct {
	epochs      int
	solver      string
	lr          float64
	weightDecay float64 // adamw's λ
	schedule    string
	smoothing   float64
	augment     string // --augment's list
}

// plainRecipe is a network of your own's: Adam at its default rate, constant, nothing added.
func plainRecipe(epochs int) recipe {
	return recipe{epochs: epochs, solver: "adam", lr: model.DefaultLR["adam"], weightDecay: model.DefaultWeightDecay, schedule: "constant"}
}

// recipes are the default recipes by data set, then model kind (customKind: --arch's).
var recipes = map[string]map[string]recipe{
	"mnist": {
		"mlp":      {epochs: 40, solver: "adamw", lr: 0.003, weightDecay: 0.05, schedule: "onecycle", smoothing: 0.1, augment: "shift=1"},
		"cnn":      {epochs: 20, solver: "adamw", lr: 0.005, weightDecay: 0.05, schedule: "onecycle", smoothing: 0.1, augment: "shift=2"},
		customKind: plainRecipe(10),
	},
	"fashion": {
		"mlp":      {epochs: 40, solver: "adamw", lr: 0.003, weightDecay: 0.05, schedule: "onecycle", smoothing: 0.1},
		"cnn":      {epochs: 25, solver: "adamw", lr: 0.005, weightDecay: 0.05, schedule: "onecycle", smoothing: 0.1, augment: "shift=1"},
		customKind: plainRecipe(20),
	},
	"own": {customKind: plainRecipe(10)},
}

// recipeFor is the recipe of kind on dataset; a kind without one of its own (a checkpoint's
// older kind) takes --arch's.
func recipeFor(dataset, kind string) recipe {
	r, ok := recipes[dataset][kind]
	if !ok {
		r = recipes[dataset][customKind]
	}
	if r.epochs == 0 {
		r = plainRecipe(10)
	}
	return r
}

// applyRecipe fills the recipe flags a fresh run leaves out from its model's recipe. A flag
// given keeps its value, and what depends on it follows: a --solver other than the recipe's
// takes that solver's default rate and no weight decay of the recipe's; --warmup without
// --lr-schedule trains at a constant rate (onecycle has its own rise). --epochs is filled
// once the model is known (newTrainJob); with --resume the checkpoint knows the rest
// (takeResumedHyper).
func applyRecipe(fs *pflag.FlagSet, o *trainMNISTOpts) {
	if o.resume != "" {
		if !fs.Changed("lr-schedule") {
			o.schedule = "constant" // unless the checkpoint has one (takeResumedHyper)
		}
		return
	}
	r := recipeFor(o.dataset, o.model)
	if !fs.Changed("solver") {
		o.solver = r.solver
	}
	if o.lr == 0 && o.solver == r.solver {
		o.lr = r.lr
	}
	if !fs.Changed("weight-decay") && o.solver == r.solver {
		o.weightDecay = r.weightDecay
	}
	if !fs.Changed("lr-schedule") {
		o.schedule = r.schedule
		if fs.Changed("warmup") && o.warmup > 0 && r.schedule == "onecycle" {
			o.schedule = "constant"
		}
	}
	if !fs.Changed("label-smoothing") {
		o.smoothing = r.smoothing
	}
	if !fs.Changed("augment") {
		o.augment = r.augment
	}
}

// String is the recipe as train mnist's flags.
func (r recipe) String() string {
	s := fmt.Sprintf("--epochs %d --solver %s --lr %g", r.epochs, r.solver, r.lr)
	if r.solver == "adamw" {
		s += fmt.Sprintf(" --weight-decay %g", r.weightDecay)
	}
	if r.schedule != "constant" {
		s += " --lr-schedule " + r.schedule
	}
	if r.smoothing > 0 {
		s += fmt.Sprintf(" --label-smoothing %g", r.smoothing)
	}
	if r.augment != "" {
		s += " --augment " + r.augment
	}
	return s
}

// recipesHelp lists the named models' recipes for train mnist --help.
func recipesHelp() string {
	var b strings.Builder
	for _, ds := range []string{"mnist", "fashion"} {
		for _, kind := range mnistKinds() {
			fmt.Fprintf(&b, "\n  %s on %s: %s", kind, ds, recipeFor(ds, kind))
		}
	}
	fmt.Fprintf(&b, "\n  --arch: %s (with --dataset fashion --epochs %d)", recipeFor("mnist", customKind), recipeFor("fashion", customKind).epochs)
	return b.String()
}

// recipeText is the solver and the schedule as a run's first line shows them: "adam lr
// 0.001", "adamw lr 0.003 weight decay 0.05, onecycle, label smoothing 0.1".
func recipeText(s *model.Solver, o *trainMNISTOpts) string {
	t := fmt.Sprintf("%s lr %g", s.Kind, s.LR)
	if s.Kind == "adamw" {
		t += fmt.Sprintf(" weight decay %g", s.WeightDecay)
	}
	if o.schedule != "" && o.schedule != "constant" {
		t += ", " + o.schedule
	}
	if o.warmup > 0 {
		t += fmt.Sprintf(", warmup %d steps", o.warmup)
	}
	if o.smoothing > 0 {
		t += fmt.Sprintf(", label smoothing %g", o.smoothing)
	}
	return t
}
