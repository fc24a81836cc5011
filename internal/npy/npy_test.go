package npy

import (
	"bytes"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadNumpyWrittenFiles(t *testing.T) {
	f8 := make([]float64, 6)
	for i := range f8 {
		f8[i] = float64(i) / 7
	}
	f4 := make([]float32, 24)
	for i := range f4 {
		f4[i] = float32(i) - 11.5
	}
	for _, tc := range []struct {
		file  string
		shape []int
		data  any
	}{
		{"f8_2x3.npy", []int{2, 3}, f8},
		{"f4_4.npy", []int{4}, []float32{1.5, -2.25, 3e-8, 1e30}},
		{"f4_2x3x4.npy", []int{2, 3, 4}, f4},
		{"f8_scalar.npy", []int{}, []float64{3.25}},
		{"f8_empty.npy", []int{0, 3}, []float64{}},
		{"f8_v2.npy", []int{2, 2}, []float64{1, 2, 3, 4}},
	} {
		a, err := Load(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Errorf("%s: %v", tc.file, err)
			continue
		}
		if !reflect.DeepEqual(a.Shape, tc.shape) || !reflect.DeepEqual(a.Data, tc.data) {
			t.Errorf("%s: got %v %v, want %v %v", tc.file, a.Shape, a.Data, tc.shape, tc.data)
		}
	}
}

func TestRejectUnsupportedNumpyFiles(t *testing.T) {
	for file, want := range map[string]string{
		"fortran.npy":   "Fortran-order",
		"bigendian.npy": "big-endian",
		"int64.npy":     "dtype <i8 is not supported",
		"object.npy":    "object arrays",
	} {
		path := filepath.Join("testdata", file)
		_, err := Load(path)
		if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v, want ErrFormat naming the file and %q", file, err, want)
		}
	}
}

func TestNPYRoundTrip(t *testing.T) {
	for _, a := range []*Array{
		{Shape: []int{2, 3}, Data: []float64{1, 2, 3, 4, 5, math.Inf(-1)}},
		{Shape: []int{5}, Data: []float32{0, -1, 2.5, float32(math.NaN()), 1e-40}},
		{Shape: []int{}, Data: []float64{7}},
		{Shape: []int{1, 2, 1, 2}, Data: []float32{1, 2, 3, 4}},
		{Shape: []int{0}, Data: []float64{}},
	} {
		var buf bytes.Buffer
		if err := Write(&buf, a); err != nil {
			t.Fatal(err)
		}
		if buf.Len()%64 != 0 && a.Len() == 0 {
			t.Errorf("shape %v: %d bytes, the header is not padded to 64", a.Shape, buf.Len())
		}
		b, err := Read(&buf)
		if err != nil {
			t.Fatalf("shape %v: %v", a.Shape, err)
		}
		if !reflect.DeepEqual(a.Shape, b.Shape) || !sameBits(a.Data, b.Data) {
			t.Errorf("round trip of %v %v gave %v %v", a.Shape, a.Data, b.Shape, b.Data)
		}
	}
	if err := Write(&bytes.Buffer{}, &Array{Shape: []int{3}, Data: []float64{1}}); err == nil {
		t.Error("Write accepted 1 value for shape (3,)")
	}
}

func sameBits(a, b any) bool {
	switch x := a.(type) {
	case []float64:
		y := b.([]float64)
		for i := range x {
			if math.Float64bits(x[i]) != math.Float64bits(y[i]) {
				return false
			}
		}
		return len(x) == len(y)
	case []float32:
		y := b.([]float32)
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
				return false
			}
		}
		return len(x) == len(y)
	}
	return false
}

func npyBytes(header string, data []byte) []byte {
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	b.WriteByte(byte(len(header)))
	b.WriteByte(byte(len(header) >> 8))
	b.WriteString(header)
	b.Write(data)
	return b.Bytes()
}

func TestReadMalformed(t *testing.T) {
	eight := make([]byte, 8)
	for _, tc := range []struct {
		name, want string
		raw        []byte
	}{
		{"empty", "too short", nil},
		{"bad magic", "bad magic", []byte("\x93NUMPX\x01\x00\x00\x00")},
		{"version 9", "version 9.0", []byte("\x93NUMPY\x09\x00\x00\x00")},
		{"header truncated", "truncated header", []byte("\x93NUMPY\x01\x00\x50\x00{'descr'")},
		{"not a dict", "not a dict", npyBytes("'descr': '<f8'\n", nil)},
		{"missing shape", "missing key shape", npyBytes("{'descr': '<f8', 'fortran_order': False}\n", nil)},
		{"unknown key", "unknown key", npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1}\n", eight)},
		{"bad shape", "not a size", npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }\n", eight)},
		{"shape not tuple", "not a tuple", npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': [1], }\n", eight)},
		{"bad bool", "True or False", npyBytes("{'descr': '<f8', 'fortran_order': 0, 'shape': (1,), }\n", eight)},
		{"structured", "not a string", npyBytes("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }\n", eight)},
		{"truncated data", "data truncated", npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }\n", eight)},
		{"trailing bytes", "trailing bytes", npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }\n", append(eight, 0))},
		{"huge shape", "too large", npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000, 100000), }\n", eight)},
		{"duplicate key", "duplicate key", npyBytes("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (1,), }\n", eight)},
	} {
		_, err := Read(bytes.NewReader(tc.raw))
		if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want ErrFormat saying %q", tc.name, err, tc.want)
		}
	}
}

// TestNumpyReadsOurFiles has numpy load a file Write wrote. It needs python3 with numpy
// (Debian's python3-numpy, which .ci/run installs).
func TestNumpyReadsOurFiles(t *testing.T) {
	py := ""
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", "import numpy").Run() == nil {
			py = p
			break
		}
	}
	if py == "" {
		t.Skip("no python3 with numpy here (install Debian's python3-numpy): cannot check that numpy reads our files")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "a.npy")
	if err := Save(path, &Array{Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6.5}}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", "import numpy,sys; a=numpy.load(sys.argv[1]); print(a.dtype, a.shape, a.sum())", path).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy: %v: %s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "float32 (2, 3) 21.5" {
		t.Errorf("numpy read %q, want float32 (2, 3) 21.5", got)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("Save left %d files, want 1 (no temporary files)", len(entries))
	}
}

func FuzzRead(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.npy"))
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err == nil {
			f.Add(raw)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		a, err := Read(bytes.NewReader(raw))
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			return
		}
		var n int
		switch d := a.Data.(type) {
		case []float32:
			n = len(d)
		case []float64:
			n = len(d)
		default:
			t.Fatalf("data of type %T", a.Data)
		}
		if n != a.Len() {
			t.Fatalf("shape %v with %d values", a.Shape, n)
		}
		var buf bytes.Buffer
		if err := Write(&buf, a); err != nil {
			t.Fatal(err)
		}
		b, err := Read(&buf)
		if err != nil || !reflect.DeepEqual(a.Shape, b.Shape) || !sameBits(a.Data, b.Data) {
			t.Fatalf("re-read after write: %v", err)
		}
	})
}
