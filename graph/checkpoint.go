package graph

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gorgonia.org/tensor"
)

// A checkpoint is a directory:
//
//	model.json       what the model is (Spec), how it was trained, and a SHA-256 of every file
//	<param>.npy      one numpy array per parameter: weights0.npy, weights1.npy, ...
//	solver.<slot>.<param>.npy
//	                 the solver's state (Adam's m and v, momentum's velocity), for --resume
//
// Every file is written atomically (temporary file, then rename) and model.json last, so a
// crash leaves the previous checkpoint's model.json, whose checksums then tell which files
// are not its own. A directory holding only weights0.npy (2xH) and weights1.npy (Hx1), as the
// original numpy train.py wrote them, loads as the bias-free sigmoid XOR net.

// CheckpointFormat names the format in model.json.
const CheckpointFormat = "graphtrain-checkpoint-1"

// ErrCheckpoint is wrapped by every error about a checkpoint that cannot be loaded.
var ErrCheckpoint = errors.New("graph: bad checkpoint")

// Checkpoint is the content of model.json.
type Checkpoint struct {
	Format    string             `json:"format"`
	Version   string             `json:"graphtrain_version"`
	Model     Spec               `json:"model"`
	Params    []FileInfo         `json:"params"`
	Solver    *Solver            `json:"solver,omitempty"`
	State     []FileInfo         `json:"solver_state,omitempty"`
	Epoch     int                `json:"epoch"`
	Seed      int64              `json:"seed"`
	Backend   string             `json:"backend,omitempty"`
	Hyper     map[string]any     `json:"hyperparameters,omitempty"`
	Metrics   map[string]float64 `json:"metrics,omitempty"`
	CreatedBy string             `json:"created_by,omitempty"`
}

// FileInfo describes one array file of a checkpoint.
type FileInfo struct {
	Name   string `json:"name"`
	File   string `json:"file"`
	Shape  []int  `json:"shape"`
	SHA256 string `json:"sha256"`
}

// Version is graphtrain's version, recorded in checkpoints; the CLI sets it at start.
var Version = "dev"

// SaveCheckpoint writes m (and the solver's state when s is not nil) into dir, creating it.
// info carries the rest of model.json; its Model, Params, Solver and State are filled here.
func SaveCheckpoint(dir string, m *Model, s *Solver, info Checkpoint) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("graph: save checkpoint: %w", err)
	}
	info.Format, info.Version, info.Model = CheckpointFormat, Version, m.Spec
	info.Params, info.State, info.Solver = nil, nil, nil
	write := func(name, file string, t *tensor.Dense) (FileInfo, error) {
		h := sha256.New()
		path := filepath.Join(dir, file)
		err := WriteFileAtomic(path, func(w io.Writer) error { return WriteNPY(io.MultiWriter(w, h), ArrayOf(t)) })
		return FileInfo{Name: name, File: file, Shape: append([]int(nil), t.Shape()...), SHA256: hex.EncodeToString(h.Sum(nil))}, err
	}
	for _, p := range m.Params {
		fi, err := write(p.Name, p.Name+".npy", p.T)
		if err != nil {
			return err
		}
		info.Params = append(info.Params, fi)
	}
	if s != nil {
		sc := *s
		info.Solver = &sc
		for _, slot := range s.Slots() {
			for _, p := range m.Params {
				key := slot + "/" + p.Name
				t, ok := s.State[key]
				if !ok {
					continue
				}
				fi, err := write(key, "solver."+slot+"."+p.Name+".npy", t)
				if err != nil {
					return err
				}
				info.State = append(info.State, fi)
			}
		}
	}
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return fmt.Errorf("graph: save checkpoint: %w", err)
	}
	return WriteFileAtomic(filepath.Join(dir, "model.json"), func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}

// constructors make a model of each kind from its Spec, with fresh parameters.
var constructors = map[string]func(s Spec, seed int64) (*Model, error){
	"xor": func(s Spec, seed int64) (*Model, error) { return NewXOR(s.Hidden, s.Bias, seed) },
}

// NewModel makes a model from spec with freshly initialised parameters.
func NewModel(spec Spec, seed int64) (*Model, error) {
	c, ok := constructors[spec.Kind]
	if !ok {
		return nil, fmt.Errorf("graph: unknown model kind %q", spec.Kind)
	}
	m, err := c(spec, seed)
	if err != nil {
		return nil, err
	}
	if m.Spec != spec {
		return nil, fmt.Errorf("graph: model spec %+v is not one graphtrain builds (closest: %+v)", spec, m.Spec)
	}
	return m, nil
}

// LoadCheckpoint reads the checkpoint in dir. The solver is nil when the checkpoint has none.
func LoadCheckpoint(dir string) (*Model, *Solver, *Checkpoint, error) {
	st, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, nil, fmt.Errorf("%w: %s: no such directory", ErrCheckpoint, dir)
		}
		return nil, nil, nil, fmt.Errorf("%w: %v", ErrCheckpoint, err)
	}
	if !st.IsDir() {
		return nil, nil, nil, fmt.Errorf("%w: %s is a file, not a checkpoint directory", ErrCheckpoint, dir)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "model.json"))
	if errors.Is(err, fs.ErrNotExist) {
		m, err := loadNumpyXOR(dir)
		if err != nil {
			return nil, nil, nil, err
		}
		return m, nil, &Checkpoint{Format: "numpy train.py", Model: m.Spec}, nil
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %v", ErrCheckpoint, err)
	}
	var ck Checkpoint
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ck); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %s: not a graphtrain model.json: %v", ErrCheckpoint, filepath.Join(dir, "model.json"), err)
	}
	if ck.Format != CheckpointFormat {
		return nil, nil, nil, fmt.Errorf("%w: %s: format %q, want %q", ErrCheckpoint, filepath.Join(dir, "model.json"), ck.Format, CheckpointFormat)
	}
	m, err := NewModel(ck.Model, 0)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %s: %v", ErrCheckpoint, filepath.Join(dir, "model.json"), err)
	}
	byName := map[string]FileInfo{}
	for _, fi := range ck.Params {
		byName[fi.Name] = fi
	}
	for _, p := range m.Params {
		fi, ok := byName[p.Name]
		if !ok {
			return nil, nil, nil, fmt.Errorf("%w: %s lists no parameter %s", ErrCheckpoint, filepath.Join(dir, "model.json"), p.Name)
		}
		if err := loadInto(dir, fi, p.T); err != nil {
			return nil, nil, nil, err
		}
	}
	var s *Solver
	if ck.Solver != nil {
		s = ck.Solver
		s.State = map[string]*tensor.Dense{}
		for _, fi := range ck.State {
			slot, name, _ := strings.Cut(fi.Name, "/")
			p := m.Param(name)
			if p == nil {
				return nil, nil, nil, fmt.Errorf("%w: solver state %s is for no parameter of the model", ErrCheckpoint, fi.Name)
			}
			t := tensor.New(tensor.Of(p.T.Dtype()), tensor.WithShape(p.T.Shape().Clone()...))
			if err := loadInto(dir, fi, t); err != nil {
				return nil, nil, nil, err
			}
			s.State[slot+"/"+name] = t
		}
	}
	return m, s, &ck, nil
}

// loadInto reads the file fi into t, checking its checksum, shape and type.
func loadInto(dir string, fi FileInfo, t *tensor.Dense) error {
	if fi.File != filepath.Base(fi.File) || strings.HasPrefix(fi.File, ".") {
		return fmt.Errorf("%w: file name %q in model.json is not a plain file name", ErrCheckpoint, fi.File)
	}
	path := filepath.Join(dir, fi.File)
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCheckpoint, err)
	}
	sum := sha256.Sum256(raw)
	if fi.SHA256 != "" && hex.EncodeToString(sum[:]) != fi.SHA256 {
		return fmt.Errorf("%w: %s does not match the checksum in model.json (a crash during a save, or an edited file?)", ErrCheckpoint, path)
	}
	a, err := ReadNPY(strings.NewReader(string(raw)))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return copyArray(path, a, t)
}

// copyArray copies a into t, which fixes the shape and type (float32 and float64 convert).
func copyArray(path string, a *Array, t *tensor.Dense) error {
	if !slices.Equal(a.Shape, t.Shape()) {
		return fmt.Errorf("%w: %s has shape %v, the model needs %v", ErrCheckpoint, path, shapeString(a.Shape), shapeString(t.Shape()))
	}
	switch dst := t.Data().(type) {
	case []float64:
		switch src := a.Data.(type) {
		case []float64:
			copy(dst, src)
		case []float32:
			for i, v := range src {
				dst[i] = float64(v)
			}
		}
	case []float32:
		switch src := a.Data.(type) {
		case []float32:
			copy(dst, src)
		case []float64:
			for i, v := range src {
				dst[i] = float32(v)
			}
		}
	}
	return nil
}

// shapeString writes a shape as numpy does: (2, 4), (4,).
func shapeString(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	if len(s) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// loadNumpyXOR loads the two files the original numpy train.py saved.
func loadNumpyXOR(dir string) (*Model, error) {
	p0, p1 := filepath.Join(dir, "weights0.npy"), filepath.Join(dir, "weights1.npy")
	a0, err := LoadNPY(p0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s holds neither model.json nor weights0.npy", ErrCheckpoint, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCheckpoint, err)
	}
	a1, err := LoadNPY(p1)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCheckpoint, err)
	}
	if len(a0.Shape) != 2 || a0.Shape[0] != 2 || a0.Shape[1] < 1 {
		return nil, fmt.Errorf("%w: %s has shape %s, the XOR net needs (2, H)", ErrCheckpoint, p0, shapeString(a0.Shape))
	}
	h := a0.Shape[1]
	m, err := NewXOR(h, false, 0)
	if err != nil {
		return nil, err
	}
	if err := copyArray(p0, a0, m.Params[0].T); err != nil {
		return nil, err
	}
	if err := copyArray(p1, a1, m.Params[1].T); err != nil {
		return nil, err
	}
	return m, nil
}
