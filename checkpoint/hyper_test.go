package checkpoint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graphtrain/graphtrain/model"
)

// TestModelJSONFieldsChecked: a model.json whose solver or hyperparameters are out of range
// is refused, blaming the checkpoint: a step counter beyond 2^53, an unknown schedule, a
// negative batch, a val_split of 1, a negative rate.
func TestModelJSONFieldsChecked(t *testing.T) {
	m, err := model.NewMLP(4, 1)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := model.NewSolver("adam", 1e-3)
	if err := s.Init(m); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "ck")
	h := &Hyperparameters{Model: "mlp", Dataset: "mnist", Solver: "adam", LR: 1e-3, Epochs: 2, Batch: 8, ValSplit: 0.1, LRSchedule: "cosine"}
	if err := SaveCheckpoint(dir, m, s, Checkpoint{Epoch: 1, Hyper: h}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseModelJSON(raw); err != nil {
		t.Fatalf("the saved model.json: %v", err)
	}
	for _, c := range []struct{ from, to, want string }{
		{`"steps": 0`, `"steps": 9223372036854775807`, "steps"},
		{`"lr_schedule": "cosine"`, `"lr_schedule": "linear"`, "schedule"},
		{`"batch": 8`, `"batch": -8`, "negative"},
		{`"val_split": 0.1`, `"val_split": 1`, "val_split"},
		{`"lr": 0.001,
    "epochs"`, `"lr": -1,
    "epochs"`, "lr"},
	} {
		bad := strings.Replace(string(raw), c.from, c.to, 1)
		if bad == string(raw) {
			t.Fatalf("%s is not in model.json:\n%s", c.from, raw)
		}
		if _, err := ParseModelJSON([]byte(bad)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %s", c.to, err, c.want)
		}
	}
}

// TestRecipeFieldsChecked: adamw's weight decay, the warmup, the label smoothing and the
// one-cycle schedule survive a save and a load; out of range, each is refused, blaming the
// checkpoint; a weight decay on plain adam too.
func TestRecipeFieldsChecked(t *testing.T) {
	m, err := model.NewMLP(4, 1)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := model.NewSolver("adamw", 1e-3)
	s.WeightDecay = 0.05
	if err := s.Init(m); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "ck")
	h := &Hyperparameters{Model: "mlp", Dataset: "mnist", Solver: "adamw", LR: 1e-3, Epochs: 2, Batch: 8, ValSplit: 0.1,
		LRSchedule: "onecycle", Warmup: 30, LabelSmoothing: 0.1}
	if err := SaveCheckpoint(dir, m, s, Checkpoint{Epoch: 1, Hyper: h}); err != nil {
		t.Fatal(err)
	}
	_, s2, ck, err := LoadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s2.Kind != "adamw" || s2.WeightDecay != 0.05 || *ck.Hyper != *h {
		t.Errorf("loaded solver %s λ %v, hyperparameters %+v; saved adamw λ 0.05, %+v", s2.Kind, s2.WeightDecay, *ck.Hyper, *h)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ from, to, want string }{
		{`"weight_decay": 0.05`, `"weight_decay": -0.05`, "hold -0.05"},
		{`"weight_decay": 0.05`, `"weight_decay": 2`, "weight decay 2"},
		{`"kind": "adamw"`, `"kind": "adam"`, "only adamw"},
		{`"kind": "adamw"`, `"kind": "adamx"`, "must be adam, adamw"},
		{`"warmup": 30`, `"warmup": -1`, "negative"},
		{`"label_smoothing": 0.1`, `"label_smoothing": 1`, "label_smoothing"},
		{`"lr_schedule": "onecycle"`, `"lr_schedule": "twocycle"`, "onecycle"},
	} {
		bad := strings.Replace(string(raw), c.from, c.to, 1)
		if bad == string(raw) {
			t.Fatalf("%s is not in model.json:\n%s", c.from, raw)
		}
		if _, err := ParseModelJSON([]byte(bad)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %s", c.to, err, c.want)
		}
	}
}
