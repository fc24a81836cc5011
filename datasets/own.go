package datasets

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// A user's own data set is any set of files in MNIST's format under MNIST's four names
// (MNISTTrainImages, MNISTTrainLabels, MNISTTestImages, MNISTTestLabels, each plain or
// gzipped): uint8 images [N, H, W] or [N, C, H, W] and uint8 labels [N], the classes 0 to
// the largest label. SetInfo reads the four headers and checks them against each other
// before anything else is read; LoadSet then reads the sets.

// ErrSet reports files that are valid IDX files but do not make a data set together.
var ErrSet = errors.New("datasets: not a data set")

// Bounds on a data set's geometry: far beyond any image graphtrain trains on, small enough
// that no size overflows.
const (
	MaxChannels = 64
	MaxSide     = 4096
)

// SetInfo is what the four headers of a data set say.
type SetInfo struct {
	Dir                     string
	TrainN, TestN           int // examples in each set
	Channels, Rows, Cols    int // of every image
	TrainImages, TestImages string
	TrainLabels, TestLabels string
}

// Pixels is the number of values of one image.
func (i *SetInfo) Pixels() int { return i.Channels * i.Rows * i.Cols }

// ReadSetInfo finds the four files of a data set in dir and checks their headers: images of
// uint8 [N, H, W] or [N, C, H, W], the same C, H and W in both sets, uint8 labels [N] with as
// many labels as images in each set. Nothing but the headers is read.
func ReadSetInfo(dir string) (*SetInfo, error) {
	info := &SetInfo{Dir: dir}
	var err error
	for _, f := range []struct {
		base string
		path *string
	}{{MNISTTrainImages, &info.TrainImages}, {MNISTTrainLabels, &info.TrainLabels}, {MNISTTestImages, &info.TestImages}, {MNISTTestLabels, &info.TestLabels}} {
		if *f.path, err = findMNISTFile(dir, f.base); err != nil {
			return nil, err
		}
	}
	trainShape, err := imagesHeader(info.TrainImages)
	if err != nil {
		return nil, err
	}
	testShape, err := imagesHeader(info.TestImages)
	if err != nil {
		return nil, err
	}
	if !slices.Equal(trainShape[1:], testShape[1:]) {
		return nil, fmt.Errorf("%w: the training images are %v each, the test images %v; both sets must hold images of one shape", ErrSet, trainShape[1:], testShape[1:])
	}
	info.TrainN, info.TestN = trainShape[0], testShape[0]
	info.Channels, info.Rows, info.Cols = trainShape[1], trainShape[2], trainShape[3]
	for _, c := range []struct {
		path, images string
		n            int
	}{{info.TrainLabels, info.TrainImages, info.TrainN}, {info.TestLabels, info.TestImages, info.TestN}} {
		if err := checkLabelsHeader(c.path, c.images, c.n); err != nil {
			return nil, err
		}
	}
	return info, nil
}

// imagesHeader reads the header of an images file: its shape as [N, C, H, W].
func imagesHeader(path string) ([]int, error) {
	d, f, err := openIDXFile(path, maxOwnFileBytes)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	shape := d.shape
	if d.typ == Uint8 && len(shape) == 3 {
		shape = []int{shape[0], 1, shape[1], shape[2]}
	}
	if d.typ != Uint8 || len(shape) != 4 {
		return nil, d.fail(ErrSet, fmt.Sprintf("it holds %s %v; images are uint8 [n height width] or [n channels height width]", d.typ, shapeText(d.shape)))
	}
	if shape[0] < 1 || shape[1] < 1 || shape[1] > MaxChannels || shape[2] < 1 || shape[2] > MaxSide || shape[3] < 1 || shape[3] > MaxSide {
		return nil, d.fail(ErrSet, fmt.Sprintf("it holds %v images; want at least one, 1 to %d channels, sides of 1 to %d pixels", shape, MaxChannels, MaxSide))
	}
	return shape, nil
}

// checkLabelsHeader checks that a labels file holds n uint8 labels, one for each image of
// the images file beside it.
func checkLabelsHeader(path, images string, n int) error {
	d, f, err := openIDXFile(path, maxOwnFileBytes)
	if err != nil {
		return err
	}
	defer f.Close()
	if d.typ != Uint8 || len(d.shape) != 1 {
		return d.fail(ErrSet, fmt.Sprintf("it holds %s %v; labels are uint8 [n]", d.typ, shapeText(d.shape)))
	}
	if d.shape[0] != n {
		return fmt.Errorf("%w: %s holds %d labels but %s holds %d images", ErrSet, path, d.shape[0], images, n)
	}
	return nil
}

// maxOwnFileBytes bounds the size of one file of a user's data set.
const maxOwnFileBytes = 4 << 30

// LoadSet reads the data set info describes: the training set (its first limit examples when
// limit > 0) and the test set, pixels scaled to [0, 1]. The classes are 0 to the largest
// label of either set (at least 2).
func LoadSet(info *SetInfo, limit int) (train, test *Set, err error) {
	trainLabels, err := readLabels(info.TrainLabels, limit)
	if err != nil {
		return nil, nil, err
	}
	testLabels, err := readLabels(info.TestLabels, 0)
	if err != nil {
		return nil, nil, err
	}
	classes := 2
	for _, l := range slices.Concat(trainLabels, testLabels) {
		classes = max(classes, int(l)+1)
	}
	if train, err = readImages(info, info.TrainImages, limit); err != nil {
		return nil, nil, err
	}
	if test, err = readImages(info, info.TestImages, 0); err != nil {
		return nil, nil, err
	}
	train.Labels, test.Labels = trainLabels, testLabels
	train.Classes, test.Classes = classes, classes
	return train, test, nil
}

// readLabels reads the uint8 labels at path, all or the first limit when limit > 0.
func readLabels(path string, limit int) ([]uint8, error) {
	d, f, err := openIDXFile(path, maxOwnFileBytes)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	take := d.shape[0]
	if limit > 0 {
		take = min(take, limit)
	}
	labels := make([]uint8, 0, min(d.hint, take))
	err = d.streamN(int64(take), func(raw []byte) { labels = append(labels, raw...) })
	return labels, err
}

// readImages streams the uint8 images at path into float32 pixels in [0, 1], all or the
// first limit when limit > 0.
func readImages(info *SetInfo, path string, limit int) (*Set, error) {
	d, f, err := openIDXFile(path, maxOwnFileBytes)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	take, p := d.shape[0], info.Pixels()
	if limit > 0 {
		take = min(take, limit)
	}
	px := make([]float32, 0, min(d.hint, take*p)) // the file's size bounds what is allocated before reading
	err = d.streamN(int64(take)*int64(p), func(raw []byte) {
		for _, b := range raw {
			px = append(px, float32(b)/255)
		}
	})
	if err != nil {
		return nil, err
	}
	if len(px) != take*p {
		return nil, fmt.Errorf("%w: %s changed while it was read", ErrSet, path)
	}
	return &Set{Images: px, N: take, Rows: info.Rows, Cols: info.Cols, Channels: info.Channels}, nil
}

// WriteSet writes s as the images and labels files of a data set in dir, named as MNIST's
// training set (train) or test set, uncompressed: for tests and for making small sets.
func WriteSet(dir string, s *Set, train bool) error {
	images, labels := MNISTTestImages, MNISTTestLabels
	if train {
		images, labels = MNISTTrainImages, MNISTTrainLabels
	}
	px := make([]uint8, len(s.Images))
	for i, v := range s.Images {
		px[i] = uint8(min(max(v, 0), 1)*255 + 0.5)
	}
	shape := []int{s.N, s.Rows, s.Cols}
	if s.Channels > 1 {
		shape = []int{s.N, s.Channels, s.Rows, s.Cols}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("datasets: %w", err)
	}
	if err := WriteIDXFile(filepath.Join(dir, images), &IDX{Type: Uint8, Shape: shape, Data: px}); err != nil {
		return err
	}
	return WriteIDXFile(filepath.Join(dir, labels), &IDX{Type: Uint8, Shape: []int{s.N}, Data: append([]uint8(nil), s.Labels...)})
}
