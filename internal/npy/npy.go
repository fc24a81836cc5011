package npy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/graphtrain/graphtrain/internal/atomicfile"
	"github.com/graphtrain/graphtrain/internal/safefile"
)

// The .npy format (numpy's lib/format.py): the magic "\x93NUMPY", a major and a minor version
// byte, the header length (2 bytes little-endian in version 1.0, 4 bytes in 2.0), then the
// header, a Python dict literal such as
//
//	{'descr': '<f8', 'fortran_order': False, 'shape': (2, 4), }
//
// padded with spaces and a newline so that the data starts at a multiple of 64 bytes, then
// the data. graphtrain reads and writes little-endian float32 ('<f4') and float64 ('<f8')
// arrays in C order, which is what numpy writes by default on every common machine.

// ErrFormat is wrapped by every error about a malformed or unsupported .npy file.
var ErrFormat = errors.New("npy: bad .npy file")

// ErrShape reports data that does not fill the array's shape.
var ErrShape = errors.New("npy: shape mismatch")

const (
	npyMagic     = "\x93NUMPY"
	npyMaxHeader = 1 << 16 // real headers are under 200 bytes; refuse absurd ones
)

// Array is an n-dimensional array as stored in a .npy file: its shape and its values in C
// (row-major) order, as []float32 or []float64.
type Array struct {
	Shape []int
	Data  any
}

// Len is the number of values the shape holds.
func (a *Array) Len() int {
	n := 1
	for _, d := range a.Shape {
		n *= d
	}
	return n
}

// Header is what a .npy file says about its array before the data.
type Header struct {
	Shape    []int
	ElemSize int   // 4 for '<f4', 8 for '<f8'
	Len      int   // values the shape holds
	Offset   int64 // bytes before the data: magic, version, header length and header
}

// DataBytes is the size of the data the header announces.
func (h *Header) DataBytes() int64 { return int64(h.Len) * int64(h.ElemSize) }

// ReadHeader reads the preamble and header of a .npy file, up to the data, and checks that
// graphtrain can read the array. It allocates nothing in proportion to the shape, so a
// caller can check the shape and the file's size before reading the data.
func ReadHeader(r io.Reader) (*Header, error) {
	pre := make([]byte, 8)
	if _, err := io.ReadFull(r, pre); err != nil {
		return nil, fmt.Errorf("%w: too short for the .npy preamble", ErrFormat)
	}
	if string(pre[:6]) != npyMagic {
		// What the file holds instead is not shown: it may be anything (a link to a secret).
		return nil, fmt.Errorf("%w: not a .npy file (bad magic: it does not start with \\x93NUMPY)", ErrFormat)
	}
	var hlen int
	offset := int64(8)
	switch major, minor := pre[6], pre[7]; {
	case major == 1 && minor == 0:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("%w: truncated header length", ErrFormat)
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
		offset += 2
	case (major == 2 || major == 3) && minor == 0:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("%w: truncated header length", ErrFormat)
		}
		n := binary.LittleEndian.Uint32(b[:])
		if n > npyMaxHeader {
			return nil, fmt.Errorf("%w: header of %d bytes is too long", ErrFormat, n)
		}
		hlen = int(n)
		offset += 4
	default:
		return nil, fmt.Errorf("%w: format version %d.%d not supported (want 1.0 or 2.0)", ErrFormat, major, minor)
	}
	header := make([]byte, hlen)
	if _, err := io.ReadFull(r, header); err != nil {
		return nil, fmt.Errorf("%w: truncated header", ErrFormat)
	}
	offset += int64(hlen)
	descr, fortran, shape, err := parseNPYHeader(string(header))
	if err != nil {
		return nil, err
	}
	if fortran {
		return nil, fmt.Errorf("%w: Fortran-order arrays are not supported; save it with np.save(f, np.ascontiguousarray(a))", ErrFormat)
	}
	n := 1
	for _, d := range shape {
		if d < 0 || (d > 0 && n > math.MaxInt32/d) {
			return nil, fmt.Errorf("%w: shape %v is too large", ErrFormat, shape)
		}
		n *= d
	}
	size := 0
	switch descr {
	case "<f8":
		size = 8
	case "<f4":
		size = 4
	case ">f8", ">f4":
		return nil, fmt.Errorf("%w: big-endian data (%s) is not supported; convert with a.astype('<f%c')", ErrFormat, descr, descr[2])
	default:
		if strings.Contains(descr, "O") {
			return nil, fmt.Errorf("%w: object arrays (%s) are not supported", ErrFormat, short(descr))
		}
		return nil, fmt.Errorf("%w: dtype %s is not supported (want float32 '<f4' or float64 '<f8')", ErrFormat, short(descr))
	}
	return &Header{Shape: shape, ElemSize: size, Len: n, Offset: offset}, nil
}

// Read reads one array from r.
func Read(r io.Reader) (*Array, error) {
	br := bufio.NewReader(r)
	h, err := ReadHeader(br)
	if err != nil {
		return nil, err
	}
	shape, n, size := h.Shape, h.Len, h.ElemSize
	// Read what is there (at most one byte more than the shape needs) before trusting the
	// shape with an allocation: a hostile header cannot make us allocate more than the file.
	raw, err := io.ReadAll(io.LimitReader(br, int64(n)*int64(size)+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading data: %v", ErrFormat, err)
	}
	switch {
	case len(raw) < n*size:
		return nil, fmt.Errorf("%w: data truncated: shape %v needs %d values, the file holds %d", ErrFormat, shape, n, len(raw)/size)
	case len(raw) > n*size:
		return nil, fmt.Errorf("%w: trailing bytes after the %d values of shape %v", ErrFormat, n, shape)
	}
	a := &Array{Shape: shape}
	if size == 8 {
		v := make([]float64, n)
		for i := range v {
			v[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
		}
		a.Data = v
	} else {
		v := make([]float32, n)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		a.Data = v
	}
	return a, nil
}

// parseNPYHeader parses the dict literal of a .npy header. It accepts the three keys in any
// order, with single or double quotes, and nothing else.
func parseNPYHeader(h string) (descr string, fortran bool, shape []int, err error) {
	bad := func(why string) error {
		return fmt.Errorf("%w: malformed header %s: %s", ErrFormat, excerpt(strings.TrimSpace(h)), why)
	}
	s := strings.TrimSpace(h)
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return "", false, nil, bad("not a dict")
	}
	s = strings.TrimSpace(s[1 : len(s)-1])
	seen := map[string]bool{}
	for s != "" {
		key, rest, ok := npyString(s)
		if !ok {
			return "", false, nil, bad("expected a quoted key")
		}
		rest = strings.TrimSpace(rest)
		if !strings.HasPrefix(rest, ":") {
			return "", false, nil, bad("expected ':' after " + excerpt(key))
		}
		rest = strings.TrimSpace(rest[1:])
		if seen[key] {
			return "", false, nil, bad("duplicate key " + excerpt(key))
		}
		seen[key] = true
		switch key {
		case "descr":
			if descr, rest, ok = npyString(rest); !ok {
				return "", false, nil, bad("descr is not a string (structured dtypes are not supported)")
			}
		case "fortran_order":
			switch {
			case strings.HasPrefix(rest, "False"):
				fortran, rest = false, rest[5:]
			case strings.HasPrefix(rest, "True"):
				fortran, rest = true, rest[4:]
			default:
				return "", false, nil, bad("fortran_order is not True or False")
			}
		case "shape":
			if !strings.HasPrefix(rest, "(") {
				return "", false, nil, bad("shape is not a tuple")
			}
			end := strings.IndexByte(rest, ')')
			if end < 0 {
				return "", false, nil, bad("shape tuple not closed")
			}
			shape = []int{}
			for _, f := range strings.Split(rest[1:end], ",") {
				f = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(f), "L"))
				if f == "" {
					continue
				}
				d, err := strconv.Atoi(f)
				if err != nil || d < 0 {
					return "", false, nil, bad("shape entry " + excerpt(f) + " is not a size")
				}
				shape = append(shape, d)
			}
			rest = rest[end+1:]
		default:
			return "", false, nil, bad("unknown key " + excerpt(key))
		}
		rest = strings.TrimSpace(rest)
		if strings.HasPrefix(rest, ",") {
			rest = strings.TrimSpace(rest[1:])
		} else if rest != "" {
			return "", false, nil, bad("expected ',' after " + excerpt(key))
		}
		s = rest
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return "", false, nil, bad("missing key " + k)
		}
	}
	return descr, fortran, shape, nil
}

// excerpt quotes at most 80 bytes of s, for error messages: a header can be 64 KiB.
func excerpt(s string) string {
	const n = 80
	if len(s) <= n {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:n]) + fmt.Sprintf("... (%d bytes)", len(s))
}

// short cuts s to 80 bytes for an error message, unquoted.
func short(s string) string {
	if len(s) <= 80 {
		return s
	}
	return s[:80] + "..."
}

// npyString reads a quoted Python string at the start of s.
func npyString(s string) (val, rest string, ok bool) {
	if len(s) < 2 || (s[0] != '\'' && s[0] != '"') {
		return "", s, false
	}
	end := strings.IndexByte(s[1:], s[0])
	if end < 0 {
		return "", s, false
	}
	return s[1 : 1+end], s[2+end:], true
}

// Write writes a as a version 1.0 .npy file (2.0 if the header needs it), as np.save does.
func Write(w io.Writer, a *Array) error {
	var descr string
	switch d := a.Data.(type) {
	case []float64:
		descr = "<f8"
		if len(d) != a.Len() {
			return fmt.Errorf("%w: shape %v holds %d values, data has %d", ErrShape, a.Shape, a.Len(), len(d))
		}
	case []float32:
		descr = "<f4"
		if len(d) != a.Len() {
			return fmt.Errorf("%w: shape %v holds %d values, data has %d", ErrShape, a.Shape, a.Len(), len(d))
		}
	default:
		return fmt.Errorf("npy: Write: unsupported data type %T", a.Data)
	}
	var sh strings.Builder
	sh.WriteByte('(')
	for i, d := range a.Shape {
		if i > 0 {
			sh.WriteString(", ")
		}
		sh.WriteString(strconv.Itoa(d))
	}
	if len(a.Shape) == 1 {
		sh.WriteByte(',')
	}
	sh.WriteByte(')')
	header := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, sh.String())
	var buf bytes.Buffer
	buf.WriteString(npyMagic)
	pre := 10
	if len(header)+1+pre > math.MaxUint16 {
		pre = 12
	}
	pad := (64 - (pre+len(header)+1)%64) % 64
	header += strings.Repeat(" ", pad) + "\n"
	if pre == 10 {
		buf.Write([]byte{1, 0})
		binary.Write(&buf, binary.LittleEndian, uint16(len(header)))
	} else {
		buf.Write([]byte{2, 0})
		binary.Write(&buf, binary.LittleEndian, uint32(len(header)))
	}
	buf.WriteString(header)
	if _, err := w.Write(buf.Bytes()); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	if err := binary.Write(bw, binary.LittleEndian, a.Data); err != nil {
		return err
	}
	return bw.Flush()
}

// Load reads the .npy file at path, which must be a regular file; errors name the file.
func Load(path string) (*Array, error) {
	f, err := safefile.Open(path, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// Save writes a to path atomically.
func Save(path string, a *Array) error {
	return atomicfile.WriteFile(path, func(w io.Writer) error { return Write(w, a) })
}
