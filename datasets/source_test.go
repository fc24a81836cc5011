package datasets_test

import (
	"testing"

	"github.com/graphtrain/graphtrain/backend"
	"github.com/graphtrain/graphtrain/datasets"
	"github.com/graphtrain/graphtrain/train"
)

// Batches feed train.Train directly, and a device that holds the whole training set.
var (
	_ train.Batches   = (*datasets.Batches)(nil)
	_ backend.Dataset = (*datasets.Batches)(nil)
)

func TestBatchIsTheCurrentBatch(t *testing.T) {
	s := &datasets.Set{N: 3, Rows: 28, Cols: 28, Images: make([]float32, 3*784), Labels: []uint8{4, 1, 9}}
	for i := range s.Images {
		s.Images[i] = float32(i)
	}
	b := datasets.NewBatches(s, 2, 1, false)
	b.Reset(1)
	if !b.Next() {
		t.Fatal("no first batch")
	}
	x, y := b.Batch()
	if len(x) != 2*784 || len(y) != 2*10 || &x[0] != &b.X[0] || &y[0] != &b.Y[0] || y[4] != 1 || y[10+1] != 1 {
		t.Errorf("Batch: %d images, %d targets, not the batch's own (targets %v)", len(x)/784, len(y)/10, y)
	}
}
