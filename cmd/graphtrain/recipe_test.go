package main

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// recipeOpts parses train mnist's args as run does, then fills the recipe.
func recipeOpts(t *testing.T, args ...string) *trainMNISTOpts {
	t.Helper()
	fs := pflag.NewFlagSet("train mnist", pflag.ContinueOnError)
	o := trainMNISTFlags(fs).(*trainMNISTOpts)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	if err := checkTrainMNISTFlags(fs, o); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return o
}

// TestRecipeFillsWhatIsLeftOut checks that the recipe fills only the flags left out, and
// that what depends on a given flag follows it.
func TestRecipeFillsWhatIsLeftOut(t *testing.T) {
	cnn := recipeFor("mnist", "cnn")
	o := recipeOpts(t, "--model", "cnn")
	if o.solver != cnn.solver || o.lr != cnn.lr || o.weightDecay != cnn.weightDecay || o.schedule != cnn.schedule ||
		o.smoothing != cnn.smoothing || o.augment != cnn.augment {
		t.Errorf("--model cnn: %+v, want the recipe %s", *o, cnn)
	}
	if cnn.solver != "adamw" {
		t.Fatalf("the cnn's recipe is %s: this test wants one with adamw", cnn)
	}
	o = recipeOpts(t, "--model", "cnn", "--solver", "sgd", "--label-smoothing", "0", "--augment", "")
	if o.lr != 0 || o.smoothing != 0 || o.augment != "" || o.schedule != cnn.schedule {
		t.Errorf("--solver sgd: lr %v (want 0: sgd's default later), smoothing %v, augment %q, schedule %s", o.lr, o.smoothing, o.augment, o.schedule)
	}
	if o.weightDecay != 0.01 {
		t.Errorf("--solver sgd: weight decay %v, the recipe's adamw value leaked", o.weightDecay)
	}
	o = recipeOpts(t, "--model", "cnn", "--lr", "0.02", "--weight-decay", "0.2")
	if o.lr != 0.02 || o.weightDecay != 0.2 || o.solver != "adamw" {
		t.Errorf("--lr 0.02 --weight-decay 0.2: %v %v %s", o.lr, o.weightDecay, o.solver)
	}
	if o = recipeOpts(t, "--model", "cnn", "--warmup", "100"); o.schedule != "constant" {
		t.Errorf("--warmup 100 on a onecycle recipe: schedule %s, want constant", o.schedule)
	}
	if o = recipeOpts(t, "--arch", "dense(10)"); o.solver != "adam" || o.lr != 1e-3 || o.schedule != "constant" || o.augment != "" {
		t.Errorf("--arch: %+v, want adam 1e-3 constant", *o)
	}
	fashion := recipeFor("fashion", "cnn")
	if o = recipeOpts(t, "--model", "cnn", "--dataset", "fashion"); o.schedule != fashion.schedule || o.lr != fashion.lr || o.augment != fashion.augment {
		t.Errorf("--dataset fashion --model cnn: %+v, want %s", *o, fashion)
	}
	if o = recipeOpts(t, "--resume", "somewhere"); o.solver != "" || o.schedule != "constant" || o.smoothing != 0 {
		t.Errorf("--resume: the recipe filled %q %q %v; the checkpoint's must", o.solver, o.schedule, o.smoothing)
	}
}

// TestRecipesValidAndListed checks every recipe against train mnist's own checks and that
// --help lists each as flags.
func TestRecipesValidAndListed(t *testing.T) {
	help := commandHelp(commands["train mnist"])
	for ds, kinds := range recipes {
		for kind, r := range kinds {
			if ds == "own" { // needs a --data-dir of its own: the same recipe as --arch on mnist
				continue
			}
			args := append(strings.Fields(r.String()), "--dataset", ds)
			if kind != customKind {
				args = append(args, "--model", kind)
			} else {
				args = append(args, "--arch", "dense(10)")
			}
			if r.augment == "" {
				args = append(args, "--augment", "")
			}
			recipeOpts(t, args...) // fails on a recipe train mnist refuses
			if kind != customKind && ds != "own" && !strings.Contains(help, kind+" on "+ds+": "+r.String()) {
				t.Errorf("train mnist --help does not list %s on %s: %s\n%s", kind, ds, r, help)
			}
		}
	}
}
