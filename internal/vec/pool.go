package vec

import "fmt"

// PoolSlack is how many values past its last window a MaxPool2ReLU input must
// extend: the SIMD versions read whole vectors.
const PoolSlack = 32

// MaxPool2ReLU is the ReLU and 2x2 max pooling at stride 2 of a plane of
// pre-activations, rows of gw values, with each window's route. For window
// (y, x), y < rows and x < n (2n ≤ gw), its four values are v0 = pre[2y·gw+2x],
// v1 = pre[2y·gw+2x+1], v2 = pre[(2y+1)·gw+2x], v3 = pre[(2y+1)·gw+2x+1]. Each
// has the mask mᵢ = 1 if vᵢ ≥ 0 else 0 (NaN: 0) and the activation aᵢ = vᵢ·mᵢ.
// Then, with mx(a, b) = a if a > b else b,
//
//	pooled[y·n+x] = p = mx(mx(a0, a1), mx(a2, a3))
//	route[y·n+x]  = t + 4·(1 − m_t), t the first i with aᵢ = p (3 when none is)
//
// so that the route names the place the gradient goes back to and whether
// the ReLU lets it through. Every implementation gives the same bits. pre must
// hold at least (2·rows−1)·gw + 2n + PoolSlack values (it panics otherwise).
func MaxPool2ReLU(pooled, route, pre []float32, gw, rows, n int) {
	if rows < 0 || n < 0 || 2*n > gw {
		panic(fmt.Sprintf("vec: MaxPool2ReLU of %d rows of %d windows in rows of %d", rows, n, gw))
	}
	if rows == 0 || n == 0 {
		return
	}
	if len(pooled) < rows*n || len(route) < rows*n || len(pre) < (2*rows-1)*gw+2*n+PoolSlack {
		panic(fmt.Sprintf("vec: MaxPool2ReLU: %d pooled, %d routes, %d values for %d rows of %d windows in rows of %d",
			len(pooled), len(route), len(pre), rows, n, gw))
	}
	active.pool2(pooled, route, pre, gw, rows, n)
}

// mx is max as the SIMD instructions compute it: a if a > b, else b (b when
// they are equal zeros or either is NaN).
func mx(a, b float32) float32 {
	if a > b {
		return a
	}
	return b
}

func pool2Go(pooled, route, pre []float32, gw, rows, n int) {
	for y := 0; y < rows; y++ {
		r0, r1 := pre[2*y*gw:][:2*n], pre[(2*y+1)*gw:][:2*n]
		po, ro := pooled[y*n:][:n], route[y*n:][:n]
		for x := range po {
			a0, m0 := relu(r0[2*x])
			a1, m1 := relu(r0[2*x+1])
			a2, m2 := relu(r1[2*x])
			a3, m3 := relu(r1[2*x+1])
			p := mx(mx(a0, a1), mx(a2, a3))
			// The first place equal to p (3 when none is) and its mask, last to first.
			t, m := float32(3), m3
			if a2 == p {
				t, m = 2, m2
			}
			if a1 == p {
				t, m = 1, m1
			}
			if a0 == p {
				t, m = 0, m0
			}
			po[x] = p
			ro[x] = t + 4 - 4*m
		}
	}
}

// relu is v·m and the mask m: 1 where v ≥ 0, else 0.
func relu(v float32) (a, m float32) {
	if v >= 0 {
		m = 1
	}
	return v * m, m
}
