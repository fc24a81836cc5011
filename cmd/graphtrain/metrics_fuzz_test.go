package main

import (
	"testing"
)

// FuzzParseMetrics feeds the metrics parser anything: it must accept only epochs it can plot
// (bounded, finite) and refuse the rest with a message, never panic.
func FuzzParseMetrics(f *testing.F) {
	f.Add([]byte(`{"epoch":1,"train_loss":0.3,"val_accuracy":0.9,"seconds":1,"samples_per_second":100,"best":true}` + "\n"))
	f.Add([]byte(`{"epoch":100000000,"train_loss":0.2,"val_accuracy":0.95}`))
	f.Add([]byte("\n\n[1]\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		stats, err := parseMetrics(raw)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty message")
			}
			return
		}
		if len(stats) == 0 || len(stats) > maxMetricsLines {
			t.Fatalf("%d epochs accepted", len(stats))
		}
		for _, s := range stats {
			if s.Epoch < 0 || s.Epoch > maxMetricsEpoch || !finite(s.TrainLoss, s.ValAccuracy) || s.ValAccuracy < 0 || s.ValAccuracy > 1 {
				t.Fatalf("accepted %+v", s)
			}
		}
		if len(integerTicks(0, float64(stats[len(stats)-1].Epoch))) > 2*maxMetricsEpoch {
			t.Fatal("too many ticks")
		}
	})
}

// TestIntegerTicksBounded: a plot of epochs 1 to a million has a few dozen ticks, not a
// million.
func TestIntegerTicksBounded(t *testing.T) {
	if n := len(integerTicks(1, 1e6)); n > 50 {
		t.Errorf("%d ticks for epochs 1 to 1e6", n)
	}
	if n := len(integerTicks(1, 10)); n != 10 {
		t.Errorf("%d ticks for epochs 1 to 10, want one each", n)
	}
}
