//go:build gpu

package cuda

import (
	"fmt"
	"strings"
	"testing"

	"gorgonia.org/cu"

	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/ir/ref"
	"github.com/graphtrain/graphtrain/lower/lowertest"
)

// TestOddShapesOnDevice runs lowertest's shapes that the models do not make (AddAll and
// AddConvs: products, sums, softmaxes, windows, elementwise ops, batch norms, augmentation,
// every fused convolution and the backward through a pooling's route) on the device, launch
// by launch, against the host interpreter, as TestEmuOddShapes and TestEmuConvShapes do in the
// emulator: every buffer of each launch within emuTol, the device's values then fed to both,
// in both precisions. Then each filter gradient on a _c8 kernel runs again on the _t4 kernel,
// and each convolution on an _n6 kernel on the _n8 one, and must give the same bits
// (TestEmuNarrowFilterBits, TestEmuSixChannelBits, on the device's FMAs).
func TestOddShapesOnDevice(t *testing.T) {
	needGPU(t)
	g, err := openGPU()
	if err != nil {
		t.Fatal(err)
	}
	d := &device{g: g}
	defer func() { filtTiledAlways, convN8Always = false, false }()
	worst := worstErrs{}
	for _, dtype := range []ir.Dtype{ir.Float32, ir.Float64} {
		o := lowertest.NewOdd(dtype)
		o.AddAll()
		o.AddConvs()
		p := o.P
		h := ref.New(p, nil, nil)
		var m *memory
		var plain, tiled, eight *compiled
		err := d.Do(func() error {
			mem, err := d.Alloc(p)
			m = mem.(*memory)
			if err != nil {
				return err
			}
			for id, v := range o.Inputs {
				copy(h.Buf(id), v)
				if err := m.Upload(id, encodeBuf(p, id, v)); err != nil {
					return err
				}
			}
			// The program's launches on their kernels, then with each flag set.
			var none bool
			for _, c := range []struct {
				flag *bool
				out  **compiled
			}{{&none, &plain}, {&filtTiledAlways, &tiled}, {&convN8Always, &eight}} {
				*c.flag = true
				ls, err := d.Prepare(p, m)
				*c.flag = false
				if err != nil {
					return err
				}
				*c.out = ls.(*compiled)
			}
			return nil
		})
		t.Cleanup(func() {
			d.Do(func() error {
				for _, c := range []*compiled{plain, tiled, eight} {
					if c != nil {
						c.Free()
					}
				}
				if m != nil {
					m.Free()
				}
				return nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		read := func(id int) ([]float64, error) {
			data := make([]byte, p.Buffers[id].Bytes())
			err := d.Do(func() error { return m.Download(id, data) })
			return decodeBuf(p, id, data), err
		}
		run := func(c *compiled, i int) error {
			return d.Do(func() error {
				if err := c.ls.only(i).run(c.p); err != nil {
					return err
				}
				return cu.Synchronize()
			})
		}
		narrow, six := 0, 0
		for i, l := range p.Launches {
			if err := run(plain, i); err != nil {
				t.Fatalf("%s launch %d %s: %v", dtype, i, l.What, err)
			}
			if err := h.Exec(l); err != nil {
				t.Fatalf("%s launch %d %s (host): %v", dtype, i, l.What, err)
			}
			compareLaunch(t, fmt.Sprintf("%s launch %d", dtype, i), p, l, read, h, worst)
			var other *compiled
			name, otherName := kernelFor(l).Name, ""
			switch {
			case strings.Contains(name, "_c8_") && l.Op != ir.ConvFilter: // in parts: also on _t4
				other, otherName, narrow = tiled, strings.Replace(name, "_c8_", "_t4_", 1), narrow+1
			case strings.Contains(name, "_n6_"):
				other, otherName, six = eight, strings.Replace(name, "_n6_", "_n8_", 1), six+1
			default:
				continue
			}
			out := l.Args[len(l.Args)-1]
			want, err := read(out)
			if err != nil {
				t.Fatal(err)
			}
			if err := run(other, i); err != nil {
				t.Fatalf("%s launch %d %s on %s: %v", dtype, i, l.What, otherName, err)
			}
			got, err := read(out)
			if err != nil {
				t.Fatal(err)
			}
			if j := firstDiff(got, want); j >= 0 {
				t.Errorf("%s %s: value %d is %v on %s, %v on %s", dtype, l.What, j, got[j], otherName, want[j], name)
			}
		}
		if narrow < 10 || six < 20 {
			t.Errorf("%s: %d launches on a _c8 kernel and %d on an _n6 one, want 10 and 20 or more", dtype, narrow, six)
		}
		t.Logf("%s: %d launches, %d narrow filter gradients also on _t4, %d convolutions also on _n8", dtype, len(p.Launches), narrow, six)
	}
	worst.log(t)
}
