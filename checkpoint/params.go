package checkpoint

import (
	"errors"
	"io/fs"
	"path/filepath"
	"slices"

	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/internal/safefile"
	"github.com/graphtrain/graphtrain/model"
)

// LoadParamsInto reads the parameters of the checkpoint in dir into m's own tensors, by
// name: for a model whose graph a checkpoint cannot rebuild (a user's graph,
// model.GraphKind), whose tensors are its graph's values. model.json must list exactly m's
// parameters, each with its tensor's shape; every file is checked (header, size, SHA-256,
// finite values) before any of m's tensors changes. The solver state is not read. Errors are
// *CheckpointError, naming the file and what is wrong.
func LoadParamsInto(dir string, m *model.Model) error {
	ck, err := readParamsJSON(dir)
	if err != nil {
		return err
	}
	byName, err := paramFilesOf(dir, ck, m)
	if err != nil {
		return err
	}
	vals := make([]*tensor.Dense, len(m.Params))
	for i, p := range m.Params {
		vals[i] = tensor.New(tensor.Of(p.T.Dtype()), tensor.WithShape(p.T.Shape().Clone()...))
		if err := loadInto(dir, byName[p.Name], vals[i]); err != nil {
			return err
		}
	}
	for i, p := range m.Params {
		if err := tensor.Copy(p.T, vals[i]); err != nil {
			return bad(dir, byName[p.Name].File, "cannot be copied into the parameter %s: %v", p.Name, err)
		}
	}
	return nil
}

// readParamsJSON reads and checks dir's model.json as ParseModelJSON does, any spec allowed
// (the parameters are matched by name and shape, not by the spec).
func readParamsJSON(dir string) (*Checkpoint, error) {
	if err := checkDir(dir); err != nil {
		return nil, err
	}
	raw, err := safefile.ReadFile(filepath.Join(dir, "model.json"), MaxModelJSONBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, bad(dir, "model.json", "is missing: %s is not a graphtrain checkpoint", dir)
	}
	if err != nil {
		return nil, fileErr(err)
	}
	ck, err := parseModelJSON(raw, func(model.Spec) error { return nil })
	if err != nil {
		return nil, bad(dir, "model.json", "%v", err)
	}
	return ck, nil
}

// paramFilesOf checks that ck lists exactly m's parameters, each with its shape, and that
// each one's file has that shape, without reading the data. It returns the entries by name.
func paramFilesOf(dir string, ck *Checkpoint, m *model.Model) (map[string]FileInfo, error) {
	byName := map[string]FileInfo{}
	for _, fi := range ck.Params {
		if m.Param(fi.Name) == nil {
			return nil, bad(dir, "model.json", "lists the parameter %s, which the graph has not: is it the checkpoint of another graph?", model.Short(fi.Name))
		}
		if _, dup := byName[fi.Name]; dup {
			return nil, bad(dir, "model.json", "lists the parameter %s twice", fi.Name)
		}
		byName[fi.Name] = fi
	}
	for _, p := range m.Params {
		fi, ok := byName[p.Name]
		if !ok {
			return nil, bad(dir, "model.json", "lists no parameter %s, which the graph has: is it the checkpoint of another graph?", p.Name)
		}
		if !slices.Equal(fi.Shape, p.T.Shape()) {
			return nil, bad(dir, "model.json", "gives %s the shape %s, the graph's is %s", p.Name, shapeString(fi.Shape), shapeString(p.T.Shape()))
		}
		if err := checkArrayFile(filepath.Join(dir, fi.File), fi.Shape); err != nil {
			return nil, err
		}
	}
	return byName, nil
}
