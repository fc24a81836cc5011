package mt19937

import "testing"

// TestNumpySeed42 checks the first draws against numpy:
// np.random.seed(42); np.random.rand(3) = [0.3745401188473625, 0.9507143064099162, 0.7319939418114051].
func TestNumpySeed42(t *testing.T) {
	r := New(42)
	for i, want := range []float64{0.3745401188473625, 0.9507143064099162, 0.7319939418114051} {
		if got := r.Float64(); got != want {
			t.Errorf("draw %d: %v, want %v", i, got, want)
		}
	}
}
