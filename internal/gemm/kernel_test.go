package gemm

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

// Every tile of every family is called directly (Sgemm only reaches a
// family's secondary tiles on some shapes): packed and strided (unpacked)
// panels, load 0 and 1, against a float64 reference; the C padding around
// the tile must stay untouched.
func TestKernelTilesDirect(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	for _, f := range kernels {
		for _, kn := range f.tiles {
			mr, nr := kn.mr, kn.nr
			for _, k := range []int{1, 2, 3, 7, 64, 257} {
				for _, tc := range []struct{ sa, sb, load, pad int }{
					{mr, nr, 0, 0}, {mr, nr, 1, 3}, {mr + 5, nr + 3, 1, 1}, {mr + 1, nr, 0, 2},
				} {
					name := fmt.Sprintf("%s %dx%d k=%d sa=%d sb=%d load=%d", f.name, mr, nr, k, tc.sa, tc.sb, tc.load)
					a := randSlice(r, (k-1)*tc.sa+mr)
					b := randSlice(r, (k-1)*tc.sb+nr)
					ldc := nr + tc.pad
					c := randSlice(r, mr*ldc)
					for i := 0; i < mr; i++ {
						for j := nr; j < ldc; j++ {
							c[i*ldc+j] = float32(math.NaN())
						}
					}
					c0 := append([]float32(nil), c...)
					kn.fn(k, &a[0], &b[0], &c[0], ldc, tc.load, tc.sa, tc.sb)
					const u = 1.0 / (1 << 23)
					for i := 0; i < mr; i++ {
						for j := 0; j < ldc; j++ {
							g := c[i*ldc+j]
							if j >= nr {
								if !math.IsNaN(float64(g)) {
									t.Fatalf("%s: wrote padding C[%d,%d]", name, i, j)
								}
								continue
							}
							var s, abs float64
							if tc.load != 0 {
								s = float64(c0[i*ldc+j])
								abs = math.Abs(s)
							}
							for p := 0; p < k; p++ {
								v := float64(a[p*tc.sa+i]) * float64(b[p*tc.sb+j])
								s += v
								abs += math.Abs(v)
							}
							if d := math.Abs(float64(g) - s); !(d <= 2*float64(k+1)*u*abs) {
								t.Fatalf("%s: C[%d,%d] = %v, want %v", name, i, j, g, s)
							}
						}
					}
				}
			}
		}
	}
}
