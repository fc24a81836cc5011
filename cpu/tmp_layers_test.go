package cpu

import (
	"testing"

	"graphtrain/lower/lowertest"
	"graphtrain/model"
)

func TestTmpLayers(t *testing.T) {
	for _, d := range []struct {
		text string
		in   model.Shape
	}{
		{"dense(6) dropout(0.5) dense(3)", model.Shape{C: 5}},
		{"dense(6) batchnorm dense(3)", model.Shape{C: 5}},
		{"conv(2,3) batchnorm dense(3)", model.Shape{C: 1, H: 6, W: 6}},
		{"conv(2,3) avgpool(2) dense(3)", model.Shape{C: 1, H: 6, W: 6}},
		{"avgpool(2) dense(3)", model.Shape{C: 2, H: 4, W: 4}},
	} {
		m, err := model.NewCustom(d.text, d.in, 3)
		if err != nil {
			t.Fatal(err)
		}
		checkStepMatchesVM(t, d.text, lowertest.Case{M: m, Batch: 5, Solver: "sgd", LR: 0.1})
	}
}
