package datasets

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/png"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestFashionFromDebian takes Fashion-MNIST from Debian's package dataset-fashion-mnist, as
// 'data fetch --dataset fashion' does with no network: the four files, the SHA-256 of their
// decompressed contents, the sets' sizes and the first ten training labels.
func TestFashionFromDebian(t *testing.T) {
	if _, err := os.Stat(filepath.Join(FashionDebianDir, MNISTTrainLabels+".gz")); err != nil {
		t.Skipf("Debian's package dataset-fashion-mnist is not installed (%v); make fashion-deps installs it", err)
	}
	dir := filepath.Join(t.TempDir(), "fashion")
	var log bytes.Buffer
	f := Fashion.NewFetcher(&log)
	f.Mirrors = nil // the package only: no network
	got, err := f.Fetch(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("%d files", len(got))
	}
	for i, g := range got {
		if g.SHA256 != FashionFiles[i].SHA256 || !strings.Contains(g.Source, "Debian package dataset-fashion-mnist") {
			t.Errorf("%s: SHA-256 %s from %s, want %s from the Debian package", g.Name, g.SHA256, g.Source, FashionFiles[i].SHA256)
		}
	}
	if !strings.Contains(log.String(), "fetching Fashion-MNIST, 4 files") {
		t.Errorf("log:\n%s", log.String())
	}
	train, test, err := LoadMNIST(dir)
	if err != nil {
		t.Fatal(err)
	}
	if train.N != MNISTTrainN || test.N != MNISTTestN {
		t.Errorf("%d training and %d test images", train.N, test.N)
	}
	if first := train.Labels[:10]; !slices.Equal(first, []uint8{9, 0, 0, 3, 0, 2, 7, 2, 5, 5}) {
		t.Errorf("first ten training labels %v, want 9 0 0 3 0 2 7 2 5 5", first)
	}
	if IdentifyTestSet(test.Labels) != Fashion || IdentifyTestSet(train.Labels) != nil {
		t.Errorf("the test labels are not recognised as Fashion-MNIST's")
	}
	if Fashion.ClassName(9) != "Ankle boot" || Fashion.ClassName(0) != "T-shirt/top" {
		t.Errorf("class names %v", Fashion.Classes)
	}
	// Ensure finds them there and fetches nothing.
	log.Reset()
	if err := Fashion.Ensure(dir, &log); err != nil || log.Len() != 0 {
		t.Errorf("Ensure over a complete directory: %v, %q", err, log.String())
	}
}

// TestFetchByContentSHA256: a file checked by the SHA-256 of its decompressed contents is
// taken from a local directory or a mirror however it was compressed, and refused when its
// contents differ, whatever the source.
func TestFetchByContentSHA256(t *testing.T) {
	content := bytes.Repeat([]byte("fashion-mnist "), 1000)
	sum := sha256.Sum256(content)
	rf := RemoteFile{Name: "a.gz", SHA256: hex.EncodeToString(sum[:]), RawSize: int64(len(content))}
	gz := func(level int, b []byte) []byte {
		var buf bytes.Buffer
		w, _ := gzip.NewWriterLevel(&buf, level)
		w.Write(b)
		w.Close()
		return buf.Bytes()
	}
	fast, best := gz(gzip.BestSpeed, content), gz(gzip.BestCompression, content)
	if bytes.Equal(fast, best) {
		t.Fatal("the two compressions should differ")
	}
	wrong := gz(gzip.BestSpeed, append(append([]byte{}, content...), 'x'))

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/wrong/a.gz":
			w.Write(wrong)
		case "/good/a.gz":
			w.Write(best)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	// A local copy with other content is refused; the mirror's, compressed otherwise, taken.
	local := t.TempDir()
	os.WriteFile(filepath.Join(local, "a.gz"), wrong, 0o644)
	var log bytes.Buffer
	f := &Fetcher{Files: []RemoteFile{rf}, What: "test data", Locals: []LocalSource{{Dir: local, Label: "a package"}},
		Mirrors: []string{srv.URL + "/wrong/", srv.URL + "/good/"}, Log: &log}
	dir := t.TempDir()
	got, err := f.Fetch(dir)
	if err != nil || len(got) != 1 || got[0].Source != srv.URL+"/good/a.gz" || got[0].SHA256 != rf.SHA256 {
		t.Fatalf("fetch: %+v, %v\n%s", got, err, log.String())
	}
	if !strings.Contains(log.String(), "/wrong/: a.gz: its contents are 14001 bytes, want 14000") ||
		!strings.Contains(log.String(), "/good/a.gz: SHA-256 of the contents verified") {
		t.Errorf("log:\n%s", log.String())
	}
	fetchTestNoLeftovers(t, dir)

	// A local copy with the right content, compressed otherwise, is taken without the network.
	os.WriteFile(filepath.Join(local, "a.gz"), fast, 0o644)
	dir = t.TempDir()
	f.Mirrors = []string{"http://127.0.0.1:1/never/"}
	got, err = f.Fetch(dir)
	if err != nil || got[0].Source != "a package ("+local+")" {
		t.Fatalf("fetch from the local copy: %+v, %v", got, err)
	}
	// Uncompressed, too; and a damaged file in the directory is replaced.
	os.WriteFile(filepath.Join(dir, "a.gz"), content[:100], 0o644)
	os.WriteFile(filepath.Join(local, "a.gz"), content, 0o644)
	log.Reset()
	got, err = f.Fetch(dir)
	if err != nil || got[0].Source != "a package ("+local+")" || !strings.Contains(log.String(), "its contents are 100 bytes, want 14000") {
		t.Fatalf("fetch over a damaged file: %+v, %v\n%s", got, err, log.String())
	}

	// Nowhere right: the error names every source and why.
	os.WriteFile(filepath.Join(local, "a.gz"), wrong, 0o644)
	f.Mirrors = []string{srv.URL + "/wrong/"}
	_, err = f.Fetch(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "test data") || !strings.Contains(err.Error(), "a package") || !strings.Contains(err.Error(), "/wrong/") {
		t.Errorf("fetch with no good source: %v", err)
	}
}

// TestFashionFromImage: a dark object on white paper becomes a light object on black, its
// longer side 28 pixels, centred by its bounding box, its grey level kept (not stretched to
// 1) less 5% of the contrast.
func TestFashionFromImage(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 200, 200))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for y := 20; y < 180; y++ { // 160 tall
		for x := 50; x < 150; x++ { // 100 wide
			img.Pix[y*200+x] = 51 // grey 0.2: ink 0.8
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	px, err := FashionFromImage(&buf)
	if err != nil {
		t.Fatal(err)
	}
	// 100x160 scaled to 18x28 (17.5 rounded), placed at x 5..22.
	for y := 0; y < 28; y++ {
		for x := 0; x < 28; x++ {
			v := px[y*28+x]
			inside := x >= 5 && x < 23
			if inside && math.Abs(float64(v)-0.76) > 0.01 || !inside && v != 0 {
				t.Fatalf("pixel (%d, %d) = %v; want 0.76 inside x 5..22, 0 outside\n%s", x, y, v, DigitArt(px))
			}
		}
	}
	if _, err := FashionFromImage(bytes.NewReader([]byte("not an image"))); err == nil || !strings.Contains(err.Error(), "datasets: fashion image") {
		t.Errorf("not an image: %v", err)
	}
}
