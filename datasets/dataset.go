package datasets

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/graphtrain/graphtrain/internal/safefile"
)

// Dataset describes a data set in MNIST's format (four IDX files: 60000 training and 10000
// test images of 28x28 uint8 pixels, labels 0-9): where it is cached, how it is fetched and
// verified, and what its ten classes are. LoadMNIST and its kin read any of them.
type Dataset struct {
	Name     string       // the --dataset value: "mnist", "fashion"
	Title    string       // for messages: "MNIST", "Fashion-MNIST"
	CacheDir string       // the folder under graphtrain in the user cache directory
	EnvVar   string       // the environment variable that names its directory, overriding the cache
	Files    []RemoteFile // the four files, gzipped, with what verifies them
	Classes  []string     // the ten classes' names, by label
	Noun     string       // what a class is called: "digit", "class"
	// Module is true when the Go module proxy holds the files (MNISTModule).
	Module bool
	// Locals are directories on this machine that may hold the files (a Debian package's).
	Locals []LocalSource
	// Mirrors are HTTPS base URLs of the files, tried last.
	Mirrors []string
	// TestLabelsSHA256 is the SHA-256 of the decompressed test labels file, which tells the
	// data sets apart once loaded (IdentifyTestSet).
	TestLabelsSHA256 string
	// TrainLabelsSHA256 is the same of the training labels file: with it, a directory whose
	// training files are another set's than its test files is told apart.
	TrainLabelsSHA256 string
}

// MNIST is the handwritten digits.
var MNIST = &Dataset{
	Name: "mnist", Title: "MNIST", CacheDir: "mnist", EnvVar: "GRAPHTRAIN_DATA",
	Files:   MNISTFiles,
	Classes: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
	Noun:    "digit",
	Module:  true,
	Mirrors: DefaultMirrors,
	// Measured on the official t10k-labels-idx1-ubyte.gz (MD5 ec29112dd5afa0611ce80d1b7f02629c).
	TestLabelsSHA256:  "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
	TrainLabelsSHA256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
}

// FashionDebianDir is where Debian's package dataset-fashion-mnist installs the files.
const FashionDebianDir = "/usr/share/datasets/fashion-mnist"

// FashionFiles are the four gzipped Fashion-MNIST files, checked by the SHA-256 and size of
// their decompressed contents: Debian's gzip files are not byte for byte upstream's (their
// MD5 sums differ from the ones upstream publishes), their contents are. The sums were
// measured on Debian's package dataset-fashion-mnist 0.0~git20200523.55506a9-1.
var FashionFiles = []RemoteFile{
	{Name: MNISTTrainImages + ".gz", SHA256: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888", RawSize: 47040016},
	{Name: MNISTTrainLabels + ".gz", SHA256: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9", RawSize: 60008},
	{Name: MNISTTestImages + ".gz", SHA256: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b", RawSize: 7840016},
	{Name: MNISTTestLabels + ".gz", SHA256: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", RawSize: 10008},
}

// FashionMirrors are HTTPS copies of upstream's Fashion-MNIST files (Zalando Research's
// repository), tried after the Debian package.
var FashionMirrors = []string{
	"https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
}

// Fashion is Zalando's Fashion-MNIST: ten kinds of clothing in MNIST's format.
var Fashion = &Dataset{
	Name: "fashion", Title: "Fashion-MNIST", CacheDir: "fashion-mnist", EnvVar: "GRAPHTRAIN_FASHION_DATA",
	Files:             FashionFiles,
	Classes:           []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"},
	Noun:              "class",
	Locals:            []LocalSource{{Dir: FashionDebianDir, Label: "Debian package dataset-fashion-mnist", Hint: "install it with make fashion-deps"}},
	Mirrors:           FashionMirrors,
	TestLabelsSHA256:  "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
	TrainLabelsSHA256: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
}

// Own is a user's own data set in MNIST's format (ReadSetInfo, LoadSet): no cache, no
// fetching, the classes named by their numbers.
var Own = &Dataset{Name: "own", Title: "your own data set", Noun: "class"}

// Datasets are the data sets graphtrain knows, by --dataset name.
var Datasets = []*Dataset{MNIST, Fashion}

// DatasetByName returns the data set called name ("mnist" or "fashion"); "" is mnist.
func DatasetByName(name string) (*Dataset, error) {
	if name == "" {
		return MNIST, nil
	}
	for _, d := range Datasets {
		if d.Name == name {
			return d, nil
		}
	}
	names := make([]string, len(Datasets))
	for i, d := range Datasets {
		names[i] = d.Name
	}
	return nil, fmt.Errorf("unknown data set %q: must be %s", name, strings.Join(names, " or "))
}

// DefaultDir is the directory used when the user names none: the data set's environment
// variable when set, else graphtrain/<CacheDir> under the user's cache directory
// (os.UserCacheDir: $XDG_CACHE_HOME or ~/.cache on Linux).
func (d *Dataset) DefaultDir() (string, error) {
	if v := os.Getenv(d.EnvVar); v != "" {
		return v, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("datasets: no directory for the %s files: %v; set %s to one", d.Title, err, d.EnvVar)
	}
	return filepath.Join(cache, "graphtrain", d.CacheDir), nil
}

// NewFetcher returns a Fetcher for the data set with every source: the files already there,
// its local copies, the Go module proxy (MNIST), its mirrors. It reports on log (which may
// be nil) and shows download progress there too when log is a terminal.
func (d *Dataset) NewFetcher(log io.Writer) *Fetcher {
	f := &Fetcher{Files: d.Files, What: d.Title, Locals: d.Locals, Mirrors: d.Mirrors, Log: log}
	if d.Module {
		f.GoCommand = "go"
	}
	if isTerminal(log) {
		f.Progress = log
	}
	return f
}

// Ensure makes sure that dir holds the data set's four files, fetching those that are
// missing or wrong with NewFetcher(log). A file present only uncompressed counts as present.
// It says nothing when all four are there.
func (d *Dataset) Ensure(dir string, log io.Writer) error { return d.ensure(dir, d.Files, log) }

// EnsureTest is Ensure for the two files of the test set only, for commands that read
// nothing else.
func (d *Dataset) EnsureTest(dir string, log io.Writer) error {
	var test []RemoteFile
	for _, rf := range d.Files {
		if strings.HasPrefix(rf.Name, "t10k-") {
			test = append(test, rf)
		}
	}
	return d.ensure(dir, test, log)
}

func (d *Dataset) ensure(dir string, files []RemoteFile, log io.Writer) error {
	if log == nil {
		log = io.Discard
	}
	present := true
	for _, rf := range files {
		base := strings.TrimSuffix(rf.Name, ".gz")
		if st, err := os.Stat(filepath.Join(dir, base)); err == nil && st.Mode().IsRegular() {
			continue
		}
		if _, err := verifyFile(filepath.Join(dir, rf.Name), rf); err != nil {
			present = false
			break
		}
	}
	if present {
		return nil
	}
	f := d.NewFetcher(log)
	f.Files = files
	_, err := f.Fetch(dir)
	return err
}

// ClassName is the name of class c ("7" for MNIST, "Sneaker" for Fashion-MNIST).
func (d *Dataset) ClassName(c int) string {
	if c >= 0 && c < len(d.Classes) {
		return d.Classes[c]
	}
	return fmt.Sprint(c)
}

// IdentifyTestSet returns the data set whose test set has these labels (all 10000 of them,
// in order), or nil when it is none graphtrain knows: so that a model trained on one data set
// is not measured on another by mistake.
func IdentifyTestSet(labels []uint8) *Dataset {
	sum := labelsSHA256(labels)
	for _, d := range Datasets {
		if d.TestLabelsSHA256 == sum {
			return d
		}
	}
	return nil
}

// IdentifyTrainSet is the known data set whose training labels file is dir's (by the SHA-256
// of the file decompressed), or nil: a set of one's own, or one it cannot read. Call it once
// LoadMNISTTrain has checked dir's headers: it reads the labels file whole (60008 bytes for
// MNIST's).
func IdentifyTrainSet(dir string) *Dataset {
	path, err := findMNISTFile(dir, MNISTTrainLabels)
	if err != nil {
		return nil
	}
	a, err := readIDXFileMax(path, 1<<20)
	if err != nil {
		return nil
	}
	labels, ok := a.Data.([]uint8)
	if !ok || len(a.Shape) != 1 {
		return nil
	}
	sum := labelsSHA256(labels)
	for _, d := range Datasets {
		if d.TrainLabelsSHA256 == sum {
			return d
		}
	}
	return nil
}

// labelsSHA256 is the SHA-256 of the IDX file of labels (unsigned bytes, rank 1).
func labelsSHA256(labels []uint8) string {
	h := sha256.New()
	var hdr [8]byte
	hdr[2], hdr[3] = byte(Uint8), 1
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(labels)))
	h.Write(hdr[:])
	h.Write(labels)
	return hex.EncodeToString(h.Sum(nil))
}

// filePrefixBytes is how much of a data file's decompressed contents IdentifyFile hashes: the
// header and the first images (all of a labels file), which tell the known files apart.
const filePrefixBytes = 1 << 16

// knownFile is a known data set's file.
type knownFile struct {
	ds   *Dataset
	name string // MNISTTrainImages, MNISTTestLabels...
}

// knownPrefixes are the known files by the SHA-256 of their first filePrefixBytes bytes,
// decompressed; measured on the official MNIST files (MD5 sums verified) and Debian's
// dataset-fashion-mnist.
var knownPrefixes = map[string]knownFile{
	"c4dbee65edd7cf0ad455ee19f7867e83c728c3d919a31f56c4a00ad60b612979": {MNIST, MNISTTrainImages},
	"65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5": {MNIST, MNISTTrainLabels},
	"aad20425e9c2d9069b958b0b4d8278e640bd8dee8b08f8d50aefac0f2901f430": {MNIST, MNISTTestImages},
	"ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2": {MNIST, MNISTTestLabels},
	"8d1850e596b060b18c94b28c4d1cac7eb3cafcd4c17f40d227300579673b7f37": {Fashion, MNISTTrainImages},
	"bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9": {Fashion, MNISTTrainLabels},
	"ddf024bf27660e6f3ebd6fe689021b99d2cdf287b0480857aad4a478887c9d95": {Fashion, MNISTTestImages},
	"0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34": {Fashion, MNISTTestLabels},
}

// IdentifyFile is the known data set and file (MNISTTrainImages, MNISTTestLabels...) whose
// contents the file name in dir (plain or gzipped) begins with, or nil and "": a file of
// one's own, or one it cannot read. It reads 64 KiB of the file, decompressed, so that
// Fashion-MNIST's images beside MNIST's labels, or a training file under a test file's name,
// are told apart before any training.
func IdentifyFile(dir, name string) (*Dataset, string) {
	path, err := findMNISTFile(dir, name)
	if err != nil {
		return nil, ""
	}
	r, done, err := openContents(path)
	if err != nil {
		return nil, ""
	}
	defer done()
	h := sha256.New()
	if _, err := io.CopyN(h, r, filePrefixBytes); err != nil && err != io.EOF {
		return nil, ""
	}
	k, ok := knownPrefixes[hex.EncodeToString(h.Sum(nil))]
	if !ok {
		return nil, ""
	}
	return k.ds, k.name
}

// errBadGzip: a file that starts with gzip's magic bytes has a damaged gzip header.
var errBadGzip = errors.New("not a valid gzip file")

// openContents opens the file at path (at most maxMNISTFileBytes) to read its contents:
// decompressed when it starts with gzip's magic bytes (a damaged gzip header is an error
// wrapping errBadGzip). done closes what it opened.
func openContents(path string) (r io.Reader, done func(), err error) {
	f, err := safefile.Open(path, maxMNISTFileBytes)
	if err != nil {
		return nil, nil, err
	}
	br := bufio.NewReader(f)
	if magic, _ := br.Peek(2); len(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b {
		return br, func() { f.Close() }, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%w (%v)", errBadGzip, err)
	}
	return zr, func() { zr.Close(); f.Close() }, nil
}
