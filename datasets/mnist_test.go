package datasets

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// mnistTestDir writes a small MNIST-shaped directory: nTrain and nTest images whose pixel k
// is (i+k)%256 for image i, labels i%10. gz picks which files are gzipped.
func mnistTestDir(t *testing.T, nTrain, nTest int, gz map[string]bool) string {
	t.Helper()
	dir := t.TempDir()
	write := func(base string, a *IDX) {
		name := base
		if gz[base] {
			name += ".gz"
		}
		if err := WriteIDXFile(filepath.Join(dir, name), a); err != nil {
			t.Fatal(err)
		}
	}
	for _, part := range []struct {
		images, labels string
		n              int
	}{{MNISTTrainImages, MNISTTrainLabels, nTrain}, {MNISTTestImages, MNISTTestLabels, nTest}} {
		px := make([]uint8, part.n*MNISTPixels)
		for i := range part.n {
			for k := range MNISTPixels {
				px[i*MNISTPixels+k] = uint8(i + k)
			}
		}
		labels := make([]uint8, part.n)
		for i := range labels {
			labels[i] = uint8(i % 10)
		}
		write(part.images, &IDX{Uint8, []int{part.n, MNISTRows, MNISTCols}, px})
		write(part.labels, &IDX{Uint8, []int{part.n}, labels})
	}
	return dir
}

func TestLoadMNIST(t *testing.T) {
	dir := mnistTestDir(t, 12, 7, map[string]bool{MNISTTrainImages: true, MNISTTestLabels: true})
	train, test, err := LoadMNIST(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		s *Set
		n int
	}{{train, 12}, {test, 7}} {
		s := c.s
		if s.N != c.n || s.Rows != 28 || s.Cols != 28 || len(s.Images) != c.n*784 || len(s.Labels) != c.n {
			t.Fatalf("set: N %d, %dx%d, %d pixels, %d labels; want N %d", s.N, s.Rows, s.Cols, len(s.Images), len(s.Labels), c.n)
		}
		for i := range s.N {
			if s.Labels[i] != uint8(i%10) {
				t.Errorf("label %d = %d", i, s.Labels[i])
			}
			img := s.Image(i)
			for k, v := range img {
				if want := float32(uint8(i+k)) / 255; v != want {
					t.Fatalf("image %d pixel %d = %v, want %v", i, k, v, want)
				}
			}
		}
	}
	if train.Images[255] != 1 || train.Images[0] != 0 {
		t.Errorf("pixel range: %v %v, want 0 and 1", train.Images[0], train.Images[255])
	}
}

func TestLoadMNISTErrors(t *testing.T) {
	cases := []struct {
		name   string
		change func(dir string)
		want   error
		msg    string
	}{
		{"missing labels", func(dir string) { os.Remove(filepath.Join(dir, MNISTTestLabels)) }, fs.ErrNotExist, "neither t10k-labels-idx1-ubyte nor t10k-labels-idx1-ubyte.gz is in"},
		{"labels not IDX", func(dir string) { os.WriteFile(filepath.Join(dir, MNISTTrainLabels), []byte("<html>"), 0o644) }, ErrBadMagic, MNISTTrainLabels},
		{"images cut short", func(dir string) {
			p := filepath.Join(dir, MNISTTestImages)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)-1], 0o644)
		}, ErrTruncated, MNISTTestImages},
		{"images 27 wide", func(dir string) {
			WriteIDXFile(filepath.Join(dir, MNISTTrainImages), &IDX{Uint8, []int{2, 28, 27}, make([]uint8, 2*28*27)})
		}, ErrNotMNIST, "uint8 [2 28 27]"},
		{"images int32", func(dir string) {
			WriteIDXFile(filepath.Join(dir, MNISTTrainImages), &IDX{Int32, []int{1, 28, 28}, make([]int32, 784)})
		}, ErrNotMNIST, "int32"},
		{"labels 2-D", func(dir string) {
			WriteIDXFile(filepath.Join(dir, MNISTTrainLabels), &IDX{Uint8, []int{3, 1}, []uint8{1, 2, 3}})
		}, ErrNotMNIST, "[3 1]"},
		{"label 10", func(dir string) {
			WriteIDXFile(filepath.Join(dir, MNISTTestLabels), &IDX{Uint8, []int{3}, []uint8{1, 10, 3}})
		}, ErrNotMNIST, "label 10 at index 1"},
		{"counts disagree", func(dir string) {
			WriteIDXFile(filepath.Join(dir, MNISTTestLabels), &IDX{Uint8, []int{2}, []uint8{1, 2}})
		}, ErrNotMNIST, "holds 3 images but"},
	}
	for _, c := range cases {
		dir := mnistTestDir(t, 4, 3, nil)
		c.change(dir)
		_, _, err := LoadMNIST(dir)
		if !errors.Is(err, c.want) || !strings.HasPrefix(err.Error(), "datasets: ") || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v; want %v, mentioning %q", c.name, err, c.want, c.msg)
		}
	}
}

// TestRealMNIST fetches MNIST through the Go module proxy (fast once the module cache has it)
// and checks it. It needs the go command and, the first time, the network.
func TestRealMNIST(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	var log bytes.Buffer
	f := &Fetcher{GoCommand: "go", Log: &log}
	got, err := f.Fetch(dir)
	if err != nil {
		t.Fatalf("fetch MNIST through the Go module proxy: %v\n%s", err, log.String())
	}
	t.Logf("fetched in %v:\n%s", time.Since(start).Round(time.Millisecond), log.String())
	if len(got) != 4 {
		t.Fatalf("fetched %d files", len(got))
	}
	for _, rf := range MNISTFiles {
		sum, size, err := fileMD5(filepath.Join(dir, rf.Name))
		if err != nil || sum != rf.MD5 || size != rf.Size {
			t.Errorf("%s: MD5 %s, %d bytes, %v; want %s, %d bytes", rf.Name, sum, size, err, rf.MD5, rf.Size)
		}
	}

	start = time.Now()
	train, test, err := LoadMNIST(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded in %v", time.Since(start).Round(time.Millisecond))
	if train.N != MNISTTrainN || test.N != MNISTTestN {
		t.Fatalf("%d training and %d test images, want %d and %d", train.N, test.N, MNISTTrainN, MNISTTestN)
	}
	if train.Labels[0] != 5 || test.Labels[0] != 7 {
		t.Errorf("first labels: training %d, test %d; want 5 and 7", train.Labels[0], test.Labels[0])
	}
	if IdentifyTestSet(test.Labels) != MNIST {
		t.Errorf("the test labels are not recognised as MNIST's")
	}
	lo, hi := float32(1), float32(0)
	for _, v := range train.Images {
		lo, hi = min(lo, v), max(hi, v)
	}
	if lo != 0 || hi != 1 {
		t.Errorf("training pixels in [%v, %v], want [0, 1]", lo, hi)
	}

	info, err := InspectIDX(filepath.Join(dir, MNISTTrainLabels+".gz"))
	if err != nil || info.Type != Uint8 || info.Count != 60000 || info.Min != 0 || info.Max != 9 {
		t.Errorf("InspectIDX(training labels): %+v, %v", info, err)
	}

	// With the files there, EnsureMNIST says and fetches nothing.
	log.Reset()
	if err := EnsureMNIST(dir, &log); err != nil || log.Len() != 0 {
		t.Errorf("EnsureMNIST with the files there: %v, said %q", err, log.String())
	}
}

// TestLoadMNISTHeadersFirst checks that the images' and labels' headers are compared before
// either file's data is read: a gzip whose header promises more images than its data holds
// is refused for its count, not read until it ends; a file of no images is refused, naming it.
func TestLoadMNISTHeadersFirst(t *testing.T) {
	cases := []struct {
		name   string
		change func(dir string)
		msg    string
	}{
		{"counts disagree, images cut short", func(dir string) {
			raw := []byte{0, 0, 8, 3, 0, 0x09, 0x27, 0xc0, 0, 0, 0, 28, 0, 0, 0, 28} // 600000 images
			var gz bytes.Buffer
			w := gzip.NewWriter(&gz)
			w.Write(append(raw, make([]byte, 2*MNISTPixels)...))
			w.Close()
			os.WriteFile(filepath.Join(dir, MNISTTrainImages+".gz"), gz.Bytes(), 0o644)
			os.Remove(filepath.Join(dir, MNISTTrainImages))
			WriteIDXFile(filepath.Join(dir, MNISTTrainLabels), &IDX{Uint8, []int{600001}, make([]uint8, 600001)})
		}, "holds 600000 images but"},
		{"no images", func(dir string) {
			WriteIDXFile(filepath.Join(dir, MNISTTrainImages), &IDX{Uint8, []int{0, 28, 28}, []uint8{}})
			WriteIDXFile(filepath.Join(dir, MNISTTrainLabels), &IDX{Uint8, []int{0}, []uint8{}})
		}, MNISTTrainImages + ": not an MNIST file: it holds 0 images"},
	}
	for _, c := range cases {
		dir := mnistTestDir(t, 4, 3, nil)
		c.change(dir)
		_, err := LoadMNISTTrain(dir, 0)
		if !errors.Is(err, ErrNotMNIST) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v; want ErrNotMNIST, mentioning %q", c.name, err, c.msg)
		}
	}
}
