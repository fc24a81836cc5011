package datasets

import (
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ownSet makes a set of n images of c channels of h x w pixels with labels below classes.
func ownSet(n, c, h, w, classes int, seed int64) *Set {
	r := rand.New(rand.NewSource(seed))
	s := &Set{N: n, Rows: h, Cols: w, Channels: c, Labels: make([]uint8, n), Images: make([]float32, n*c*h*w)}
	for i := range s.Images {
		s.Images[i] = float32(r.Intn(256)) / 255
	}
	for i := range s.Labels {
		s.Labels[i] = uint8(r.Intn(classes))
	}
	s.Labels[0] = uint8(classes - 1)
	return s
}

// TestOwnSetRoundTrip: a set of 3 classes of 20x20 images, and one of 3-channel images,
// written in MNIST's format read back the same, with the classes from the labels.
func TestOwnSetRoundTrip(t *testing.T) {
	for _, c := range []int{1, 3} {
		dir := t.TempDir()
		train, test := ownSet(30, c, 20, 20, 3, 1), ownSet(12, c, 20, 20, 3, 2)
		if err := WriteSet(dir, train, true); err != nil {
			t.Fatal(err)
		}
		if err := WriteSet(dir, test, false); err != nil {
			t.Fatal(err)
		}
		info, err := ReadSetInfo(dir)
		if err != nil {
			t.Fatal(err)
		}
		if info.TrainN != 30 || info.TestN != 12 || info.Channels != c || info.Rows != 20 || info.Cols != 20 {
			t.Fatalf("info %+v", info)
		}
		gotTrain, gotTest, err := LoadSet(info, 25)
		if err != nil {
			t.Fatal(err)
		}
		if gotTrain.N != 25 || gotTest.N != 12 || gotTrain.NumClasses() != 3 || gotTest.Pixels() != c*400 {
			t.Fatalf("train %d, test %d, %d classes, %d pixels", gotTrain.N, gotTest.N, gotTrain.NumClasses(), gotTest.Pixels())
		}
		for i, v := range gotTest.Images {
			if v != test.Images[i] || gotTest.Labels[i/(c*400)] != test.Labels[i/(c*400)] {
				t.Fatalf("test value %d: %v, wrote %v", i, v, test.Images[i])
			}
		}
		b := NewBatches(gotTrain, 4, 1, true)
		if !b.Next() || len(b.X) != 4*c*400 || len(b.Y) != 4*3 {
			t.Fatalf("a batch of %d values and %d targets", len(b.X), len(b.Y))
		}
	}
}

// TestOwnSetRefusedFromHeaders: sets whose files do not go together are refused from their
// headers, naming the files.
func TestOwnSetRefusedFromHeaders(t *testing.T) {
	write := func(t *testing.T, train, test *Set) string {
		dir := t.TempDir()
		if err := WriteSet(dir, train, true); err != nil {
			t.Fatal(err)
		}
		if err := WriteSet(dir, test, false); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	t.Run("shapes", func(t *testing.T) {
		dir := write(t, ownSet(5, 1, 20, 20, 3, 1), ownSet(5, 1, 16, 20, 3, 2))
		if _, err := ReadSetInfo(dir); !errors.Is(err, ErrSet) || !strings.Contains(err.Error(), "one shape") {
			t.Errorf("%v", err)
		}
	})
	t.Run("counts", func(t *testing.T) {
		dir := write(t, ownSet(5, 1, 8, 8, 3, 1), ownSet(5, 1, 8, 8, 3, 2))
		if err := WriteIDXFile(filepath.Join(dir, MNISTTrainLabels), &IDX{Type: Uint8, Shape: []int{6}, Data: make([]uint8, 6)}); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadSetInfo(dir); !errors.Is(err, ErrSet) || !strings.Contains(err.Error(), "6 labels but") {
			t.Errorf("%v", err)
		}
	})
	t.Run("type", func(t *testing.T) {
		dir := write(t, ownSet(5, 1, 8, 8, 3, 1), ownSet(5, 1, 8, 8, 3, 2))
		if err := WriteIDXFile(filepath.Join(dir, MNISTTestImages), &IDX{Type: Float32, Shape: []int{5, 8, 8}, Data: make([]float32, 320)}); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadSetInfo(dir); !errors.Is(err, ErrSet) || !strings.Contains(err.Error(), MNISTTestImages) {
			t.Errorf("%v", err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		dir := write(t, ownSet(5, 1, 8, 8, 3, 1), ownSet(5, 1, 8, 8, 3, 2))
		os.Remove(filepath.Join(dir, MNISTTestLabels))
		if _, err := ReadSetInfo(dir); err == nil || !strings.Contains(err.Error(), MNISTTestLabels) {
			t.Errorf("%v", err)
		}
	})
}
