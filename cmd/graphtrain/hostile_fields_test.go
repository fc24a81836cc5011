package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestHostileCheckpointFields checks model.json fields that were read without a check.
func TestHostileCheckpointFields(t *testing.T) {
	root := t.TempDir()
	good := goodCheckpoint(t, root)
	hyper := func(m map[string]any) map[string]any { return m["hyperparameters"].(map[string]any) }
	solver := func(m map[string]any) map[string]any { return m["solver"].(map[string]any) }
	cases := []struct {
		name string
		edit func(m map[string]any)
		want string
	}{
		{"beta1 1", func(m map[string]any) { solver(m)["beta1"] = 1 }, "beta1 1, beta2 0.999 and momentum 0, where each must be below 1"},
		{"beta2 2", func(m map[string]any) { solver(m)["beta2"] = 2 }, "each must be below 1"},
		{"epoch 1e9", func(m map[string]any) { m["epoch"] = 1000000000 }, "epoch 1000000000: more than the 10000000 epochs"},
		{"epoch 2^63-1", func(m map[string]any) { m["epoch"] = int64(1<<63 - 1) }, "epochs any run trains"},
		{"batch 0", func(m map[string]any) { hyper(m)["batch"] = 0 }, "hyperparameter batch 0: a model's training run records a batch of 1 or more"},
		{"batch 1e9", func(m map[string]any) { hyper(m)["batch"] = 1000000000 }, "hyperparameters batch 1000000000 and epochs 2: at most"},
		{"epochs 1e9", func(m map[string]any) { hyper(m)["epochs"] = 1000000000 }, "at most 1048576 and 10000000"},
		{"solver rmsprop", func(m map[string]any) { hyper(m)["solver"] = "rmsprop" }, `hyperparameter solver "rmsprop"`},
		{"model cnn for an mlp", func(m map[string]any) { hyper(m)["model"] = "cnn" }, `hyperparameter model "cnn": the model is a mlp`},
	}
	for i, tc := range cases {
		dir := filepath.Join(root, fmt.Sprintf("c%02d", i))
		copyDir(t, good, dir)
		editJSON(t, dir, tc.edit)
		r, rss := hostileRun(t, root, "eval", "mnist", "--weights", dir)
		checkRefused(t, tc.name, r, rss, tc.want)
		if !strings.Contains(r.stderr, "model.json") {
			t.Errorf("%s: the message does not blame model.json: %s", tc.name, r.stderr)
		}
	}
}
