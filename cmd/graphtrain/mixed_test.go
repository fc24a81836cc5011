package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graphtrain/graphtrain/datasets"
)

// TestMixedDataSetsRefused: a --data-dir whose training files are Fashion-MNIST's and test
// files MNIST's (or the reverse) is refused before training, naming what was found, not
// trained on without a word (issue 22).
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
	for _, c := range []struct{ data, dataset, want string }{
		{"a", "mnist", "--data-dir a: its training files are Fashion-MNIST's, not MNIST's"},
		{"b", "fashion", "--data-dir b: its training files are MNIST's, not Fashion-MNIST's"},
	} {
		r := runBin(t, dir, "", "train", "mnist", "--data-dir", c.data, "--dataset", c.dataset, "--hidden", "8", "--limit", "300", "--epochs", "1", "--out", "o-"+c.data)
		if r.code == 0 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("train on %s: exit %d, %s", c.data, r.code, r.stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, "o-"+c.data, "model.json")); err == nil {
			t.Errorf("a checkpoint was written for the mixed set %s", c.data)
		}
	}
}
