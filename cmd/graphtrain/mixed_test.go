package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graphtrain/graphtrain/checkpoint"
	"github.com/graphtrain/graphtrain/datasets"
	"github.com/graphtrain/graphtrain/model"
)

// TestMixedDataSetsRefused: a --data-dir whose training files are Fashion-MNIST's and test
// files MNIST's (or the reverse), whose images are one set's and labels another's, or whose
// training and test files are swapped, is refused before training, naming what was found,
// not trained on without a word; so is a test set of Fashion-MNIST's images and MNIST's
// labels for eval (issue 22).
func TestMixedDataSetsRefused(t *testing.T) {
	const fashion = "/usr/share/datasets/fashion-mnist"
	if _, err := os.Stat(filepath.Join(fashion, "t10k-labels-idx1-ubyte.gz")); err != nil {
		t.Skipf("Debian's package dataset-fashion-mnist is not installed (%v); make fashion-deps installs it", err)
	}
	needMNIST(t)
	mnist, err := datasets.DefaultDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	link := func(sub, from string, names ...string) {
		os.MkdirAll(filepath.Join(dir, sub), 0o755)
		for _, n := range names {
			if err := os.Symlink(filepath.Join(from, n+".gz"), filepath.Join(dir, sub, n+".gz")); err != nil {
				t.Fatal(err)
			}
		}
	}
	train := []string{datasets.MNISTTrainImages, datasets.MNISTTrainLabels}
	test := []string{datasets.MNISTTestImages, datasets.MNISTTestLabels}
	link("a", fashion, train...)
	link("a", mnist, test...)
	link("b", mnist, train...)
	link("b", fashion, test...)
	// Fashion-MNIST's images with MNIST's labels, and the same for the test set alone.
	link("c", fashion, datasets.MNISTTrainImages)
	link("c", mnist, datasets.MNISTTrainLabels)
	link("c", mnist, test...)
	link("d", mnist, train...)
	link("d", fashion, datasets.MNISTTestImages)
	link("d", mnist, datasets.MNISTTestLabels)
	// The training and test files swapped.
	os.MkdirAll(filepath.Join(dir, "e"), 0o755)
	for i, n := range append(train, test...) {
		os.Symlink(filepath.Join(mnist, append(test, train...)[i]+".gz"), filepath.Join(dir, "e", n+".gz"))
	}
	for _, c := range []struct{ data, dataset, want string }{
		{"a", "mnist", "--data-dir a: its train-images-idx3-ubyte is Fashion-MNIST's train-images-idx3-ubyte; give a directory of MNIST's four files"},
		{"b", "fashion", "--data-dir b: its train-images-idx3-ubyte is MNIST's train-images-idx3-ubyte; give a directory of Fashion-MNIST's four files"},
		{"c", "mnist", "--data-dir c: its train-images-idx3-ubyte is Fashion-MNIST's train-images-idx3-ubyte; give a directory of MNIST's four files"},
		{"d", "mnist", "--data-dir d: its t10k-images-idx3-ubyte is Fashion-MNIST's t10k-images-idx3-ubyte"},
		{"e", "mnist", "--data-dir e: its train-images-idx3-ubyte is MNIST's t10k-images-idx3-ubyte"},
	} {
		r := runBin(t, dir, "", "train", "mnist", "--data-dir", c.data, "--dataset", c.dataset, "--hidden", "8", "--limit", "300", "--epochs", "1", "--out", "o-"+c.data)
		if r.code == 0 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("train on %s: exit %d, %s", c.data, r.code, r.stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, "o-"+c.data, "model.json")); err == nil {
			t.Errorf("a checkpoint was written for the mixed set %s", c.data)
		}
	}
	m, _ := model.NewMLP(8, 1)
	checkpoint.SaveCheckpoint(filepath.Join(dir, "mlp"), m, nil, checkpoint.Checkpoint{})
	r := runBin(t, dir, "", "eval", "mnist", "--weights", "mlp", "--data-dir", "d")
	if want := "--data-dir d: its t10k-images-idx3-ubyte is Fashion-MNIST's t10k-images-idx3-ubyte"; r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("eval on d: exit %d, %s", r.code, r.stderr)
	}
}
