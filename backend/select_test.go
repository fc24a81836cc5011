package backend

import (
	"errors"
	"testing"

	"github.com/graphtrain/graphtrain/model"
)

// fake is a registered backend for Select's tests.
type fake struct {
	name string
	err  error
}

func (f fake) Name() string     { return f.name }
func (f fake) Available() error { return f.err }
func (f fake) Describe() string { return f.name }
func (f fake) NewTrainer(*model.Net, *model.Solver) (Trainer, error) {
	return nil, errors.New("fake")
}
func (f fake) NewPredictor(*model.Model, int) (Predictor, error) { return nil, errors.New("fake") }

func TestSelect(t *testing.T) {
	defer func(saved map[string]Backend) { backends = saved }(backends)
	backends = map[string]Backend{}
	Register(fake{name: "vm"})
	Register(fake{name: "cpu"})
	if b, note, err := Select("auto"); err != nil || b.Name() != "cpu" || note != "" {
		t.Errorf("auto without cuda: %v %q %v", b, note, err)
	}
	if _, _, err := Select("cuda"); !errors.Is(err, ErrNoGPU) {
		t.Errorf("cuda not compiled in: %v", err)
	}
	Register(fake{name: "cuda", err: errors.New("CUDA_ERROR_NO_DEVICE")})
	if b, note, err := Select(""); err != nil || b.Name() != "cpu" || note == "" {
		t.Errorf("auto with an unusable GPU: %v %q %v", b, note, err)
	}
	if _, _, err := Select("cuda"); !errors.Is(err, ErrNoGPU) {
		t.Errorf("cuda unusable: %v", err)
	}
	Register(fake{name: "cuda"})
	if b, _, err := Select("auto"); err != nil || b.Name() != "cuda" {
		t.Errorf("auto with a GPU: %v %v", b, err)
	}
	if _, _, err := Select("tpu"); !errors.Is(err, ErrDevice) {
		t.Errorf("tpu: %v", err)
	}
	if Fallback("auto") == nil || Fallback("cuda") != nil {
		t.Error("Fallback: the cpu backend for auto only")
	}
}
