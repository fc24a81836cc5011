package graphtrain

import "testing"

func TestRecoverPanic(t *testing.T) {
	f := func() (err error) {
		defer recoverPanic(&err, "Train")
		panic("boom")
	}
	if err := f(); err == nil || err.Error() != "graphtrain: Train: your graph made Gorgonia panic: boom" {
		t.Errorf("%v: want the panic as graphtrain's error", err)
	}
}
