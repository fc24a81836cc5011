package datasets

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// idxTestArrays are arrays of every type, with extreme values and odd shapes.
func idxTestArrays() map[string]*IDX {
	return map[string]*IDX{
		"uint8":     {Uint8, []int{2, 3}, []uint8{0, 1, 127, 128, 254, 255}},
		"int8":      {Int8, []int{4}, []int8{-128, -1, 0, 127}},
		"int16":     {Int16, []int{1, 1, 3}, []int16{math.MinInt16, -2, math.MaxInt16}},
		"int32":     {Int32, []int{3, 1}, []int32{math.MinInt32, 7, math.MaxInt32}},
		"float32":   {Float32, []int{2, 2}, []float32{-1.5, 0, float32(math.Inf(1)), math.MaxFloat32}},
		"float64":   {Float64, []int{3}, []float64{math.SmallestNonzeroFloat64, -math.Pi, 1e300}},
		"empty":     {Uint8, []int{0, 28, 28}, []uint8{}},
		"rank255":   {Int8, idxTestOnes(255), []int8{-7}},
		"mnistlike": {Uint8, []int{3, 28, 28}, make([]uint8, 3*28*28)},
	}
}

func idxTestOnes(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

func idxTestBytes(t testing.TB, a *IDX) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteIDX(&buf, a); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func idxTestGzip(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// idxTestUnsized hides a reader's length, so that ReadIDX cannot check sizes up front.
type idxTestUnsized struct{ r io.Reader }

func (u idxTestUnsized) Read(p []byte) (int, error) { return u.r.Read(p) }

func TestIDXRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for name, a := range idxTestArrays() {
		t.Run(name, func(t *testing.T) {
			raw := idxTestBytes(t, a)
			if want := 4 + 4*len(a.Shape) + a.Len()*a.Type.Size(); len(raw) != want {
				t.Fatalf("wrote %d bytes, want %d", len(raw), want)
			}
			inputs := map[string]io.Reader{
				"bytes":         bytes.NewReader(raw),
				"unsized":       idxTestUnsized{bytes.NewReader(raw)},
				"gzip":          bytes.NewReader(idxTestGzip(raw)),
				"gzip unsized":  idxTestUnsized{bytes.NewReader(idxTestGzip(raw))},
				"gzip, 2 parts": bytes.NewReader(append(idxTestGzip(raw[:3]), idxTestGzip(raw[3:])...)),
			}
			for how, r := range inputs {
				got, err := ReadIDX(r)
				if err != nil {
					t.Fatalf("%s: %v", how, err)
				}
				if !reflect.DeepEqual(got, a) {
					t.Errorf("%s: read %+v, want %+v", how, got, a)
				}
			}
			// Files, plain and gzipped; the reader goes by content, not by name.
			for _, file := range []string{name + ".idx", name + ".idx.gz"} {
				p := filepath.Join(dir, file)
				if err := WriteIDXFile(p, a); err != nil {
					t.Fatal(err)
				}
				b, _ := os.ReadFile(p)
				if gz := len(b) > 1 && b[0] == 0x1f && b[1] == 0x8b; gz != strings.HasSuffix(file, ".gz") {
					t.Errorf("%s: gzipped %v", file, gz)
				}
				got, err := ReadIDXFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, a) {
					t.Errorf("%s: read %+v, want %+v", file, got, a)
				}
				f, _ := os.Open(p)
				got, err = ReadIDX(f)
				f.Close()
				if err != nil || !reflect.DeepEqual(got, a) {
					t.Errorf("%s via ReadIDX(*os.File): %+v, %v", file, got, err)
				}
			}
			swapped := filepath.Join(dir, name+".gz-but-plain")
			os.WriteFile(swapped, raw, 0o644)
			if got, err := ReadIDXFile(swapped); err != nil || !reflect.DeepEqual(got, a) {
				t.Errorf("plain file with an odd name: %v", err)
			}
		})
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestIDXBigEndian(t *testing.T) {
	got := idxTestBytes(t, &IDX{Int16, []int{2}, []int16{0x0102, -2}})
	want := []byte{0, 0, 0x0b, 1, 0, 0, 0, 2, 0x01, 0x02, 0xff, 0xfe}
	if !bytes.Equal(got, want) {
		t.Errorf("int16 [0x0102 -2] = % x, want % x", got, want)
	}
	got = idxTestBytes(t, &IDX{Float32, []int{1}, []float32{1}})
	want = []byte{0, 0, 0x0d, 1, 0, 0, 0, 1, 0x3f, 0x80, 0, 0}
	if !bytes.Equal(got, want) {
		t.Errorf("float32 [1] = % x, want % x", got, want)
	}
}

// idxTestHeader builds an IDX header.
func idxTestHeader(typ byte, dims ...uint32) []byte {
	b := []byte{0, 0, typ, byte(len(dims))}
	for _, d := range dims {
		b = append(b, byte(d>>24), byte(d>>16), byte(d>>8), byte(d))
	}
	return b
}

func idxTestCat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestReadIDXMalformed(t *testing.T) {
	good := idxTestBytes(t, &IDX{Int32, []int{2, 2}, []int32{1, 2, 3, 4}})
	goodGz := idxTestGzip(good)
	badCRC := bytes.Clone(goodGz)
	badCRC[len(badCRC)-8] ^= 0xff
	badISIZE := bytes.Clone(goodGz)
	badISIZE[len(badISIZE)-4] ^= 0xff
	badDeflate := bytes.Clone(goodGz)
	badDeflate[10] = 0xff // block type 3: invalid
	cases := []struct {
		name   string
		data   []byte
		want   error
		detail string // in the message
	}{
		{"empty", nil, ErrTruncated, "empty"},
		{"short magic", []byte{0, 0, 8}, ErrTruncated, "3 of its 4"},
		{"bad magic", []byte{1, 0, 8, 1, 0, 0, 0, 0}, ErrBadMagic, "is not an IDX file"},
		{"png", []byte("\x89PNG\r\n\x1a\n0000"), ErrBadMagic, "is not an IDX file"},
		{"text", []byte("hello world\n"), ErrBadMagic, "is not an IDX file"},
		{"unknown type 0x0a", idxTestHeader(0x0a, 1), ErrBadType, "0x0a"},
		{"unknown type 0x00", idxTestHeader(0x00, 1), ErrBadType, "0x00"},
		{"zero dimensions", []byte{0, 0, 8, 0}, ErrNoDims, "1 to 255"},
		{"dims cut short", idxTestHeader(8, 5, 5)[:9], ErrTruncated, "5 of the 8 bytes"},
		{"dims missing", []byte{0, 0, 8, 3}, ErrTruncated, "0 of the 12 bytes"},
		{"count overflows", idxTestHeader(0x0e, 0xffffffff, 0xffffffff, 0xffffffff), ErrTooLarge, "more than"},
		{"bytes overflow", idxTestHeader(0x0e, 0x40000000, 0x40000000), ErrTooLarge, "float64"},
		{"more than the file", idxTestCat(idxTestHeader(8, 1000), make([]byte, 10)), ErrTruncated, "1000"},
		{"huge, tiny file", idxTestCat(idxTestHeader(0x0d, 0xffffffff, 0xffff), make([]byte, 8)), ErrTruncated, "[4294967295 65535]"},
		{"half an element", idxTestCat(idxTestHeader(0x0c, 2), make([]byte, 6)), ErrTruncated, "int32"},
		{"no data", idxTestHeader(8, 1), ErrTruncated, "[1] of uint8"},
		{"trailing byte", append(bytes.Clone(good), 0), ErrTrailing, "1 bytes after"},
		{"trailing bytes, empty shape", idxTestCat(idxTestHeader(8, 0), []byte{1, 2}), ErrTrailing, "2 bytes after"},
		{"gzip: bad CRC", badCRC, ErrCorrupt, "checksum"},
		{"gzip: bad size", badISIZE, ErrCorrupt, "checksum"},
		{"gzip: bad deflate", badDeflate, ErrCorrupt, "corrupt"},
		{"gzip: cut short", goodGz[:len(goodGz)-12], ErrCorrupt, "ends early"},
		{"gzip: header only", goodGz[:10], ErrCorrupt, ""},
		{"gzip: half a header", goodGz[:5], ErrCorrupt, "header"},
		{"gzip: garbage after", append(bytes.Clone(goodGz), "junk"...), ErrCorrupt, ""},
		{"gzip: bad magic inside", idxTestGzip([]byte("hello world")), ErrBadMagic, ""},
		{"gzip: truncated inside", idxTestGzip(good[:len(good)-1]), ErrTruncated, "15 of the 16"},
		{"gzip: trailing inside", idxTestGzip(append(bytes.Clone(good), 9, 9)), ErrTrailing, "2 bytes after"},
		{"gzip: empty inside", idxTestGzip(nil), ErrTruncated, "empty"},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".idx")
			if err := os.WriteFile(path, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			check := func(how, name string, a *IDX, err error) {
				t.Helper()
				if err == nil {
					t.Fatalf("%s: no error, read %+v", how, a)
				}
				if !errors.Is(err, c.want) {
					t.Errorf("%s: error %q, want %v", how, err, c.want)
				}
				var fe *FileError
				if !errors.As(err, &fe) {
					t.Errorf("%s: error %T, want *FileError", how, err)
				}
				msg := err.Error()
				if !strings.HasPrefix(msg, "datasets: "+name+": ") || !strings.Contains(msg, c.detail) || strings.Contains(msg, "\n") {
					t.Errorf("%s: message %q: want one line naming %s, containing %q", how, msg, name, c.detail)
				}
			}
			a, err := ReadIDX(bytes.NewReader(c.data))
			check("ReadIDX(bytes)", "IDX input", a, err)
			a, err = ReadIDX(idxTestUnsized{bytes.NewReader(c.data)})
			check("ReadIDX(unsized)", "IDX input", a, err)
			a, err = ReadIDXFile(path)
			check("ReadIDXFile", path, a, err)
			info, err := InspectIDX(path)
			check("InspectIDX", path, nil, err)
			if info != nil {
				t.Errorf("InspectIDX returned %+v with its error", info)
			}
		})
	}
}

func TestReadIDXFileMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.idx")
	for how, fn := range map[string]func(string) error{
		"ReadIDXFile": func(p string) error { _, err := ReadIDXFile(p); return err },
		"InspectIDX":  func(p string) error { _, err := InspectIDX(p); return err },
	} {
		err := fn(path)
		if !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "datasets: ") || !strings.Contains(err.Error(), path) {
			t.Errorf("%s(missing): %v", how, err)
		}
		err = fn(filepath.Dir(path))
		if err == nil || !strings.Contains(err.Error(), "directory") {
			t.Errorf("%s(a directory): %v", how, err)
		}
	}
}

// idxTestFailingReader fails after its data.
type idxTestFailingReader struct{ r io.Reader }

func (f idxTestFailingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		err = errors.New("disk on fire")
	}
	return n, err
}

func TestReadIDXReadError(t *testing.T) {
	raw := idxTestBytes(t, &IDX{Uint8, []int{3}, []uint8{1, 2, 3}})
	_, err := ReadIDX(idxTestFailingReader{bytes.NewReader(raw[:9])})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") || errors.Is(err, ErrTruncated) {
		t.Errorf("read error: %v", err)
	}
}

func TestWriteIDXInvalid(t *testing.T) {
	cases := []struct {
		name string
		a    *IDX
		want string
	}{
		{"nil", nil, "nil array"},
		{"unknown type", &IDX{DType(0x0a), []int{1}, []uint8{1}}, "0x0a"},
		{"type mismatch", &IDX{Int16, []int{1}, []uint8{1}}, "[]uint8"},
		{"unsupported data", &IDX{Uint8, []int{1}, []uint16{1}}, "[]uint16"},
		{"no dims", &IDX{Uint8, nil, []uint8{}}, "1 to 255"},
		{"256 dims", &IDX{Uint8, idxTestOnes(256), []uint8{1}}, "256 dimensions"},
		{"negative dim", &IDX{Uint8, []int{-1}, []uint8{}}, "-1"},
		{"dim too large", &IDX{Uint8, []int{1 << 32}, []uint8{}}, "2^32"},
		{"length mismatch", &IDX{Uint8, []int{2, 2}, []uint8{1, 2, 3}}, "holds 4 elements but Data has 3"},
		{"overflow", &IDX{Uint8, []int{math.MaxUint32, math.MaxUint32, math.MaxUint32}, []uint8{}}, "too large"},
	}
	for _, c := range cases {
		err := WriteIDX(io.Discard, c.a)
		if err == nil || !strings.HasPrefix(err.Error(), "datasets: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
		}
		path := filepath.Join(t.TempDir(), "x.idx")
		if err := WriteIDXFile(path, c.a); err == nil {
			t.Errorf("%s: WriteIDXFile: no error", c.name)
		}
		if _, err := os.Stat(path); err == nil {
			t.Errorf("%s: WriteIDXFile left a file", c.name)
		}
	}
}

func TestInspectIDX(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		a              *IDX
		min, max, mean float64
	}{
		{&IDX{Int16, []int{3}, []int16{-3, 5, 10}}, -3, 10, 4},
		{&IDX{Uint8, []int{2, 2}, []uint8{0, 255, 255, 2}}, 0, 255, 128},
		{&IDX{Int8, []int{2}, []int8{-128, 127}}, -128, 127, -0.5},
		{&IDX{Int32, []int{2}, []int32{math.MinInt32, math.MaxInt32}}, math.MinInt32, math.MaxInt32, -0.5},
		{&IDX{Float32, []int{4}, []float32{0.5, -0.25, 2, 1e-3}}, -0.25, 2, (0.5 - 0.25 + 2 + float64(float32(1e-3))) / 4},
		{&IDX{Float64, []int{3}, []float64{1e16, 1, -1e16}}, -1e16, 1e16, 1.0 / 3},
		{&IDX{Float64, []int{2}, []float64{1, math.NaN()}}, math.NaN(), math.NaN(), math.NaN()},
		{&IDX{Uint8, []int{5, 0}, []uint8{}}, math.NaN(), math.NaN(), math.NaN()},
	}
	same := func(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }
	for i, c := range cases {
		for _, gz := range []bool{false, true} {
			path := filepath.Join(dir, "a.idx")
			if gz {
				path += ".gz"
			}
			if err := WriteIDXFile(path, c.a); err != nil {
				t.Fatal(err)
			}
			info, err := InspectIDX(path)
			if err != nil {
				t.Fatal(err)
			}
			if info.File != path || info.Gzip != gz || info.Type != c.a.Type || !reflect.DeepEqual(info.Shape, c.a.Shape) || info.Count != c.a.Len() ||
				!same(info.Min, c.min) || !same(info.Max, c.max) || !same(info.Mean, c.mean) {
				t.Errorf("case %d (gzip %v): %+v, want min %g max %g mean %g", i, gz, info, c.min, c.max, c.mean)
			}
		}
	}
}

func TestDTypeString(t *testing.T) {
	want := map[DType]string{Uint8: "uint8", Int8: "int8", Int16: "int16", Int32: "int32", Float32: "float32", Float64: "float64", 0x0a: "DType(0x0a)"}
	for d, s := range want {
		if d.String() != s {
			t.Errorf("%#x: %q, want %q", byte(d), d.String(), s)
		}
	}
}

// FuzzReadIDX checks that the reader never panics or allocates without bound on any input,
// that what it accepts writes back to the same bytes, and that it finds the same problem
// whether or not it knows the input's size. The seed corpus is in testdata/fuzz/FuzzReadIDX.
func FuzzReadIDX(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ReadIDX(bytes.NewReader(data))
		b, err2 := ReadIDX(idxTestUnsized{bytes.NewReader(data)})
		if (err == nil) != (err2 == nil) {
			t.Fatalf("sized: %v; unsized: %v", err, err2)
		}
		if err != nil {
			var fe, fe2 *FileError
			if !errors.As(err, &fe) || !errors.As(err2, &fe2) {
				t.Fatalf("errors %T, %T: want *FileError", err, err2)
			}
			if fe.Err != fe2.Err {
				t.Fatalf("sized: %v; unsized: %v", err, err2)
			}
			return
		}
		if !idxTestSameBits(a, b) {
			t.Fatalf("sized and unsized reads differ")
		}
		n := 1
		for _, d := range a.Shape {
			n *= d
		}
		if a.Len() != n || dataType(a.Data) != a.Type {
			t.Fatalf("shape %v, %d elements of %T", a.Shape, a.Len(), a.Data)
		}
		var buf bytes.Buffer
		if err := WriteIDX(&buf, a); err != nil {
			t.Fatal(err)
		}
		if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
			if !bytes.Equal(buf.Bytes(), data) {
				t.Fatalf("wrote back\n% x\nread\n% x", buf.Bytes(), data)
			}
		}
		c, err := ReadIDX(&buf)
		if err != nil || !idxTestSameBits(a, c) {
			t.Fatalf("read back: %v", err)
		}
	})
}

// idxTestSameBits compares arrays bit for bit (NaN included).
func idxTestSameBits(a, b *IDX) bool {
	var x, y bytes.Buffer
	return WriteIDX(&x, a) == nil && WriteIDX(&y, b) == nil && bytes.Equal(x.Bytes(), y.Bytes())
}
