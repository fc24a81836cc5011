package checkpoint

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/internal/atomicfile"
	"github.com/graphtrain/graphtrain/internal/npy"
	"github.com/graphtrain/graphtrain/internal/safefile"
	"github.com/graphtrain/graphtrain/model"
)

// CheckpointFormat names the format in model.json.
const CheckpointFormat = "graphtrain-checkpoint-1"

// Limits on the files of a checkpoint: far above what graphtrain writes (an mlp with 256
// hidden units is 800 KB), low enough that a hostile file cannot exhaust memory.
const (
	MaxModelJSONBytes = 1 << 20
	MaxArrayBytes     = 1 << 30
)

// ErrCheckpoint is wrapped by every error about a checkpoint that cannot be loaded.
var ErrCheckpoint = errors.New("bad checkpoint")

// Checkpoint is the content of model.json.
type Checkpoint struct {
	Format    string             `json:"format"`
	Version   string             `json:"graphtrain_version"`
	Model     model.Spec         `json:"model"`
	Params    []FileInfo         `json:"params"`
	Solver    *model.Solver      `json:"solver,omitempty"`
	State     []FileInfo         `json:"solver_state,omitempty"`
	Epoch     int                `json:"epoch"`
	Seed      int64              `json:"seed"`
	Backend   string             `json:"backend,omitempty"`
	Hyper     *Hyperparameters   `json:"hyperparameters,omitempty"`
	Metrics   map[string]float64 `json:"metrics,omitempty"`
	CreatedBy string             `json:"created_by,omitempty"`
}

// Hyperparameters record how a model was trained. Older checkpoints wrote them as a free
// map with the same keys, so they read as they are. A field that does not apply (batch for
// the XOR net) is left out of model.json.
type Hyperparameters struct {
	Model string `json:"model,omitempty"` // mlp or cnn; empty for the XOR net
	// Dataset is what an mlp or cnn was trained on, "mnist" or "fashion" (Fashion-MNIST);
	// empty in checkpoints from before Fashion-MNIST, which are all MNIST's.
	Dataset    string  `json:"dataset,omitempty"`
	Solver     string  `json:"solver,omitempty"`
	LR         float64 `json:"lr,omitempty"`
	Epochs     int     `json:"epochs,omitempty"`
	Batch      int     `json:"batch,omitempty"`
	ValSplit   float64 `json:"val_split"`
	Seed       int64   `json:"seed"`
	Limit      int     `json:"limit"` // 0: all training images
	LRSchedule string  `json:"lr_schedule,omitempty"`
	// Warmup is the steps of the linear warmup of the learning rate (0: none).
	Warmup int `json:"warmup,omitempty"`
	// LabelSmoothing is ε of the targets (1−ε)·onehot + ε/classes (0: one-hot targets).
	LabelSmoothing float64 `json:"label_smoothing,omitempty"`
	Loss           string  `json:"loss,omitempty"` // XOR: "half sum of squares"
	Init           string  `json:"init,omitempty"` // XOR: --init, where the weights came from
}

// Datasets are the data sets an MNIST-format model may be trained on (Hyperparameters.Dataset):
// MNIST, Fashion-MNIST, or "own", a user's set in MNIST's format (datasets.LoadSet).
var Datasets = []string{"mnist", "fashion", "own"}

// Dataset is the data set the checkpoint's model was trained on: "mnist" or "fashion" for
// the mlp and the cnn (mnist when model.json does not say: it was written before
// Fashion-MNIST), "" for the XOR net.
func (c *Checkpoint) Dataset() string {
	if !c.Model.Classifier() {
		return ""
	}
	if c.Hyper == nil || c.Hyper.Dataset == "" {
		return "mnist"
	}
	return c.Hyper.Dataset
}

// FileInfo describes one array file of a checkpoint.
type FileInfo struct {
	Name   string `json:"name"`
	File   string `json:"file"`
	Shape  []int  `json:"shape"`
	SHA256 string `json:"sha256"`
}

// IsCheckpointFile reports whether a file name in a checkpoint directory is the checkpoint's
// own (model.json and the .npy files), which a save replaces; anything else in the
// directory is carried over.
func IsCheckpointFile(name string) bool {
	return name == "model.json" || strings.HasSuffix(name, ".npy")
}

// SaveCheckpoint writes m (and the solver's state when s is not nil) as the checkpoint in
// dir, creating or atomically replacing it. info carries the rest of model.json, the
// trainer's Version among it ("" is "dev"); its Format, Model, Params, Solver and State are
// filled here.
func SaveCheckpoint(dir string, m *model.Model, s *model.Solver, info Checkpoint) error {
	info.Format, info.Model = CheckpointFormat, m.Spec
	if info.Version == "" {
		info.Version = "dev"
	}
	info.Params, info.State, info.Solver = nil, nil, nil
	fill := func(tmp string) error {
		write := func(name, file string, t *tensor.Dense) (FileInfo, error) {
			h := sha256.New()
			err := atomicfile.SyncFile(filepath.Join(tmp, file), func(w io.Writer) error {
				return npy.Write(io.MultiWriter(w, h), arrayOf(t))
			})
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
			return fmt.Errorf("save checkpoint %s: %w", dir, err)
		}
		return atomicfile.SyncFile(filepath.Join(tmp, "model.json"), func(w io.Writer) error {
			_, err := w.Write(append(b, '\n'))
			return err
		})
	}
	keep := func(name string) bool { return !IsCheckpointFile(name) }
	return atomicfile.ReplaceDir(dir, fill, keep)
}

// arrayOf is the .npy view of a float32 or float64 tensor (sharing its data).
func arrayOf(t *tensor.Dense) *npy.Array {
	return &npy.Array{Shape: append([]int(nil), t.Shape()...), Data: t.Data()}
}

// bad makes a checkpoint error about one file (or the directory when file is "").
func bad(dir, file, format string, args ...any) error {
	what := dir
	if file != "" {
		what = filepath.Join(dir, file)
	}
	return &CheckpointError{Path: what, Problem: fmt.Sprintf(format, args...)}
}

// CheckpointError says what is wrong with a checkpoint, naming the file. It wraps
// ErrCheckpoint.
type CheckpointError struct {
	Path    string
	Problem string
}

func (e *CheckpointError) Error() string {
	for _, verb := range []string{"is ", "does ", "holds ", "has ", "lists ", "gives ", "changed ", "grew ", "cannot "} {
		if strings.HasPrefix(e.Problem, verb) {
			return e.Path + " " + e.Problem
		}
	}
	return e.Path + ": " + e.Problem
}

func (e *CheckpointError) Unwrap() error { return ErrCheckpoint }

// LoadCheckpoint reads the checkpoint in dir. The solver is nil when the checkpoint has none.
// A save replaces the whole directory at once (atomicfile.ReplaceDir), so a read that a save
// overtook can mix two checkpoints' files: when dir is another directory after the read than
// before it, the read is made again, up to loadTries times, and then refused as a checkpoint
// that kept changing, never as a broken one.
func LoadCheckpoint(dir string) (m *model.Model, s *model.Solver, ck *Checkpoint, err error) {
	for try := 0; try < loadTries; try++ {
		before := dirIdentity(dir)
		m, s, ck, err = loadCheckpoint(dir)
		if before == dirIdentity(dir) {
			return m, s, ck, err
		}
	}
	return nil, nil, nil, bad(dir, "", "changed %d times while it was read (a run is saving it); read it when the run has saved or finished", loadTries)
}

// loadTries bounds the reads of a checkpoint that saves keep replacing.
const loadTries = 3

// dirIdentity is what tells one directory at a path from another that replaced it: its
// device and inode, and its modification time; "" when it cannot be read.
func dirIdentity(dir string) string {
	st, err := os.Stat(dir)
	if err != nil {
		return ""
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return fmt.Sprintf("%d:%d:%d", sys.Dev, sys.Ino, st.ModTime().UnixNano())
	}
	return fmt.Sprint(st.ModTime().UnixNano())
}

// afterModelJSON, when set (by a test), runs once model.json is read: a save that overtakes
// the read.
var afterModelJSON func()

// loadCheckpoint is one read of the checkpoint in dir.
func loadCheckpoint(dir string) (*model.Model, *model.Solver, *Checkpoint, error) {
	if err := checkDir(dir); err != nil {
		return nil, nil, nil, err
	}
	raw, err := safefile.ReadFile(filepath.Join(dir, "model.json"), MaxModelJSONBytes)
	if afterModelJSON != nil {
		afterModelJSON()
	}
	if errors.Is(err, fs.ErrNotExist) {
		m, err := loadNumpyXOR(dir)
		if err != nil {
			return nil, nil, nil, err
		}
		return m, nil, &Checkpoint{Format: "numpy train.py", Model: m.Spec}, nil
	}
	if err != nil {
		return nil, nil, nil, fileErr(err)
	}
	ck, err := ParseModelJSON(raw)
	if err != nil {
		return nil, nil, nil, bad(dir, "model.json", "%v", err)
	}
	m, err := loadParams(dir, ck)
	if err != nil {
		return nil, nil, nil, err
	}
	var s *model.Solver
	if ck.Solver != nil {
		if s, err = loadSolver(dir, ck, m); err != nil {
			return nil, nil, nil, err
		}
	}
	return m, s, ck, nil
}

// checkDir checks that dir exists and is a directory.
func checkDir(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return bad(dir, "", "does not exist")
		}
		return bad(dir, "", "cannot be read: %v", plainErr(err))
	}
	if !st.IsDir() {
		return bad(dir, "", "is a file, not a checkpoint directory")
	}
	return nil
}

// loadParams allocates the model ck describes and reads its parameters from dir. Every
// parameter file is checked (name, shape, size, header) before the model is allocated.
func loadParams(dir string, ck *Checkpoint) (*model.Model, error) {
	byName, err := checkParamFiles(dir, ck)
	if err != nil {
		return nil, err
	}
	m, err := model.NewModel(ck.Model, 0)
	if err != nil {
		return nil, bad(dir, "model.json", "%v", err)
	}
	for _, p := range m.Params {
		if err := loadInto(dir, byName[p.Name], p.T); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// checkParamFiles checks that model.json lists every parameter of ck's model with its
// shape, and that each parameter's file has that shape, without reading the data. It
// returns the entries by parameter name.
func checkParamFiles(dir string, ck *Checkpoint) (map[string]FileInfo, error) {
	shapes, _ := ck.Model.ParamShapes() // checked by ParseModelJSON
	byName := map[string]FileInfo{}
	for _, fi := range ck.Params {
		byName[fi.Name] = fi
	}
	for _, ps := range shapes {
		fi, ok := byName[ps.Name]
		if !ok {
			return nil, bad(dir, "model.json", "lists no parameter %s, which a %s model has", ps.Name, ck.Model.Kind)
		}
		if !slices.Equal(fi.Shape, ps.Shape) {
			return nil, bad(dir, "model.json", "gives %s the shape %s, a %s model has %s", ps.Name, shapeString(fi.Shape), ck.Model.Kind, shapeString(ps.Shape))
		}
		if err := checkArrayFile(filepath.Join(dir, fi.File), ps.Shape); err != nil {
			return nil, err
		}
	}
	return byName, nil
}

// loadSolver reads the state of ck's solver (not nil) for the model m from dir into
// ck.Solver.State, one tensor per slot and parameter keyed "slot/param", and checks that
// none is missing. It returns ck.Solver.
func loadSolver(dir string, ck *Checkpoint, m *model.Model) (*model.Solver, error) {
	s := ck.Solver
	s.State = map[string]*tensor.Dense{}
	for _, fi := range ck.State {
		if err := loadSolverState(dir, s, m, fi); err != nil {
			return nil, err
		}
	}
	for _, slot := range s.Slots() {
		for _, p := range m.Params {
			if _, ok := s.State[slot+"/"+p.Name]; !ok {
				return nil, bad(dir, "model.json", "has no solver state %s/%s, which its %s solver needs to resume; resume from OUT/last of a complete run", slot, p.Name, s.Kind)
			}
		}
	}
	return s, nil
}

// loadSolverState reads the solver state file fi (named "slot/param") into s.State,
// checking that the slot and parameter exist, that it is not listed twice and that it has
// its parameter's shape.
func loadSolverState(dir string, s *model.Solver, m *model.Model, fi FileInfo) error {
	slot, name, _ := strings.Cut(fi.Name, "/")
	p := m.Param(name)
	if p == nil || !hasSlot(s, slot) {
		return bad(dir, "model.json", "lists solver state %s, which a %s solver of this model does not have", model.Short(fi.Name), s.Kind)
	}
	if _, dup := s.State[slot+"/"+name]; dup {
		return bad(dir, "model.json", "lists solver state %s twice", fi.Name)
	}
	if !slices.Equal(fi.Shape, p.T.Shape()) {
		return bad(dir, "model.json", "gives solver state %s the shape %s, its parameter has %s", fi.Name, shapeString(fi.Shape), shapeString(p.T.Shape()))
	}
	t := tensor.New(tensor.Of(p.T.Dtype()), tensor.WithShape(p.T.Shape().Clone()...))
	if err := loadInto(dir, fi, t); err != nil {
		return err
	}
	s.State[slot+"/"+name] = t
	return nil
}

// ParseModelJSON decodes and checks a model.json: the format, the spec, the solver, one
// well-formed entry per file with a SHA-256. It allocates nothing the spec asks for.
func ParseModelJSON(raw []byte) (*Checkpoint, error) {
	return parseModelJSON(raw, checkSpec)
}

// checkSpec checks the spec of a model.json that LoadCheckpoint rebuilds: one of the kinds
// graphtrain builds, not a user's graph (LoadParamsInto).
func checkSpec(s model.Spec) error {
	if s.Kind == model.GraphKind {
		return errors.New("holds the parameters of a Gorgonia graph of your own (model kind graph), which a checkpoint cannot rebuild: load them into that graph (graphtrain's Graph.Load)")
	}
	return s.Check()
}

// parseModelJSON is ParseModelJSON, with checkSpec checking the spec.
func parseModelJSON(raw []byte, checkSpec func(model.Spec) error) (*Checkpoint, error) {
	var ck Checkpoint
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ck); err != nil {
		return nil, fmt.Errorf("not a graphtrain model.json (%s)", jsonProblem(err))
	}
	if dec.More() {
		return nil, errors.New("not a graphtrain model.json (more than one JSON value)")
	}
	if ck.Format != CheckpointFormat {
		return nil, fmt.Errorf("format %q, want %q", model.Short(ck.Format), CheckpointFormat)
	}
	if err := checkSpec(ck.Model); err != nil {
		return nil, err
	}
	if ck.Epoch < 0 {
		return nil, fmt.Errorf("epoch %d is negative", ck.Epoch)
	}
	if ck.Epoch > MaxEpoch {
		return nil, fmt.Errorf("epoch %d: more than the %d epochs any run trains", ck.Epoch, MaxEpoch)
	}
	if err := checkHyper(ck.Hyper); err != nil {
		return nil, err
	}
	if h := ck.Hyper; h != nil && h.Model != "" && h.Model != ck.Model.Kind {
		return nil, fmt.Errorf("hyperparameter model %q: the model is a %s", model.Short(h.Model), ck.Model.Kind)
	}
	seen := map[string]bool{}
	for _, fi := range append(append([]FileInfo(nil), ck.Params...), ck.State...) {
		if err := checkFileInfo(fi); err != nil {
			return nil, err
		}
		if seen[fi.File] {
			return nil, fmt.Errorf("lists the file %s twice", fi.File)
		}
		seen[fi.File] = true
	}
	if s := ck.Solver; s != nil {
		if _, err := model.NewSolver(s.Kind, 1); err != nil {
			return nil, fmt.Errorf("solver %q: must be adam, adamw, sgd or momentum", model.Short(s.Kind))
		}
		for _, v := range []float64{s.LR, s.Momentum, s.Beta1, s.Beta2, s.Eps, s.WeightDecay} {
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				return nil, fmt.Errorf("the %s solver's settings hold %v", s.Kind, v)
			}
		}
		if err := checkWeightDecay(s); err != nil {
			return nil, err
		}
		if s.Beta1 >= 1 || s.Beta2 >= 1 || s.Momentum >= 1 {
			return nil, fmt.Errorf("the %s solver has beta1 %v, beta2 %v and momentum %v, where each must be below 1", s.Kind, s.Beta1, s.Beta2, s.Momentum)
		}
		if !(s.LR > 0) || s.Steps < 0 || s.Steps > MaxSolverSteps {
			return nil, fmt.Errorf("the %s solver has learning rate %v and %d steps (want a rate above 0 and 0 to %d steps)", s.Kind, s.LR, s.Steps, int64(MaxSolverSteps))
		}
	} else if len(ck.State) > 0 {
		return nil, errors.New("lists solver state but no solver")
	}
	return &ck, nil
}

// checkFileInfo checks one entry of model.json's file lists.
func checkFileInfo(fi FileInfo) error {
	if fi.File == "" || fi.File != filepath.Base(fi.File) || strings.HasPrefix(fi.File, ".") || !strings.HasSuffix(fi.File, ".npy") {
		return fmt.Errorf("file name %s is not a plain .npy file name", safefile.Excerpt(fi.File, 40))
	}
	if len(fi.SHA256) != 64 {
		return fmt.Errorf("%s has no SHA-256 (every file needs one)", fi.File)
	}
	if _, err := hex.DecodeString(fi.SHA256); err != nil {
		return fmt.Errorf("%s: the SHA-256 is not hexadecimal", fi.File)
	}
	return nil
}

func hasSlot(s *model.Solver, slot string) bool {
	for _, x := range s.Slots() {
		if x == slot {
			return true
		}
	}
	return false
}

// jsonProblem says what is wrong with a JSON document without Go's type names.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("%s holds a JSON %s where a %s belongs", typ.Field, typ.Value, jsonKind(typ.Type.Kind().String()))
		}
		return fmt.Sprintf("a JSON %s where an object belongs", typ.Value)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "empty or cut short"
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return "unknown field " + safefile.Excerpt(strings.Trim(f, `"`), 40)
	}
	return strings.TrimPrefix(msg, "json: ")
}

func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"):
		return "whole number"
	case strings.HasPrefix(k, "float"):
		return "number"
	case k == "struct", k == "map", k == "ptr":
		return "object"
	case k == "slice":
		return "list"
	}
	return k
}

// loadInto reads the file fi into t, checking its checksum, header, size and values before
// and after allocating.
func loadInto(dir string, fi FileInfo, t *tensor.Dense) error {
	path := filepath.Join(dir, fi.File)
	a, err := readArray(path, fi.SHA256, t.Shape())
	if err != nil {
		return err
	}
	return copyArray(dir, fi.File, a, t)
}

// checkArrayFile checks, allocating nothing in proportion to it, that the .npy file at path
// is a regular file whose header says shape and whose size is what the header says.
func checkArrayFile(path string, shape []int) error {
	f, _, err := openArray(path, shape)
	if err != nil {
		return err
	}
	return f.Close()
}

// openArray opens the .npy file at path when checkArrayFile's conditions hold, positioned at
// its start, and returns its size.
func openArray(path string, shape []int) (*os.File, int64, error) {
	dir, file := filepath.Dir(path), filepath.Base(path)
	f, err := safefile.Open(path, MaxArrayBytes)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, 0, bad(dir, file, "is missing; it is listed in model.json")
		}
		return nil, 0, fileErr(err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fileErr(err)
	}
	h, err := npy.ReadHeader(bufio.NewReader(f))
	if err != nil {
		f.Close()
		return nil, 0, bad(dir, file, "%v", npyProblem(err))
	}
	if shape != nil && !slices.Equal(h.Shape, shape) {
		f.Close()
		return nil, 0, bad(dir, file, "holds shape %s, the model needs %s", shapeString(h.Shape), shapeString(shape))
	}
	if want := h.Offset + h.DataBytes(); st.Size() != want {
		f.Close()
		return nil, 0, bad(dir, file, "is %d bytes, its header announces %d", st.Size(), want)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, 0, fileErr(err)
	}
	return f, st.Size(), nil
}

// arrayHeader reads the header of the .npy file at path, a regular file of a sane size, and
// nothing more.
func arrayHeader(path string) (*npy.Header, error) {
	dir, file := filepath.Dir(path), filepath.Base(path)
	f, err := safefile.Open(path, MaxArrayBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, bad(dir, file, "is missing")
	}
	if err != nil {
		return nil, fileErr(err)
	}
	defer f.Close()
	h, err := npy.ReadHeader(bufio.NewReader(f))
	if err != nil {
		return nil, bad(dir, file, "%v", npyProblem(err))
	}
	return h, nil
}

// readArray reads the .npy file at path when it is a regular file whose header says shape
// and whose size is what the header says, then checks sum (when not empty) over all of it.
func readArray(path, sum string, shape []int) (*npy.Array, error) {
	dir, file := filepath.Dir(path), filepath.Base(path)
	f, size, err := openArray(path, shape)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw := make([]byte, size)
	if _, err := io.ReadFull(f, raw); err != nil {
		return nil, bad(dir, file, "changed while it was read")
	}
	if sum != "" {
		got := sha256.Sum256(raw)
		if hex.EncodeToString(got[:]) != sum {
			return nil, bad(dir, file, "does not match the checksum in model.json (a crash during a save, or an edited file?)")
		}
	}
	a, err := npy.Read(bytes.NewReader(raw))
	if err != nil {
		return nil, bad(dir, file, "%v", npyProblem(err))
	}
	return a, nil
}

// npyProblem is a .npy error's text without the sentinel's prefix.
func npyProblem(err error) string {
	return strings.TrimPrefix(err.Error(), npy.ErrFormat.Error()+": ")
}

// fileErr turns a safefile error into a checkpoint error naming the file.
func fileErr(err error) error {
	var se *safefile.Error
	if errors.As(err, &se) {
		return &CheckpointError{Path: se.Path, Problem: se.Problem}
	}
	return &CheckpointError{Path: "checkpoint", Problem: plainErr(err)}
}

// plainErr is the system's reason for a failed file operation, without the operation.
func plainErr(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// copyArray copies a into t, which fixes the shape and type (float32 and float64 convert),
// refusing NaN and infinite values.
func copyArray(dir, file string, a *npy.Array, t *tensor.Dense) error {
	if !slices.Equal(a.Shape, t.Shape()) {
		return bad(dir, file, "holds shape %s, the model needs %s", shapeString(a.Shape), shapeString(t.Shape()))
	}
	finite := true
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
		for _, v := range dst {
			finite = finite && !math.IsNaN(v) && !math.IsInf(v, 0)
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
		for _, v := range dst {
			f := float64(v)
			finite = finite && !math.IsNaN(f) && !math.IsInf(f, 0)
		}
	}
	if !finite {
		return bad(dir, file, "holds NaN or infinite values; the training that wrote it diverged")
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
func loadNumpyXOR(dir string) (*model.Model, error) {
	if _, err := os.Lstat(filepath.Join(dir, "weights0.npy")); errors.Is(err, fs.ErrNotExist) {
		return nil, bad(dir, "", "holds no model.json (nor the original numpy net's weights0.npy): not a checkpoint")
	}
	// Both headers are checked against the net before any data is read.
	h0, err := arrayHeader(filepath.Join(dir, "weights0.npy"))
	if err != nil {
		return nil, err
	}
	if len(h0.Shape) != 2 || h0.Shape[0] != 2 || h0.Shape[1] < 1 || h0.Shape[1] > model.MaxHidden {
		return nil, bad(dir, "", "holds no model.json, and its weights0.npy, of shape %s, is not the original numpy XOR net's (2, H)", shapeString(h0.Shape))
	}
	h := h0.Shape[1]
	if _, err := os.Stat(filepath.Join(dir, "weights1.npy")); errors.Is(err, fs.ErrNotExist) {
		return nil, bad(dir, "weights1.npy", "is missing; the original numpy XOR net has weights0.npy and weights1.npy")
	}
	h1, err := arrayHeader(filepath.Join(dir, "weights1.npy"))
	if err != nil {
		return nil, err
	}
	if !slices.Equal(h1.Shape, []int{h, 1}) {
		return nil, bad(dir, "weights1.npy", "holds shape %s, the model needs %s", shapeString(h1.Shape), shapeString([]int{h, 1}))
	}
	a0, err := readArray(filepath.Join(dir, "weights0.npy"), "", h0.Shape)
	if err != nil {
		return nil, err
	}
	a1, err := readArray(filepath.Join(dir, "weights1.npy"), "", h1.Shape)
	if err != nil {
		return nil, err
	}
	m, err := model.NewXOR(h, false, 0)
	if err != nil {
		return nil, err
	}
	if err := copyArray(dir, "weights0.npy", a0, m.Params[0].T); err != nil {
		return nil, err
	}
	if err := copyArray(dir, "weights1.npy", a1, m.Params[1].T); err != nil {
		return nil, err
	}
	return m, nil
}

// LastDir is the directory under Out holding the latest epoch's checkpoint, for --resume.
func LastDir(out string) string { return filepath.Join(out, "last") }

// MaxSolverSteps bounds a solver's step count: Adam's bias correction takes it as a float64,
// exact up to 2^53, and no run comes near it.
const MaxSolverSteps = 1 << 53

// MaxEpoch bounds the epoch a checkpoint records (and its hyperparameters' epochs): the most
// any run trains (train xor's --epochs; train mnist's are far fewer).
const MaxEpoch = 10_000_000

// MaxBatch bounds the batch a checkpoint's hyperparameters record.
const MaxBatch = 1 << 20

// Schedules are the learning-rate schedules a checkpoint may record ("" is constant).
var Schedules = []string{"", "constant", "cosine", "onecycle"}

// MaxWeightDecay bounds adamw's λ: a step shrinks the weights by lr·λ of themselves, and a
// decay beyond 1 is a mistake at any rate that trains.
const MaxWeightDecay = 1

// checkWeightDecay refuses a weight decay on a solver other than adamw, or one above
// MaxWeightDecay.
func checkWeightDecay(s *model.Solver) error {
	switch {
	case s.WeightDecay != 0 && s.Kind != "adamw":
		return fmt.Errorf("the %s solver has weight decay %v; only adamw decays the weights", s.Kind, s.WeightDecay)
	case s.WeightDecay > MaxWeightDecay:
		return fmt.Errorf("the adamw solver has weight decay %v; it must be in [0, %d]", s.WeightDecay, MaxWeightDecay)
	}
	return nil
}

// knownSolver reports whether kind names a solver graphtrain has.
func knownSolver(kind string) bool {
	_, err := model.NewSolver(kind, 1)
	return err == nil
}

// checkHyper checks the hyperparameters model.json records, so that a resumed run does not
// take a broken one for a flag the user gave.
func checkHyper(h *Hyperparameters) error {
	switch {
	case h == nil:
		return nil
	case h.Dataset != "" && !slices.Contains(Datasets, h.Dataset):
		return fmt.Errorf("data set %q: must be %s", model.Short(h.Dataset), strings.Join(Datasets, ", "))
	case !slices.Contains(Schedules, h.LRSchedule):
		return fmt.Errorf("learning-rate schedule %q: must be constant, cosine or onecycle", model.Short(h.LRSchedule))
	case h.Batch < 0 || h.Epochs < 0 || h.Limit < 0 || h.Warmup < 0:
		return fmt.Errorf("hyperparameters batch %d, epochs %d, limit %d, warmup %d: none may be negative", h.Batch, h.Epochs, h.Limit, h.Warmup)
	case h.Model != "" && h.Batch < 1: // a train mnist run's: it always trains in batches
		return fmt.Errorf("hyperparameter batch %d: a model's training run records a batch of 1 or more", h.Batch)
	case h.Batch > MaxBatch || h.Epochs > MaxEpoch:
		return fmt.Errorf("hyperparameters batch %d and epochs %d: at most %d and %d", h.Batch, h.Epochs, MaxBatch, MaxEpoch)
	case h.Solver != "" && !knownSolver(h.Solver):
		return fmt.Errorf("hyperparameter solver %q: must be adam, adamw, sgd or momentum", model.Short(h.Solver))
	case !(h.LabelSmoothing >= 0 && h.LabelSmoothing < 1):
		return fmt.Errorf("hyperparameter label_smoothing %v: must be in [0, 1)", h.LabelSmoothing)
	case !(h.ValSplit >= 0 && h.ValSplit < 1):
		return fmt.Errorf("hyperparameter val_split %v: must be in [0, 1)", h.ValSplit)
	case math.IsNaN(h.LR) || math.IsInf(h.LR, 0) || h.LR < 0:
		return fmt.Errorf("hyperparameter lr %v: must be a positive number", h.LR)
	}
	return nil
}
