package datasets

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/graphtrain/graphtrain/internal/safefile"
)

// DType is the element type of an IDX file: the third byte of its magic number.
type DType byte

// The six IDX element types, with their type codes.
const (
	Uint8   DType = 0x08 // unsigned byte
	Int8    DType = 0x09 // signed byte
	Int16   DType = 0x0B // big-endian int16
	Int32   DType = 0x0C // big-endian int32
	Float32 DType = 0x0D // big-endian IEEE 754 binary32
	Float64 DType = 0x0E // big-endian IEEE 754 binary64
)

// Size is the number of bytes of one element; 0 for an unknown type code.
func (t DType) Size() int {
	switch t {
	case Uint8, Int8:
		return 1
	case Int16:
		return 2
	case Int32, Float32:
		return 4
	case Float64:
		return 8
	}
	return 0
}

// String is the Go name of the element type ("uint8", "int8", "int16", "int32", "float32",
// "float64"), or "DType(0xNN)" for an unknown code.
func (t DType) String() string {
	switch t {
	case Uint8:
		return "uint8"
	case Int8:
		return "int8"
	case Int16:
		return "int16"
	case Int32:
		return "int32"
	case Float32:
		return "float32"
	case Float64:
		return "float64"
	}
	return fmt.Sprintf("DType(0x%02x)", byte(t))
}

// The problems the IDX reader reports. Errors from ReadIDX, ReadIDXFile and InspectIDX wrap
// one of them in a *FileError that names the input; test with errors.Is.
var (
	// ErrBadMagic: the input does not start with two zero bytes (not an IDX file).
	ErrBadMagic = errors.New("datasets: bad IDX magic")
	// ErrBadType: the type code is none of the six.
	ErrBadType = errors.New("datasets: unknown IDX element type")
	// ErrNoDims: the header says zero dimensions.
	ErrNoDims = errors.New("datasets: IDX header has zero dimensions")
	// ErrTooLarge: the element count, or its size in bytes, overflows an int.
	ErrTooLarge = errors.New("datasets: IDX shape too large")
	// ErrTruncated: the input ends inside the header or the data, or holds fewer bytes
	// than the shape needs.
	ErrTruncated = errors.New("datasets: IDX data truncated")
	// ErrTrailing: the input goes on after the data.
	ErrTrailing = errors.New("datasets: trailing bytes after the IDX data")
	// ErrCorrupt: the input is gzipped and its gzip stream is damaged or cut short.
	ErrCorrupt = errors.New("datasets: corrupt gzip stream")
)

// FileError is a problem with one input file: its name, the problem (a sentinel such as
// ErrTruncated, or the I/O error) and the details. Its message reads
// "datasets: FILE: problem: details".
type FileError struct {
	File   string // the file's path; "IDX input" for a reader without a name
	Err    error  // the problem; Unwrap returns it
	Detail string // what exactly was found, and what was expected
}

// Error is the one-line message "datasets: FILE: problem: details".
func (e *FileError) Error() string {
	msg := "datasets: " + e.File + ": " + strings.TrimPrefix(e.Err.Error(), "datasets: ")
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Unwrap returns the problem, so that errors.Is(err, ErrTruncated) works.
func (e *FileError) Unwrap() error { return e.Err }

// IDX is an array read from or written to an IDX file.
type IDX struct {
	Type  DType // element type
	Shape []int // dimensions, outermost first (1 to 255 of them, each below 2^32)
	// Data holds the product of Shape elements, last dimension fastest, as the slice type
	// that matches Type: []uint8, []int8, []int16, []int32, []float32 or []float64.
	Data any
}

// Len is the number of elements in Data (0 when Data is not one of the six slice types).
func (a *IDX) Len() int {
	switch d := a.Data.(type) {
	case []uint8:
		return len(d)
	case []int8:
		return len(d)
	case []int16:
		return len(d)
	case []int32:
		return len(d)
	case []float32:
		return len(d)
	case []float64:
		return len(d)
	}
	return 0
}

// dataType is the DType that matches the Go type of data, or 0.
func dataType(data any) DType {
	switch data.(type) {
	case []uint8:
		return Uint8
	case []int8:
		return Int8
	case []int16:
		return Int16
	case []int32:
		return Int32
	case []float32:
		return Float32
	case []float64:
		return Float64
	}
	return 0
}

// ReadIDX reads one IDX array, gzipped or not, from r, and checks that r holds nothing after
// it. Errors name the input: the file's name when r is an *os.File, else "IDX input". When r
// is a regular file or reports its remaining length (a Len method, as bytes.Reader has), a
// shape that needs more bytes than it holds is refused before any element is read, so a
// forged header cannot make it allocate more than the input's size.
func ReadIDX(r io.Reader) (*IDX, error) {
	name, size := describeReader(r)
	d, err := newIDXDecoder(r, name, size, -1)
	if err != nil {
		return nil, err
	}
	return d.readAll()
}

// ReadIDXFile reads the IDX file at path, gzipped or not (recognised by its first bytes, not
// its name).
func ReadIDXFile(path string) (*IDX, error) { return readIDXFileMax(path, 0) }

// readIDXFileMax is ReadIDXFile of a file of at most max bytes on disk.
func readIDXFileMax(path string, max int64) (*IDX, error) {
	d, f, err := openIDXFile(path, max)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return d.readAll()
}

// IDXInfo summarises an IDX file: what InspectIDX finds.
type IDXInfo struct {
	File  string // the path
	Gzip  bool   // whether the file is gzipped
	Type  DType
	Shape []int
	Count int // number of elements: the product of Shape
	// Min, Max and Mean of the elements, as float64; NaN when Count is 0 or a float element is
	// NaN.
	Min, Max, Mean float64
}

// InspectIDX reads the IDX file at path, gzipped or not, and returns its type, shape and
// element statistics. It streams through the file, holding only a small buffer, and checks it
// as strictly as ReadIDXFile.
func InspectIDX(path string) (*IDXInfo, error) {
	d, f, err := openIDXFile(path, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info := &IDXInfo{File: path, Gzip: d.gz != nil, Type: d.typ, Shape: d.shape, Count: d.count,
		Min: math.Inf(1), Max: math.Inf(-1)}
	var sum, comp float64 // Neumaier's compensated sum
	nan := false
	add := func(v float64) {
		if v != v {
			nan = true
			return
		}
		info.Min = math.Min(info.Min, v)
		info.Max = math.Max(info.Max, v)
		t := sum + v
		if math.Abs(sum) >= math.Abs(v) {
			comp += (sum - t) + v
		} else {
			comp += (v - t) + sum
		}
		sum = t
	}
	size := d.typ.Size()
	err = d.stream(func(raw []byte) {
		for i := 0; i < len(raw); i += size {
			add(decodeFloat64(d.typ, raw[i:]))
		}
	})
	if err != nil {
		return nil, err
	}
	switch {
	case nan || d.count == 0:
		info.Min, info.Max, info.Mean = math.NaN(), math.NaN(), math.NaN()
	default:
		info.Mean = (sum + comp) / float64(d.count)
	}
	return info, nil
}

// decodeFloat64 decodes one big-endian element of type t from b as a float64.
func decodeFloat64(t DType, b []byte) float64 {
	switch t {
	case Uint8:
		return float64(b[0])
	case Int8:
		return float64(int8(b[0]))
	case Int16:
		return float64(int16(binary.BigEndian.Uint16(b)))
	case Int32:
		return float64(int32(binary.BigEndian.Uint32(b)))
	case Float32:
		return float64(math.Float32frombits(binary.BigEndian.Uint32(b)))
	default:
		return math.Float64frombits(binary.BigEndian.Uint64(b))
	}
}

// describeReader finds a name for r and how many bytes it has left (-1: unknown).
func describeReader(r io.Reader) (name string, size int64) {
	name, size = "IDX input", -1
	switch v := r.(type) {
	case *os.File:
		name = v.Name()
		if st, err := v.Stat(); err == nil && st.Mode().IsRegular() {
			if off, err := v.Seek(0, io.SeekCurrent); err == nil {
				size = st.Size() - off
			}
		}
	case interface{ Len() int }:
		size = int64(v.Len())
	}
	return name, size
}

// openIDXFile opens path and reads its IDX header. For a gzipped file it also reads the
// gzip trailer's ISIZE, the uncompressed length modulo 2^32, to size the output exactly.
// Only a regular file of at most max bytes (max <= 0: any size) is opened: a FIFO or a
// device is refused at once.
func openIDXFile(path string, max int64) (*idxDecoder, *os.File, error) {
	f, err := safefile.Open(path, max)
	if err != nil {
		var se *safefile.Error
		if errors.As(err, &se) && (errors.Is(err, safefile.ErrNotRegular) || errors.Is(err, safefile.ErrTooLarge)) {
			return nil, nil, &FileError{File: path, Err: errors.New(strings.TrimPrefix(se.Problem, "is ")), Detail: "want an IDX file"}
		}
		return nil, nil, fmt.Errorf("datasets: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("datasets: %w", err)
	}
	size, isize := int64(-1), int64(-1)
	if st.Mode().IsRegular() {
		size = st.Size()
		var b [4]byte
		if size >= 18 { // the smallest gzip file: 10-byte header, empty body, 8-byte trailer
			if _, err := f.ReadAt(b[:2], 0); err == nil && b[0] == 0x1f && b[1] == 0x8b {
				if _, err := f.ReadAt(b[:], size-4); err == nil {
					isize = int64(binary.LittleEndian.Uint32(b[:]))
				}
			}
		}
	}
	d, err := newIDXDecoder(f, path, size, isize)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return d, f, nil
}

// idxDecoder reads an IDX stream: the header when it is made, then the data in chunks.
type idxDecoder struct {
	name  string
	src   io.Reader    // the uncompressed IDX bytes
	gz    *gzip.Reader // nil for a plain input
	typ   DType
	shape []int
	count int   // elements
	bytes int64 // bytes of data: count*typ.Size()
	hint  int   // elements worth allocating up front
}

// gzipError marks an error that came from the gzip layer, so that it is reported as a corrupt
// gzip stream rather than as truncated IDX data.
type gzipError struct{ err error }

func (g gzipError) Error() string { return g.err.Error() }

// gzipReader tags the gzip reader's errors (other than io.EOF) as gzipErrors.
type gzipReader struct{ r *gzip.Reader }

func (g gzipReader) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && err != io.EOF {
		err = gzipError{err}
	}
	return n, err
}

const (
	idxChunk = 1 << 16 // bytes read at a time
	// maxHintElements bounds the elements allocated up front on a gzip trailer's word:
	// MNIST's training images.
	maxHintElements = 60000 * 28 * 28
	// maxDeflateRatio bounds how many times larger than its compressed size a gzip stream can
	// inflate (deflate's limit is about 1032:1). Beyond that a gzip ISIZE cannot be true.
	maxDeflateRatio = 1100
)

// newIDXDecoder reads the header from r. size is how many bytes r holds (-1 unknown) and
// isize a gzip trailer's ISIZE field (-1 unknown); both only bound allocations and catch
// size mismatches early.
func newIDXDecoder(r io.Reader, name string, size, isize int64) (*idxDecoder, error) {
	d := &idxDecoder{name: name}
	if err := d.setSource(r); err != nil {
		return nil, err
	}
	rank, err := d.readMagic()
	if err != nil {
		return nil, err
	}
	if err := d.readShape(rank); err != nil {
		return nil, err
	}
	if err := d.checkSize(int64(4+4*rank), size, isize); err != nil {
		return nil, err
	}
	return d, nil
}

// setSource makes d read the IDX bytes from r, through gzip when r starts with gzip's
// magic bytes.
func (d *idxDecoder) setSource(r io.Reader) error {
	br := bufio.NewReaderSize(r, idxChunk)
	d.src = br
	if m, _ := br.Peek(2); len(m) == 2 && m[0] == 0x1f && m[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return d.fail(ErrCorrupt, "the gzip header ends early")
			}
			return d.fail(ErrCorrupt, "its gzip header is damaged")
		}
		d.gz = gz
		d.src = bufio.NewReaderSize(gzipReader{gz}, idxChunk)
	}
	return nil
}

// readMagic reads the 4-byte magic number (00 00, the type code, the number of dimensions),
// sets d.typ and returns the number of dimensions.
func (d *idxDecoder) readMagic() (rank int, err error) {
	var magic [4]byte
	if n, err := io.ReadFull(d.src, magic[:]); err != nil {
		if n == 0 && err == io.EOF {
			return 0, d.fail(ErrTruncated, "empty input; an IDX file starts with a 4-byte magic number")
		}
		return 0, d.readErr(err, fmt.Sprintf("the header ends after %d of its 4 magic bytes", n))
	}
	if magic[0] != 0 || magic[1] != 0 {
		return 0, d.fail(ErrBadMagic, "it is not an IDX file, whose first bytes are 00 00, a type code and the number of dimensions")
	}
	d.typ = DType(magic[2])
	if d.typ.Size() == 0 {
		return 0, d.fail(ErrBadType, fmt.Sprintf("type code 0x%02x, where IDX has 0x08 uint8, 0x09 int8, 0x0b int16, 0x0c int32, 0x0d float32 or 0x0e float64", magic[2]))
	}
	rank = int(magic[3])
	if rank == 0 {
		return 0, d.fail(ErrNoDims, "an IDX array has 1 to 255 dimensions")
	}
	return rank, nil
}

// readShape reads the rank dimensions (big-endian uint32s) into d.shape and sets d.count and
// d.bytes, refusing a shape whose element count or byte size does not fit in an int.
func (d *idxDecoder) readShape(rank int) error {
	dims := make([]byte, 4*rank)
	if n, err := io.ReadFull(d.src, dims); err != nil {
		return d.readErr(err, fmt.Sprintf("the header ends after %d of the %d bytes of its %d dimensions", n, len(dims), rank))
	}
	d.shape = make([]int, rank)
	zero := false
	for i := range d.shape {
		v := binary.BigEndian.Uint32(dims[4*i:])
		d.shape[i] = int(v)
		zero = zero || v == 0
	}
	esize := d.typ.Size()
	if !zero {
		limit := uint64(math.MaxInt) / uint64(esize)
		count := uint64(1)
		for _, v := range d.shape {
			if count > limit/uint64(v) {
				return d.fail(ErrTooLarge, fmt.Sprintf("shape %v of %s holds more than %d elements", d.shape, d.typ, limit))
			}
			count *= uint64(v)
		}
		d.count = int(count)
	}
	d.bytes = int64(d.count) * int64(esize)
	return nil
}

// checkSize sets d.hint, the elements worth allocating up front. A plain input of known
// size must hold the header's bytes and exactly the data the shape needs: then all of it
// is allocated. A gzipped one of known size whose trailer's ISIZE agrees with the shape
// (and is possible for its compressed size) allocates up to maxHintElements; anything
// else up to idxChunk.
func (d *idxDecoder) checkSize(header, size, isize int64) error {
	d.hint = min(d.count, idxChunk)
	switch {
	case d.gz == nil && size >= 0:
		have := size - header
		if d.bytes > have {
			return d.fail(ErrTruncated, fmt.Sprintf("shape %v of %s needs %d bytes of data, the input holds %d after the header", d.shape, d.typ, d.bytes, have))
		}
		if d.bytes < have {
			return d.fail(ErrTrailing, fmt.Sprintf("%d bytes after the %d bytes of data that shape %v of %s needs", have-d.bytes, d.bytes, d.shape, d.typ))
		}
		d.hint = d.count
	case d.gz != nil && isize >= 0 && size > 0:
		total := header + d.bytes
		if uint32(total) == uint32(isize) && total/maxDeflateRatio <= size {
			// A gzip trailer can lie: trust it up to what MNIST's largest file holds, and
			// let a larger array grow as its data really arrives.
			d.hint = min(d.count, maxHintElements)
		}
	}
	return nil
}

// shapeText writes a shape read from a header for a message, its dimensions elided past the
// fourth: a header may give 255 of them.
func shapeText(shape []int) string {
	if len(shape) <= 4 {
		return fmt.Sprint(shape)
	}
	return fmt.Sprintf("%v ...] (%d dimensions)", strings.TrimSuffix(fmt.Sprint(shape[:3]), "]"), len(shape))
}

// fail makes the FileError for problem, with details.
func (d *idxDecoder) fail(problem error, detail string) error {
	return &FileError{File: d.name, Err: problem, Detail: detail}
}

// readErr classifies an error from reading the IDX stream: the gzip layer's errors are a
// corrupt gzip stream; an early end is truncated data (described by early); others are I/O
// errors, passed on.
func (d *idxDecoder) readErr(err error, early string) error {
	var g gzipError
	switch {
	case errors.As(err, &g):
		if g.err == io.ErrUnexpectedEOF {
			return d.fail(ErrCorrupt, "the compressed stream ends early (is the file cut short?)")
		}
		return d.fail(ErrCorrupt, strings.TrimPrefix(strings.TrimPrefix(g.err.Error(), "gzip: "), "flate: "))
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return d.fail(ErrTruncated, early)
	}
	return &FileError{File: d.name, Err: err}
}

// stream reads the data, passing it to fn in chunks of whole elements, then checks that the
// input ends there (for gzip, that the stream and its checksum are intact). fn must not keep
// the chunk.
func (d *idxDecoder) stream(fn func(raw []byte)) error {
	return d.streamN(int64(d.count), fn)
}

// streamN is stream for the first count elements only: it stops reading there, and checks
// the end of the input only when count is all of them.
func (d *idxDecoder) streamN(count int64, fn func(raw []byte)) error {
	esize := int64(d.typ.Size())
	want := min(d.bytes, count*esize)
	buf := make([]byte, min(want, idxChunk/esize*esize))
	for done := int64(0); done < want; {
		n := min(int64(len(buf)), want-done)
		if m, err := io.ReadFull(d.src, buf[:n]); err != nil {
			return d.readErr(err, fmt.Sprintf("the data ends after %d of the %d bytes that shape %v of %s needs", done+int64(m), d.bytes, d.shape, d.typ))
		}
		fn(buf[:n])
		done += n
	}
	if want < d.bytes {
		return nil
	}
	extra, err := io.Copy(io.Discard, d.src)
	if err != nil {
		return d.readErr(err, "")
	}
	if extra > 0 {
		return d.fail(ErrTrailing, fmt.Sprintf("%d bytes after the %d bytes of data that shape %v of %s needs", extra, d.bytes, d.shape, d.typ))
	}
	return nil
}

// readAll reads the data into an IDX.
func (d *idxDecoder) readAll() (*IDX, error) {
	a := &IDX{Type: d.typ, Shape: d.shape}
	var err error
	switch d.typ {
	case Uint8:
		out := make([]uint8, 0, d.hint)
		err = d.stream(func(raw []byte) { out = append(out, raw...) })
		a.Data = out
	case Int8:
		a.Data, err = collect(d, func(b []byte) int8 { return int8(b[0]) })
	case Int16:
		a.Data, err = collect(d, func(b []byte) int16 { return int16(binary.BigEndian.Uint16(b)) })
	case Int32:
		a.Data, err = collect(d, func(b []byte) int32 { return int32(binary.BigEndian.Uint32(b)) })
	case Float32:
		a.Data, err = collect(d, func(b []byte) float32 { return math.Float32frombits(binary.BigEndian.Uint32(b)) })
	case Float64:
		a.Data, err = collect(d, func(b []byte) float64 { return math.Float64frombits(binary.BigEndian.Uint64(b)) })
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

// collect decodes the data of d element by element with dec.
func collect[T any](d *idxDecoder, dec func([]byte) T) ([]T, error) {
	size := d.typ.Size()
	out := make([]T, 0, d.hint)
	err := d.stream(func(raw []byte) {
		for i := 0; i < len(raw); i += size {
			out = append(out, dec(raw[i:i+size]))
		}
	})
	return out, err
}

// WriteIDX writes a to w as an uncompressed IDX file. It checks a first: a known Type, Data
// of the matching slice type, 1 to 255 dimensions, each from 0 to 2^32-1, whose product is
// the length of Data. To write a gzipped file, pass a gzip.Writer (and close it after).
func WriteIDX(w io.Writer, a *IDX) error {
	if err := checkIDX(a); err != nil {
		return err
	}
	if err := writeIDX(w, a); err != nil {
		return fmt.Errorf("datasets: write IDX: %w", err)
	}
	return nil
}

// writeIDX writes a, already checked, to w.
func writeIDX(w io.Writer, a *IDX) error {
	bw := bufio.NewWriterSize(w, idxChunk)
	header := make([]byte, 4+4*len(a.Shape))
	header[2], header[3] = byte(a.Type), byte(len(a.Shape))
	for i, v := range a.Shape {
		binary.BigEndian.PutUint32(header[4+4*i:], uint32(v))
	}
	bw.Write(header)
	switch data := a.Data.(type) {
	case []uint8:
		bw.Write(data)
	case []int8:
		encode(bw, data, 1, func(b []byte, v int8) { b[0] = byte(v) })
	case []int16:
		encode(bw, data, 2, func(b []byte, v int16) { binary.BigEndian.PutUint16(b, uint16(v)) })
	case []int32:
		encode(bw, data, 4, func(b []byte, v int32) { binary.BigEndian.PutUint32(b, uint32(v)) })
	case []float32:
		encode(bw, data, 4, func(b []byte, v float32) { binary.BigEndian.PutUint32(b, math.Float32bits(v)) })
	case []float64:
		encode(bw, data, 8, func(b []byte, v float64) { binary.BigEndian.PutUint64(b, math.Float64bits(v)) })
	}
	return bw.Flush()
}

// encode writes data to bw, size bytes an element, with put.
func encode[T any](bw *bufio.Writer, data []T, size int, put func([]byte, T)) {
	var buf [idxChunk]byte
	per := len(buf) / size
	for len(data) > 0 {
		n := min(per, len(data))
		for i, v := range data[:n] {
			put(buf[i*size:], v)
		}
		bw.Write(buf[:n*size]) // a write error sticks in bw and shows at Flush
		data = data[n:]
	}
}

// checkIDX checks that a can be written as an IDX file.
func checkIDX(a *IDX) error {
	if a == nil {
		return errors.New("datasets: write IDX: nil array")
	}
	if a.Type.Size() == 0 {
		return fmt.Errorf("%w: write IDX: type code 0x%02x", ErrBadType, byte(a.Type))
	}
	if got := dataType(a.Data); got != a.Type {
		return fmt.Errorf("datasets: write IDX: Type is %s but Data is %T", a.Type, a.Data)
	}
	if len(a.Shape) == 0 {
		return fmt.Errorf("%w: write IDX: an IDX array has 1 to 255 dimensions", ErrNoDims)
	}
	if len(a.Shape) > 255 {
		return fmt.Errorf("datasets: write IDX: %d dimensions; an IDX array has at most 255", len(a.Shape))
	}
	count, zero := uint64(1), false
	for _, v := range a.Shape {
		if v < 0 || uint64(v) > math.MaxUint32 {
			return fmt.Errorf("datasets: write IDX: dimension %d in shape %v; each must be 0 to 2^32-1", v, a.Shape)
		}
		zero = zero || v == 0
	}
	for _, v := range a.Shape {
		if zero {
			count = 0
			break
		}
		if count > math.MaxInt/uint64(v) {
			return fmt.Errorf("%w: write IDX: shape %v", ErrTooLarge, a.Shape)
		}
		count *= uint64(v)
	}
	if count != uint64(a.Len()) {
		return fmt.Errorf("datasets: write IDX: shape %v holds %d elements but Data has %d", a.Shape, count, a.Len())
	}
	return nil
}

// WriteIDXFile writes a to path, gzipped when path ends in ".gz". It writes a temporary file
// in the same directory and renames it to path when complete, so path never holds half a
// file.
func WriteIDXFile(path string, a *IDX) error {
	if err := checkIDX(a); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("datasets: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	var w io.Writer = tmp
	var gz *gzip.Writer
	if strings.HasSuffix(path, ".gz") {
		gz = gzip.NewWriter(tmp)
		w = gz
	}
	err = writeIDX(w, a)
	if err == nil && gz != nil {
		err = gz.Close()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("datasets: write %s: %w", path, err)
	}
	return nil
}
