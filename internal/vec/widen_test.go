package vec

import (
	"math"
	"math/rand"
	"testing"
)

// TestAddWiden checks every implementation of AddWiden bit for bit against the Go loop, on
// every length of the package's tests, unaligned windows with sentinels on either side (not
// touched), and values of every kind: large and small, ±0, ±Inf, NaN, denormals.
func TestAddWiden(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1e-45, -3e-39, 3.4e38, -1.5}
	def := Impl()
	defer Use(def)
	for _, name := range Impls() {
		Use(name)
		for _, n := range lengths {
			x := make([]float32, n+2)
			acc := make([]float64, n+2)
			for i := range x {
				x[i] = float32(r.NormFloat64() * math.Pow(10, float64(r.Intn(20)-10)))
				if r.Intn(8) == 0 {
					x[i] = special[r.Intn(len(special))]
				}
				acc[i] = r.NormFloat64() * 1e3
			}
			want := append([]float64(nil), acc...)
			addWidenGo(want[1:n+1], x[1:n+1])
			acc[0], acc[n+1] = sentinel, sentinel
			want[0], want[n+1] = sentinel, sentinel
			AddWiden(acc[1:n+1], x[1:n+1])
			for i := range acc {
				if math.Float64bits(acc[i]) != math.Float64bits(want[i]) && !(math.IsNaN(acc[i]) && math.IsNaN(want[i])) {
					t.Fatalf("%s, n %d: acc[%d] = %v, want %v (x %v)", name, n, i, acc[i], want[i], x[i])
				}
			}
		}
	}
}
