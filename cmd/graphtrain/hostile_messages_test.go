package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graphtrain/graphtrain/datasets"
)

// The second campaign's faults (testdata/hostile-campaign.sh): refusals that did not say what
// to do, library and system text reaching the user (decoders, temporary names, mkdir, the
// network), outputs written through links or half-written, model.json fields read without a
// check. Each case is one fast run of the binary.

// TestHostileAdvice checks refusals that named the problem but not what to do, or showed a
// library's text.
func TestHostileAdvice(t *testing.T) {
	root := modelDirs(t)
	write := func(name string, b []byte) string {
		os.WriteFile(filepath.Join(root, name), b, 0o644)
		return name
	}
	os.Mkdir(filepath.Join(root, "empty"), 0o755)
	os.Mkdir(filepath.Join(root, "d255"), 0o755)
	write("d255/"+datasets.MNISTTrainImages, append([]byte{0, 0, 8, 255}, make([]byte, 4*255)...))
	write("d255/"+datasets.MNISTTrainLabels, []byte{0, 0, 8, 1, 0, 0, 0, 0})
	zlibGarbage := pngChunks(28, 28, []byte("garbage!"))
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"version extra", []string{"version", "extra"}, "run 'graphtrain version --help'"},
		{"gradcheck alone", []string{"gradcheck"}, "give one model, xor, mlp or cnn; run 'graphtrain gradcheck --help'"},
		{"graph without an output", []string{"graph", "mlp"}, "nothing to write; give --dot FILE"},
		{"dataset cifar", []string{"train", "mnist", "--dataset", "cifar"}, `--dataset "cifar": must be mnist, fashion or own; run`},
		{"lr negative", []string{"train", "xor", "--lr", "-1"}, "--lr -1: must be a positive number; run 'graphtrain train xor --help'"},
		{"index out of range", []string{"predict", "mnist", "--weights", "mlp", "--index", "10000"}, "--index 10000: must be between 0 and 9999; run"},
		{"arch of an unknown layer", []string{"train", "mnist", "--arch", "frob(3)"}, "unknown layer"},
		{"xor checkpoint to eval mnist", []string{"eval", "mnist", "--weights", "xor"}, "not an MNIST model (mlp or cnn); give the --out of a 'graphtrain train mnist' run"},
		{"mlp checkpoint to predict xor", []string{"predict", "xor", "--weights", "mlp", "1", "0"}, "not an XOR net; give the --out of a 'graphtrain train xor' run"},
		{"xor checkpoint to inspect mnist", []string{"inspect", "mnist", "--weights", "xor", "--out", "io"}, "not an MNIST model (mlp or cnn); use 'graphtrain inspect xor'"},
		{"data inspect of a directory", []string{"data", "inspect", "."}, "give an IDX file, gzipped or not"},
		{"data inspect of nothing", []string{"data", "inspect", "none.idx"}, "does not exist; give an IDX file"},
		{"data inspect of /dev/zero", []string{"data", "inspect", "/dev/zero"}, "a device, not a regular file"},
		{"data inspect of a file cut short", []string{"data", "inspect", write("cut.idx", []byte{0, 0, 8, 2, 0, 1, 0, 0, 0, 1, 0, 0, 1})}, "the file is cut short or damaged"},
		{"data inspect of a secret", []string{"data", "inspect", write("secret", []byte("root:*:20000:0:::\n"))}, "is not an IDX file"},
		{"data inspect of a bad gzip header", []string{"data", "inspect", write("bad.gz", []byte{0x1f, 0x8b, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9})}, "its gzip header is damaged"},
		{"training images of 255 dimensions", []string{"train", "mnist", "--data-dir", "d255", "--out", "o"}, "it holds uint8 [0 0 0 ...] (255 dimensions); MNIST images are uint8 [n 28 28]"},
		{"predict a directory", []string{"predict", "mnist", "--weights", "mlp", "."}, "is a directory, not a file; give a PNG, JPEG or GIF picture"},
		{"predict a missing picture", []string{"predict", "mnist", "--weights", "mlp", "none.png"}, "does not exist; give a PNG, JPEG or GIF picture"},
		{"predict a PNG of damaged pixel data", []string{"predict", "mnist", "--weights", "mlp", write("z.png", zlibGarbage)}, "a damaged or unusual PNG picture (its compressed pixel data is damaged)"},
		{"predict a GIF of 0x0", []string{"predict", "mnist", "--weights", "mlp", write("zero.gif", gif0x0())}, "zero-size image (0x0); give a PNG, JPEG or GIF picture"},
		{"own set missing", []string{"train", "mnist", "--dataset", "own", "--data-dir", "empty", "--arch", "dense(10)", "--out", "o"}, "--data-dir empty: neither train-images-idx3-ubyte nor train-images-idx3-ubyte.gz is in empty; give a directory of your set's four IDX files"},
		{"mnist missing", []string{"eval", "mnist", "--weights", "mlp", "--data-dir", "empty"}, "MNIST is not in empty: neither t10k-images-idx3-ubyte nor t10k-images-idx3-ubyte.gz is in empty; fetch it with 'graphtrain data fetch --dir empty'"},
		{"an MNIST model on Fashion-MNIST", []string{"predict", "mnist", "--weights", "mlp", "--index", "1", "--dataset", "fashion", "--data-dir", "empty"}, "measures nothing on Fashion-MNIST; leave out --dataset"},
		{"predict a blank picture", []string{"predict", "mnist", "--weights", "mlp", write("blank.png", blankPNG(40, 40, 8, 0))}, "no digit found (blank image); give a PNG, JPEG or GIF picture of one digit"},
	}
	var rep rssReport
	for _, tc := range cases {
		r, rss := hostileRun(t, root, tc.args...)
		checkRefused(t, tc.name, r, rss, tc.want)
		rep.add(tc.name, rss)
		if strings.Contains(r.stderr, "root:") {
			t.Errorf("%s: the message shows the file's contents: %s", tc.name, r.stderr)
		}
	}
	rep.log(t, "advice")
	// A JSON result that cannot be written (stdout full) says so once, with what to do.
	cmd := exec.Command("sh", "-c", `exec "$0" "$@" >/dev/full`, binPath, "version", "--json")
	var e bytes.Buffer
	cmd.Stderr = &e
	cmd.Run()
	checkRefused(t, "version --json into /dev/full", result{code: cmd.ProcessState.ExitCode(), stderr: e.String()}, 0, "writing to standard output: no space left on device; what was printed is incomplete")
}

// pngChunks is a PNG of w x h 8-bit grey pixels whose IDAT chunk holds idat as it is.
func pngChunks(w, h int, idat []byte) []byte { return pngOf(w, h, 8, 0, idat) }

// gif0x0 is a GIF whose screen and only frame are 0x0.
func gif0x0() []byte {
	b := []byte("GIF89a\x00\x00\x00\x00\x80\x00\x00")
	b = append(b, make([]byte, 6)...) // a palette of two colours
	b = append(b, 0x2c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x02, 0x44, 0x01, 0x00)
	return append(b, 0x3b)
}
