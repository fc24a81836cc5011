package checkpoint

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/model"
)

// freshCopy is a model with m's parameter names and shapes, its values zero.
func freshCopy(m *model.Model) *model.Model {
	c := &model.Model{Spec: m.Spec}
	for _, p := range m.Params {
		c.Params = append(c.Params, &model.Param{Name: p.Name, T: tensor.New(tensor.Of(p.T.Dtype()), tensor.WithShape(p.T.Shape().Clone()...))})
	}
	return c
}

func TestLoadParamsInto(t *testing.T) {
	m, err := model.NewXOR(3, true, 5)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "ck")
	if err := SaveCheckpoint(dir, m, nil, Checkpoint{}); err != nil {
		t.Fatal(err)
	}
	c := freshCopy(m)
	if err := LoadParamsInto(dir, c); err != nil {
		t.Fatal(err)
	}
	for i, p := range m.Params {
		if !reflect.DeepEqual(p.T.Data(), c.Params[i].T.Data()) {
			t.Errorf("%s: loaded %v, saved %v", p.Name, c.Params[i].T.Data(), p.T.Data())
		}
	}
	fewer := freshCopy(m)
	fewer.Params = fewer.Params[1:]
	err = LoadParamsInto(dir, fewer)
	if !errors.Is(err, ErrCheckpoint) || !strings.Contains(err.Error(), "lists the parameter "+m.Params[0].Name+", which the graph has not") {
		t.Errorf("a checkpoint with a parameter more: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, m.Params[1].Name+".npy"), []byte("not npy"), 0o644); err != nil {
		t.Fatal(err)
	}
	c = freshCopy(m)
	if err := LoadParamsInto(dir, c); !errors.Is(err, ErrCheckpoint) || !strings.Contains(err.Error(), m.Params[1].Name+".npy") {
		t.Errorf("a broken file: %v: want an error naming it", err)
	}
	if !reflect.DeepEqual(c.Params[0].T.Data(), freshCopy(m).Params[0].T.Data()) {
		t.Errorf("a refused load changed %s", m.Params[0].Name)
	}
}

func TestLoadCheckpointRefusesAGraph(t *testing.T) {
	m, err := model.NewXOR(3, true, 5)
	if err != nil {
		t.Fatal(err)
	}
	m.Spec = model.Spec{Kind: model.GraphKind, Inputs: 2, Outputs: 1, Dtype: "float64"}
	dir := filepath.Join(t.TempDir(), "ck")
	if err := SaveCheckpoint(dir, m, nil, Checkpoint{}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := LoadCheckpoint(dir); !errors.Is(err, ErrCheckpoint) || !strings.Contains(err.Error(), "Graph.Load") {
		t.Errorf("%v: want a checkpoint error pointing at Graph.Load", err)
	}
	if err := LoadParamsInto(dir, freshCopy(m)); err != nil {
		t.Errorf("LoadParamsInto a graph's checkpoint: %v", err)
	}
}
