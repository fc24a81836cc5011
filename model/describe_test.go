package model

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// The built-in models' layers are descriptions like any other: they write and read back.
func TestBuiltinArchRoundTrip(t *testing.T) {
	for _, s := range []Spec{cnnSpec(), mlpSpec(512, 256), XORSpec(4, true)} {
		arch, err := s.Arch()
		if err != nil {
			t.Fatal(err)
		}
		text := Describe(arch)
		back, err := ParseArch(text)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		if !reflect.DeepEqual(back, arch) {
			t.Errorf("%s read back as %s", text, Describe(back))
		}
	}
	arch, _ := cnnSpec().Arch()
	if got, want := Describe(arch), "conv(6,5,pad=2) relu maxpool(2) conv(16,5) relu maxpool(2) flatten dense(120) relu dense(84) relu dense(10)"; got != want {
		t.Errorf("cnn: %s, want %s", got, want)
	}
}

func TestParseArch(t *testing.T) {
	text := `# a wide convnet
conv(32, 5, pad=same) relu maxpool(2)
conv(64,5,stride=1) leakyrelu(0.1) maxpool(2,stride=2)   # no flatten: implied
dense(256) tanh dense(10)`
	layers, err := ParseArch(text)
	if err != nil {
		t.Fatal(err)
	}
	norm, placed, err := NormalizeArch(Shape{1, 28, 28}, layers)
	if err != nil {
		t.Fatal(err)
	}
	want := "conv(32,5,pad=2) relu maxpool(2) conv(64,5) leakyrelu(0.1) maxpool(2) flatten dense(256) tanh dense(10)"
	if got := Describe(norm); got != want {
		t.Errorf("normalised %s, want %s", got, want)
	}
	if p := placed[6]; p.In != (Shape{64, 5, 5}) || p.Out != (Shape{C: 1600}) {
		t.Errorf("flatten %v -> %v", p.In, p.Out)
	}
}

func TestParseArchErrors(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"", "no layer"},
		{"dense(10", "without its ')'"},
		{"dense(10) softmax", `layer 2 softmax: unknown layer`},
		{"conv(32)", "layer 1 conv(32): conv takes 2 numbers"},
		{"conv(32,5,pad=x) dense(10)", `pad "x": want a whole number or same`},
		{"conv(32,4,pad=same)", "pad=same needs an odd kernel"},
		{"conv(32,5,dilation=2)", `unknown argument "dilation"`},
		{"dense(2.5)", "units 2.5: must be a whole number"},
		{"dense(0)", "units 0"},
		{"dropout(1.5)", "rate 1.5"},
		{"leakyrelu(-1)", "slope -1"},
		{"maxpool(2,3)", "maxpool takes 1 number"},
		{"dense(a)", `"a" is not a number`},
	} {
		_, err := ParseArch(c.text)
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrSpec) {
			t.Errorf("%q: %v, want an error with %q", c.text, err, c.want)
		}
	}
	for _, c := range []struct{ text, want string }{
		{"conv(32,5) maxpool(2) conv(64,5) maxpool(2) conv(64,5) dense(10)", "layer 5 conv(64,5): its input is 64x4x4, smaller than the kernel"},
		{"dense(10) relu", "must end in a dense layer"},
		{"conv(8,3) relu", "must end in a dense layer"},
		{"dense(10) avgpool(2) dense(10)", "layer 2 avgpool(2): its input is a vector of 10, not an image"},
	} {
		layers, err := ParseArch(c.text)
		if err != nil {
			t.Fatalf("%q: %v", c.text, err)
		}
		_, _, err = NormalizeArch(Shape{1, 28, 28}, layers)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want an error with %q", c.text, err, c.want)
		}
	}
}

// FuzzParseArch: no description panics, and a description that reads reads back the same
// from its normalised form.
func FuzzParseArch(f *testing.F) {
	f.Add("conv(32,5,pad=2) relu maxpool(2) dense(10)")
	f.Add("# c\ndense(16) leakyrelu(0.2)\n dense(3)")
	f.Fuzz(func(t *testing.T, text string) {
		layers, err := ParseArch(text)
		if err != nil {
			return
		}
		back, err := ParseArch(Describe(layers))
		if err != nil || !reflect.DeepEqual(back, layers) {
			t.Fatalf("%q -> %q -> %v, %v", text, Describe(layers), back, err)
		}
	})
}

func TestNewNamed(t *testing.T) {
	for _, c := range []struct {
		kind   string
		hidden []int
		ok     bool
	}{
		{"xor", []int{4}, true}, {"xor", []int{4, 2}, false}, {"xor", nil, false},
		{"mlp", []int{16}, true}, {"mlp", []int{16, 8}, true}, {"cnn", nil, true}, {"cnn", []int{8}, false},
		{"custom", nil, false}, {"rnn", nil, false},
	} {
		m, err := NewNamed(c.kind, c.hidden, true, 1)
		if (err == nil) != c.ok || err == nil && m.Spec.Kind != c.kind {
			t.Errorf("%s %v: %v", c.kind, c.hidden, err)
		}
	}
	if !cnnSpec().Convolutional() || mlpSpec(8).Convolutional() {
		t.Error("Convolutional: the cnn is, the mlp is not")
	}
	if got := NamedKinds(); !reflect.DeepEqual(got, []string{"xor", "mlp", "cnn"}) {
		t.Errorf("NamedKinds %v", got)
	}
}
