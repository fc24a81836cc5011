package vec

import (
	"math"
	"math/rand"
	"testing"
)

// TestMaxPool2ReLU runs every implementation on planes of several widths, window counts
// (whole vectors and not) and values with ties, zeros of both signs and negatives, against
// the portable code bit for bit, checks a few routes by hand, and that nothing past the
// results is written.
func TestMaxPool2ReLU(t *testing.T) {
	defer Use(Impl())
	r := rand.New(rand.NewSource(9))
	negZero := float32(math.Copysign(0, -1))
	draw := func() float32 {
		switch r.Intn(6) {
		case 0:
			return 0
		case 1:
			return negZero
		case 2:
			return float32(r.Intn(3)) // ties
		case 3:
			return -float32(r.Intn(3) + 1)
		}
		return float32(r.NormFloat64())
	}
	for _, s := range [][3]int{{32, 14, 16}, {32, 14, 14}, {14, 5, 5}, {14, 5, 7}, {40, 3, 20}, {2, 1, 1}, {70, 4, 33}, {9, 2, 4}} {
		gw, rows, n := s[0], s[1], s[2]
		pre := make([]float32, (2*rows-1)*gw+2*n+PoolSlack)
		for i := range pre {
			pre[i] = draw()
		}
		want, wantRoute := make([]float32, rows*n), make([]float32, rows*n)
		pool2Go(want, wantRoute, pre, gw, rows, n)
		for _, name := range Impls() {
			if err := Use(name); err != nil {
				t.Fatal(err)
			}
			got, route := make([]float32, rows*n+20), make([]float32, rows*n+20)
			for i := rows * n; i < len(got); i++ {
				got[i], route[i] = -99, -99
			}
			MaxPool2ReLU(got, route, pre, gw, rows, n)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) || route[i] != wantRoute[i] {
					t.Fatalf("%s %v: window %d: %v route %v, want %v route %v", name, s, i, got[i], route[i], want[i], wantRoute[i])
				}
			}
			for i := rows * n; i < len(got); i++ {
				if got[i] != -99 || route[i] != -99 {
					t.Fatalf("%s %v: wrote past the results at %d", name, s, i)
				}
			}
		}
	}
	// By hand: (−1, 2, 2, 0.5) pools to 2 at place 1 (the first 2), open; (−3, −1, −2, −0)
	// to 0 at place 0, whose ReLU is closed: route 4.
	pre := make([]float32, 4+PoolSlack)
	copy(pre, []float32{-1, 2, 2, 0.5})
	var p, rt [1]float32
	pool2Go(p[:], rt[:], pre, 2, 1, 1)
	if p[0] != 2 || rt[0] != 1 {
		t.Errorf("pooled %v route %v, want 2 and 1", p[0], rt[0])
	}
	copy(pre, []float32{-3, -1, -2, negZero})
	pool2Go(p[:], rt[:], pre, 2, 1, 1)
	if p[0] != 0 || rt[0] != 4 {
		t.Errorf("pooled %v route %v, want 0 and 4", p[0], rt[0])
	}
}
