package datasets

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"graphtrain/internal/safefile"
)

// DefaultMirrors are HTTPS mirrors of the official MNIST files, tried in order after the Go
// module proxy. A file's URL is the mirror followed by its name. Treat it as read-only.
var DefaultMirrors = []string{
	"https://ossci-datasets.s3.amazonaws.com/mnist/",
	"https://storage.googleapis.com/cvdf-datasets/mnist/",
}

// ErrFetch reports that some files could be had from none of the sources; its message lists
// each source and why it failed.
var ErrFetch = errors.New("datasets: cannot fetch MNIST")

// DefaultDir is the MNIST directory used when the user names none: $GRAPHTRAIN_DATA when set,
// else graphtrain/mnist under the user's cache directory (os.UserCacheDir: $XDG_CACHE_HOME or
// ~/.cache on Linux).
func DefaultDir() (string, error) {
	if d := os.Getenv("GRAPHTRAIN_DATA"); d != "" {
		return d, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("datasets: no directory for the MNIST files: %v; set GRAPHTRAIN_DATA to one", err)
	}
	return filepath.Join(cache, "graphtrain", "mnist"), nil
}

// EnsureMNIST makes sure that dir holds the four MNIST files, fetching those that are missing
// (or whose gzipped copy has the wrong MD5 sum) with NewFetcher(log), which says on log what
// it fetches and from where. A file present only uncompressed counts as present. It says
// nothing when all four are there.
func EnsureMNIST(dir string, log io.Writer) error {
	return ensureFiles(dir, MNISTFiles, log)
}

// EnsureMNISTTest is EnsureMNIST for the two files of the test set only, for commands that
// read nothing else.
func EnsureMNISTTest(dir string, log io.Writer) error {
	var test []RemoteFile
	for _, rf := range MNISTFiles {
		if strings.HasPrefix(rf.Name, "t10k-") {
			test = append(test, rf)
		}
	}
	return ensureFiles(dir, test, log)
}

func ensureFiles(dir string, files []RemoteFile, log io.Writer) error {
	if log == nil {
		log = io.Discard
	}
	present := true
	for _, rf := range files {
		base := strings.TrimSuffix(rf.Name, ".gz")
		if st, err := os.Stat(filepath.Join(dir, base)); err == nil && st.Mode().IsRegular() {
			continue
		}
		if sum, _, err := fileMD5(filepath.Join(dir, rf.Name)); err != nil || sum != rf.MD5 {
			present = false
			break
		}
	}
	if present {
		return nil
	}
	f := NewFetcher(log)
	f.Files = files
	_, err := f.Fetch(dir)
	return err
}

// Fetcher fetches files into a directory and verifies them. Its sources, tried in order for
// the files still missing: the files already in the directory (kept when their MD5 sums are
// right), the Go module proxy (when GoCommand is set), then each of Mirrors. A file is
// written under a temporary name in the directory and renamed to its name only once its size
// and MD5 sum are right. The zero Fetcher only checks the files already there; NewFetcher
// gives one with every source.
type Fetcher struct {
	// Files to fetch; nil means MNISTFiles.
	Files []RemoteFile
	// GoCommand is the go command that runs "go mod download -json Module@Version" to fetch
	// the module that holds the files in its ModuleDir folder. Empty: skip the module proxy.
	GoCommand string
	// Module, Version and ModuleDir name that module; empty means MNISTModule,
	// MNISTModuleVersion and MNISTModuleDir.
	Module, Version, ModuleDir string
	// Mirrors are base URLs tried in order; a file's URL is the base followed by its name.
	Mirrors []string
	// Client makes the HTTP requests; nil means http.DefaultClient.
	Client *http.Client
	// Timeout bounds the go command and each download; 0 means 10 minutes.
	Timeout time.Duration
	// Log, when not nil, is told what is fetched from where, one line per step.
	Log io.Writer
	// Progress, when not nil, shows each download's progress on one line rewritten with
	// carriage returns: give it a terminal only.
	Progress io.Writer
}

// NewFetcher returns a Fetcher for MNIST with every source: the go command on PATH and
// DefaultMirrors. It reports on log (which may be nil) and shows download progress there too
// when log is a terminal.
func NewFetcher(log io.Writer) *Fetcher {
	f := &Fetcher{GoCommand: "go", Mirrors: DefaultMirrors, Log: log}
	if isTerminal(log) {
		f.Progress = log
	}
	return f
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || f == nil {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Fetched is the outcome for one file of Fetcher.Fetch.
type Fetched struct {
	Name   string // file name
	Path   string // where it is now
	MD5    string // its verified MD5 sum
	Source string // "already there", "Go module proxy (MODULE@VERSION)" or the URL it came from
}

// Fetch makes sure dir (created if needed) holds every file with the right MD5 sum, fetching
// the missing ones. It returns what it found for each file it has. When some files could be
// had from no source, the error wraps ErrFetch and lists every source tried and why it failed.
func (f *Fetcher) Fetch(dir string) ([]Fetched, error) {
	files := f.Files
	if files == nil {
		files = MNISTFiles
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("datasets: create the data directory: %w", err)
	}
	var done []Fetched
	var missing []RemoteFile
	var total int64
	for _, rf := range files {
		p := filepath.Join(dir, rf.Name)
		sum, _, err := fileMD5(p)
		switch {
		case err == nil && sum == rf.MD5:
			done = append(done, Fetched{Name: rf.Name, Path: p, MD5: sum, Source: "already there"})
			continue
		case err == nil:
			f.logf("%s: MD5 %s, want %s: fetching it again", p, sum, rf.MD5)
		case !errors.Is(err, os.ErrNotExist):
			f.logf("%s: %v: fetching it again", p, err)
		}
		missing = append(missing, rf)
		total += rf.Size
	}
	if len(missing) == 0 {
		return done, nil
	}
	what := fmt.Sprintf("%d files", len(missing))
	if len(missing) == 1 {
		what = missing[0].Name
	}
	if total > 0 {
		what += fmt.Sprintf(" (%.1f MB)", float64(total)/1e6)
	}
	if f.Files == nil {
		what = "MNIST, " + what + ","
	}
	f.logf("fetching %s into %s", what, dir)

	var failures []string
	if f.GoCommand != "" {
		src := fmt.Sprintf("Go module proxy (%s@%s)", f.module(), f.version())
		got, err := f.fromModule(dir, missing)
		for _, g := range got {
			g.Source = src
			done = append(done, g)
		}
		missing = remove(missing, got)
		if err != nil {
			failures = append(failures, src+": "+err.Error())
			if len(missing) > 0 {
				f.logf("%s: %v", src, err)
			}
		} else {
			f.logf("%s: %d files, MD5 verified", src, len(got))
		}
	}
	for _, base := range f.Mirrors {
		if len(missing) == 0 {
			break
		}
		var errs []string
		var got []Fetched
		for _, rf := range missing {
			url := base + rf.Name
			g, err := f.fromURL(dir, rf, url)
			if err != nil {
				errs = append(errs, rf.Name+": "+err.Error())
				f.logf("%s: %v", url, err)
				continue
			}
			f.logf("%s: MD5 verified", url)
			got = append(got, g)
		}
		done = append(done, got...)
		missing = remove(missing, got)
		if len(errs) > 0 {
			failures = append(failures, base+": "+strings.Join(errs, ", "))
		}
	}
	if len(missing) > 0 {
		if f.GoCommand == "" && len(f.Mirrors) == 0 {
			failures = append(failures, "no sources: neither the Go module proxy nor any mirror is configured")
		}
		names := make([]string, len(missing))
		for i, rf := range missing {
			names[i] = rf.Name
		}
		return done, fmt.Errorf("%w into %s: %s missing; tried %s", ErrFetch, dir, strings.Join(names, ", "), strings.Join(failures, "; "))
	}
	return done, nil
}

func (f *Fetcher) module() string    { return orDefault(f.Module, MNISTModule) }
func (f *Fetcher) version() string   { return orDefault(f.Version, MNISTModuleVersion) }
func (f *Fetcher) moduleDir() string { return orDefault(f.ModuleDir, MNISTModuleDir) }

func (f *Fetcher) timeout() time.Duration {
	if f.Timeout > 0 {
		return f.Timeout
	}
	return 10 * time.Minute
}

// orDefault returns s, or def when s is empty.
func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (f *Fetcher) logf(format string, args ...any) {
	if f.Log != nil {
		fmt.Fprintf(f.Log, format+"\n", args...)
	}
}

// remove returns the files of missing that are not in got.
func remove(missing []RemoteFile, got []Fetched) []RemoteFile {
	var left []RemoteFile
	for _, rf := range missing {
		found := false
		for _, g := range got {
			found = found || g.Name == rf.Name
		}
		if !found {
			left = append(left, rf)
		}
	}
	return left
}

// fromModule downloads the module with the go command and copies the files out of it. It
// runs the go command in an empty temporary directory, so that no go.mod is read or changed.
func (f *Fetcher) fromModule(dir string, files []RemoteFile) ([]Fetched, error) {
	work, err := os.MkdirTemp("", "graphtrain-gomod-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout())
	defer cancel()
	target := f.module() + "@" + f.version()
	cmd := exec.CommandContext(ctx, f.GoCommand, "mod", "download", "-json", target)
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "GOWORK=off", "GO111MODULE=on")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var info struct{ Dir, Error string }
	jsonErr := json.Unmarshal(stdout.Bytes(), &info)
	switch {
	case info.Error != "":
		return nil, fmt.Errorf("go mod download: %s", oneLine(info.Error))
	case runErr != nil:
		msg := oneLine(stderr.String())
		if msg == "" {
			return nil, fmt.Errorf("go mod download: %v", runErr)
		}
		return nil, fmt.Errorf("go mod download: %v: %s", runErr, msg)
	case jsonErr != nil || info.Dir == "":
		return nil, fmt.Errorf("go mod download printed no module directory (%q)", oneLine(stdout.String()))
	}
	var got []Fetched
	var errs []string
	for _, rf := range files {
		src := filepath.Join(info.Dir, filepath.FromSlash(f.moduleDir()), rf.Name)
		g, err := f.copyFile(dir, rf, src)
		if err != nil {
			errs = append(errs, rf.Name+": "+err.Error())
			continue
		}
		got = append(got, g)
	}
	if len(errs) > 0 {
		return got, errors.New(strings.Join(errs, ", "))
	}
	return got, nil
}

func (f *Fetcher) copyFile(dir string, rf RemoteFile, src string) (Fetched, error) {
	in, err := safefile.Open(src, maxMNISTFileBytes)
	if err != nil {
		return Fetched{}, err
	}
	defer in.Close()
	return f.install(dir, rf, in, -1, "")
}

// fromURL downloads url into dir as rf.
func (f *Fetcher) fromURL(dir string, rf RemoteFile, url string) (Fetched, error) {
	client := f.Client
	if client == nil {
		client = http.DefaultClient
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Fetched{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return Fetched{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Fetched{}, fmt.Errorf("HTTP %s", resp.Status)
	}
	if rf.Size > 0 && resp.ContentLength >= 0 && resp.ContentLength != rf.Size {
		return Fetched{}, fmt.Errorf("the server sends %d bytes, want %d", resp.ContentLength, rf.Size)
	}
	g, err := f.install(dir, rf, resp.Body, resp.ContentLength, url)
	g.Source = url
	return g, err
}

// install copies src into dir under a temporary name, checks its size and MD5 sum, and
// renames it to rf.Name. total (-1: unknown) and label are for the progress line.
func (f *Fetcher) install(dir string, rf RemoteFile, src io.Reader, total int64, label string) (Fetched, error) {
	if rf.Size > 0 {
		src = io.LimitReader(src, rf.Size+1) // a longer file is wrong: read no further
		if total < 0 {
			total = rf.Size
		}
	}
	tmp, err := os.CreateTemp(dir, "."+rf.Name+".*.part")
	if err != nil {
		return Fetched{}, err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	h := md5.New()
	var w io.Writer = io.MultiWriter(tmp, h)
	if f.Progress != nil && label != "" {
		p := &progress{w: f.Progress, name: rf.Name, total: total}
		defer p.finish()
		w = io.MultiWriter(w, p)
	}
	n, err := io.Copy(w, src)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Fetched{}, fmt.Errorf("after %d bytes: %w", n, err)
	}
	if rf.Size > 0 && n != rf.Size {
		return Fetched{}, fmt.Errorf("got %d bytes, want %d", n, rf.Size)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if rf.MD5 != "" && sum != rf.MD5 {
		return Fetched{}, fmt.Errorf("MD5 %s, want %s", sum, rf.MD5)
	}
	final := filepath.Join(dir, rf.Name)
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return Fetched{}, err
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return Fetched{}, err
	}
	return Fetched{Name: rf.Name, Path: final, MD5: sum}, nil
}

// fileMD5 returns the MD5 sum (hex) and size of the file at path.
func fileMD5(path string) (string, int64, error) {
	f, err := safefile.Open(path, maxMNISTFileBytes)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := md5.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// oneLine puts s on one line, its runs of spaces and newlines each made one space.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// progress shows a download's progress on one line, at most every 100 ms.
type progress struct {
	w     io.Writer
	name  string
	total int64 // -1: unknown
	n     int64
	last  time.Time
}

func (p *progress) Write(b []byte) (int, error) {
	p.n += int64(len(b))
	if now := time.Now(); now.Sub(p.last) >= 100*time.Millisecond {
		p.last = now
		p.show()
	}
	return len(b), nil
}

func (p *progress) show() {
	if p.total > 0 {
		fmt.Fprintf(p.w, "\r%s: %3.0f%% of %.1f MB", p.name, 100*float64(p.n)/float64(p.total), float64(p.total)/1e6)
	} else {
		fmt.Fprintf(p.w, "\r%s: %.1f MB", p.name, float64(p.n)/1e6)
	}
}

func (p *progress) finish() {
	p.show()
	fmt.Fprintln(p.w)
}
