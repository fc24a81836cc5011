package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRecipeFlagsRefused: a bad --weight-decay, --label-smoothing, --warmup or --lr-schedule
// is refused before anything is read, with one line that names the flag and what to do.
func TestRecipeFlagsRefused(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--solver", "adamw", "--weight-decay", "-0.1"}, "--weight-decay -0.1: must be in [0, 1]"},
		{[]string{"--solver", "adamw", "--weight-decay", "NaN"}, "--weight-decay NaN: must be in [0, 1]"},
		{[]string{"--solver", "adamw", "--weight-decay", "1.5"}, "--weight-decay 1.5: must be in [0, 1]"},
		{[]string{"--solver", "adam", "--weight-decay", "0.1"}, "only --solver adamw decays the weights; add --solver adamw"},
		{[]string{"--solver", "adamx"}, "--solver \"adamx\": must be adam, adamw, sgd or momentum"},
		{[]string{"--label-smoothing", "1"}, "--label-smoothing 1: must be in [0, 1)"},
		{[]string{"--label-smoothing", "-0.1"}, "--label-smoothing -0.1: must be in [0, 1)"},
		{[]string{"--warmup", "-5"}, "--warmup -5: must be 0 (none) or more steps"},
		{[]string{"--warmup", "5", "--lr-schedule", "onecycle"}, "onecycle rises from --lr/25 on its own; leave out --warmup"},
		{[]string{"--lr-schedule", "linear"}, "--lr-schedule \"linear\": must be constant, cosine or onecycle"},
	} {
		r := runBin(t, dir, "", append([]string{"train", "mnist", "--out", "o"}, c.args...)...)
		line := strings.TrimSpace(r.stderr)
		if r.code != 2 || strings.Contains(line, "\n") || !strings.HasPrefix(line, "graphtrain: ") || !strings.Contains(line, c.want) {
			t.Errorf("%v: exit %d, %q; want exit 2 and one line with %q", c.args, r.code, r.stderr, c.want)
		}
	}
}

// TestRecipeResumesExactly: AdamW, label smoothing and one-cycle for 2 epochs in one run and
// 1 + 1 with --resume (which takes the recipe from the checkpoint; the first stopped by
// --target-accuracy, so that its schedule spans the same 2 epochs) give the same parameters
// and solver state, bit for bit; model.json records the recipe; a different
// --label-smoothing on resume is refused without --force. Warmup with cosine trains too, and
// the recipe changes the weights.
func TestRecipeResumesExactly(t *testing.T) {
	dir := t.TempDir()
	common := []string{"train", "mnist", "--model", "mlp", "--hidden", "16", "--limit", "1500", "-q", "--device", "cpu"}
	recipe := append(append([]string(nil), common...), "--solver", "adamw", "--weight-decay", "0.05", "--label-smoothing", "0.1", "--lr-schedule", "onecycle", "--lr", "0.003")
	for _, run := range [][]string{
		append(recipe, "--epochs", "2", "--out", "a"),
		// Stopped by its target at the end of the first epoch: the schedule spans --epochs 2.
		append(recipe, "--epochs", "2", "--out", "b", "--target-accuracy", "0.05"),
		{"train", "mnist", "--resume", "b", "--epochs", "2", "-q", "--device", "cpu"},
		append(common, "--epochs", "2", "--out", "c", "--warmup", "20", "--lr-schedule", "cosine"),
	} {
		if r := runBin(t, dir, "", run...); r.code != 0 {
			t.Fatalf("%v: exit %d\n%s", run, r.code, r.stderr)
		}
	}
	sameLastFiles(t, dir, "a", "b", 12) // 4 parameters, Adam's m and v for each
	a0, _ := os.ReadFile(filepath.Join(dir, "a", "last", "weights0.npy"))
	c0, _ := os.ReadFile(filepath.Join(dir, "c", "last", "weights0.npy"))
	if bytes.Equal(a0, c0) {
		t.Errorf("the recipe changed nothing")
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "b", "last", "model.json"))
	var ck struct {
		Solver map[string]any `json:"solver"`
		Hyper  map[string]any `json:"hyperparameters"`
	}
	if err := json.Unmarshal(raw, &ck); err != nil {
		t.Fatal(err)
	}
	if ck.Solver["kind"] != "adamw" || ck.Solver["weight_decay"] != 0.05 || ck.Hyper["label_smoothing"] != 0.1 || ck.Hyper["lr_schedule"] != "onecycle" {
		t.Errorf("model.json records solver %v, hyperparameters %v", ck.Solver, ck.Hyper)
	}
	r := runBin(t, dir, "", "train", "mnist", "--resume", "b", "--epochs", "3", "--label-smoothing", "0.2")
	if r.code != 2 || !strings.Contains(r.stderr, "--label-smoothing 0.2: the checkpoint in --resume b was trained with --label-smoothing 0.1") {
		t.Errorf("resume with another --label-smoothing: exit %d, %s", r.code, r.stderr)
	}
}
