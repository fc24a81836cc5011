package datasets

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/graphtrain/graphtrain/internal/atomicfile"
	"github.com/graphtrain/graphtrain/internal/safefile"
)

// DefaultMirrors are HTTPS mirrors of the official MNIST files, tried in order after the Go
// module proxy. A file's URL is the mirror followed by its name. Treat it as read-only.
var DefaultMirrors = []string{
	"https://ossci-datasets.s3.amazonaws.com/mnist/",
	"https://storage.googleapis.com/cvdf-datasets/mnist/",
}

// DirError reports a data directory that cannot be created or written, so that no file
// could be fetched into it. Err is the system's error.
type DirError struct {
	Dir string
	Err error
}

func (e *DirError) Error() string {
	return fmt.Sprintf("datasets: the data directory %s cannot be written (%s)", e.Dir, atomicfile.Reason(e.Err))
}

func (e *DirError) Unwrap() error { return e.Err }

// reason is why a source failed for a file, in a few words: the system's or the network's
// reason without the URL, the temporary file name or the resolver's address.
func reason(err error) string {
	var dns *net.DNSError
	var op *net.OpError
	var ue *url.Error
	switch {
	case errors.As(err, &dns):
		return "cannot resolve " + dns.Name + " (no network?)"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "timed out"
	case errors.As(err, &op):
		return "cannot connect (" + atomicfile.Reason(op.Err) + ")"
	case errors.As(err, &ue):
		return atomicfile.Reason(ue.Err)
	}
	return atomicfile.Reason(err)
}

// reasons is a source's failures for the files it failed on, each with its file's name
// ("a.gz: HTTP 404, b.gz: ..."), or the reason alone when several files failed for the same
// one.
func reasons(names []string, errs []error) string {
	var out []string
	seen := map[string]bool{}
	for i, err := range errs {
		why := reason(err)
		seen[why] = true
		out = append(out, names[i]+": "+why)
	}
	if len(seen) == 1 && len(errs) > 1 {
		return reason(errs[0])
	}
	return strings.Join(out, ", ")
}

// ErrFetch reports that some files could be had from none of the sources; its message lists
// each source and why it failed.
var ErrFetch = errors.New("datasets: cannot fetch MNIST")

// DefaultDir is the MNIST directory used when the user names none: $GRAPHTRAIN_DATA when set,
// else graphtrain/mnist under the user's cache directory (os.UserCacheDir: $XDG_CACHE_HOME or
// ~/.cache on Linux). Dataset.DefaultDir gives another data set's.
func DefaultDir() (string, error) { return MNIST.DefaultDir() }

// EnsureMNIST makes sure that dir holds the four MNIST files, fetching those that are missing
// (or whose gzipped copy has the wrong MD5 sum) with NewFetcher(log), which says on log what
// it fetches and from where. A file present only uncompressed counts as present. It says
// nothing when all four are there.
func EnsureMNIST(dir string, log io.Writer) error { return MNIST.Ensure(dir, log) }

// Fetcher fetches files into a directory and verifies them. Its sources, tried in order for
// the files still missing: the files already in the directory (kept when their MD5 sums are
// right), the Go module proxy (when GoCommand is set), then each of Mirrors. A file is
// written under a temporary name in the directory and renamed to its name only once its size
// and MD5 sum are right. The zero Fetcher only checks the files already there; NewFetcher
// gives one with every source.
type Fetcher struct {
	// Files to fetch; nil means MNISTFiles.
	Files []RemoteFile
	// What names the data set in messages; empty means MNIST.
	What string
	// Locals are directories on this machine tried, in order, after the files already in the
	// directory and before the Go module proxy.
	Locals []LocalSource
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
	f := MNIST.NewFetcher(log)
	f.Files, f.What = nil, ""
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
	MD5    string // its MD5 sum (verified when the RemoteFile gives one)
	SHA256 string // the verified SHA-256 of its decompressed contents, when the RemoteFile gives one
	Source string // "already there", "Go module proxy (MODULE@VERSION)", a local copy or the URL it came from
}

// LocalSource is a directory on this machine that may hold the files, such as the one a
// Debian package installs them in.
type LocalSource struct {
	Dir   string // where the files are
	Label string // what it is, for messages: "Debian package dataset-fashion-mnist"
	Hint  string // how to get it, for the error when nothing else worked: "make fashion-deps"
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
		return nil, &DirError{Dir: dir, Err: err}
	}
	r := &fetchRun{f: f, dir: dir}
	total := r.keepPresent(files)
	if len(r.missing) == 0 {
		return r.done, nil
	}
	// A directory that takes no file is said at once, before any source is tried: every
	// download would fail on it, each with its own temporary name.
	probe, err := os.CreateTemp(dir, ".graphtrain-probe-*")
	if err != nil {
		return r.done, &DirError{Dir: dir, Err: err}
	}
	probe.Close()
	os.Remove(probe.Name())
	f.logFetching(r.missing, total, dir)
	for _, loc := range f.Locals {
		if len(r.missing) == 0 || r.dirErr != nil {
			break
		}
		r.tryLocal(loc)
	}
	if f.GoCommand != "" && len(r.missing) > 0 && r.dirErr == nil {
		r.tryModuleProxy()
	}
	for _, base := range f.Mirrors {
		if len(r.missing) == 0 || r.dirErr != nil {
			break
		}
		r.tryMirror(base)
	}
	if r.dirErr != nil {
		return r.done, r.dirErr
	}
	if len(r.missing) > 0 {
		return r.done, r.missingErr()
	}
	return r.done, nil
}

// fetchRun is the state of one Fetch into dir: the files had so far, those still missing,
// and why each source tried failed.
type fetchRun struct {
	f        *Fetcher
	dir      string
	done     []Fetched
	missing  []RemoteFile
	failures []string
	dirErr   *DirError // the directory's own failure, which ends the fetch
}

// keepPresent keeps the files already in the directory with the right size and MD5 sum, and
// marks the others missing (saying why when one is there but wrong). It returns the total
// size of the missing files.
func (r *fetchRun) keepPresent(files []RemoteFile) (total int64) {
	for _, rf := range files {
		p := filepath.Join(r.dir, rf.Name)
		g, err := verifyFile(p, rf)
		switch {
		case err == nil:
			g.Name, g.Path, g.Source = rf.Name, p, "already there"
			r.done = append(r.done, g)
			continue
		case errors.Is(err, errMismatch):
			r.f.logf("%s: %v: fetching it again", p, err)
		case !errors.Is(err, os.ErrNotExist):
			r.f.logf("%s: %v: fetching it again", p, err)
		}
		r.missing = append(r.missing, rf)
		total += rf.Size
	}
	return total
}

// logFetching says what is about to be fetched into dir: the missing files (their number,
// or the name of the only one) and their total size when known.
func (f *Fetcher) logFetching(missing []RemoteFile, total int64, dir string) {
	what := fmt.Sprintf("%d files", len(missing))
	if len(missing) == 1 {
		what = missing[0].Name
	}
	if total > 0 {
		what += fmt.Sprintf(" (%.1f MB)", float64(total)/1e6)
	}
	if f.What != "" || f.Files == nil {
		f.logf("fetching %s, %s, into %s", f.what(), what, dir)
	} else {
		f.logf("fetching %s into %s", what, dir)
	}
}

// stopAt reports whether err is the directory's own (DirError: a full disk, say), which
// every other source would meet too: the fetch stops there with it.
func (r *fetchRun) stopAt(err error) bool {
	var de *DirError
	if errors.As(err, &de) {
		r.dirErr = de
		return true
	}
	return false
}

// add records the files got from a source: done, no longer missing.
func (r *fetchRun) add(got []Fetched) {
	r.done = append(r.done, got...)
	r.missing = remove(r.missing, got)
}

// tryLocal copies the missing files from the local directory loc, verifying them.
func (r *fetchRun) tryLocal(loc LocalSource) {
	var names []string
	var errs []error
	var got []Fetched
	for _, rf := range r.missing {
		g, err := r.f.copyFile(r.dir, rf, filepath.Join(loc.Dir, rf.Name))
		if r.stopAt(err) {
			return
		}
		if err != nil {
			names, errs = append(names, rf.Name), append(errs, err)
			continue
		}
		g.Source = loc.Label + " (" + loc.Dir + ")"
		got = append(got, g)
	}
	r.add(got)
	if len(got) > 0 {
		r.f.logf("%s (%s): %d files, checksums verified", loc.Label, loc.Dir, len(got))
	}
	if len(errs) > 0 {
		msg := loc.Label + " (" + loc.Dir + "): " + reasons(names, errs)
		if loc.Hint != "" {
			msg += " (" + loc.Hint + ")"
		}
		r.failures = append(r.failures, msg)
	}
}

// tryModuleProxy fetches the missing files from the Go module that holds them, through
// the go command.
func (r *fetchRun) tryModuleProxy() {
	f := r.f
	src := fmt.Sprintf("Go module proxy (%s@%s)", f.module(), f.version())
	got, err := f.fromModule(r.dir, r.missing)
	if r.stopAt(err) {
		return
	}
	for i := range got {
		got[i].Source = src
	}
	r.add(got)
	if err != nil {
		r.failures = append(r.failures, src+": "+err.Error())
		if len(r.missing) > 0 {
			f.logf("%s: %v", src, err)
		}
	} else {
		f.logf("%s: %d files, MD5 verified", src, len(got))
	}
}

// tryMirror downloads the missing files from the mirror at the base URL, verifying them.
func (r *fetchRun) tryMirror(base string) {
	var names []string
	var errs []error
	var got []Fetched
	for _, rf := range r.missing {
		url := base + rf.Name
		g, err := r.f.fromURL(r.dir, rf, url)
		if r.stopAt(err) {
			return
		}
		if err != nil {
			names, errs = append(names, rf.Name), append(errs, err)
			continue
		}
		r.f.logf("%s: %s verified", url, checkName(rf))
		got = append(got, g)
	}
	r.add(got)
	if len(errs) > 0 {
		r.failures = append(r.failures, base+": "+reasons(names, errs))
		r.f.logf("%s: %s", base, reasons(names, errs))
	}
}

// missingErr is the error for the files no source gave: it wraps ErrFetch, names them and
// lists every source tried and why it failed.
func (r *fetchRun) missingErr() error {
	f := r.f
	if f.GoCommand == "" && len(f.Mirrors) == 0 {
		r.failures = append(r.failures, "no sources: neither the Go module proxy nor any mirror is configured")
	}
	names := make([]string, len(r.missing))
	for i, rf := range r.missing {
		names[i] = rf.Name
	}
	return fmt.Errorf("%w into %s: %s missing; tried %s", f.fetchErr(), r.dir, strings.Join(names, ", "), strings.Join(r.failures, "; "))
}

// what names the data set in messages.
func (f *Fetcher) what() string { return orDefault(f.What, "MNIST") }

// fetchErr is ErrFetch, naming the data set when it is not MNIST.
func (f *Fetcher) fetchErr() error {
	if f.what() == "MNIST" {
		return ErrFetch
	}
	return fmt.Errorf("%w (%s)", ErrFetch, f.what())
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
		return nil, fmt.Errorf("go mod download: %s", goError(info.Error))
	case runErr != nil:
		msg := goError(stderr.String())
		if msg == "" {
			return nil, fmt.Errorf("go mod download: %v", runErr)
		}
		return nil, fmt.Errorf("go mod download: %v: %s", runErr, msg)
	case jsonErr != nil || info.Dir == "":
		return nil, fmt.Errorf("go mod download printed no module directory (%q)", oneLine(stdout.String()))
	}
	var got []Fetched
	var names []string
	var errs []error
	for _, rf := range files {
		src := filepath.Join(info.Dir, filepath.FromSlash(f.moduleDir()), rf.Name)
		g, err := f.copyFile(dir, rf, src)
		var de *DirError
		if errors.As(err, &de) {
			return got, de
		}
		if err != nil {
			names, errs = append(names, rf.Name), append(errs, err)
			continue
		}
		got = append(got, g)
	}
	if len(errs) > 0 {
		return got, errors.New(reasons(names, errs))
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
		return Fetched{}, &DirError{Dir: dir, Err: err}
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	defer atomicfile.Track(tmp.Name())()
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
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == tmp.Name() { // the directory's fault (a full disk), not the source's
		return Fetched{}, &DirError{Dir: dir, Err: err}
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
	var sha string
	if rf.SHA256 != "" {
		g, err := verifyFile(tmp.Name(), rf)
		if err != nil {
			return Fetched{}, err
		}
		sha = g.SHA256
	}
	final := filepath.Join(dir, rf.Name)
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return Fetched{}, err
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return Fetched{}, err
	}
	return Fetched{Name: rf.Name, Path: final, MD5: sum, SHA256: sha}, nil
}

// errMismatch marks a file whose checksum or size is not the one expected (errors.Is).
var errMismatch = errors.New("checksum mismatch")

// mismatch is an error about a wrong file; it says what is wrong and wraps errMismatch.
type mismatch struct{ msg string }

func (m mismatch) Error() string        { return m.msg }
func (m mismatch) Is(target error) bool { return target == errMismatch }

func mismatchf(format string, args ...any) error { return mismatch{fmt.Sprintf(format, args...)} }

// checkName names what verifies rf, for messages.
func checkName(rf RemoteFile) string {
	if rf.SHA256 != "" {
		return "SHA-256 of the contents"
	}
	return "MD5"
}

// verifyFile checks the file at path against rf: the SHA-256 and size of its decompressed
// contents when rf gives a SHA256 (a gzipped file is recognised by its magic bytes), and its
// MD5 sum when rf gives one. A wrong file is an error wrapping errMismatch.
func verifyFile(path string, rf RemoteFile) (Fetched, error) {
	var g Fetched
	if rf.MD5 != "" || rf.SHA256 == "" {
		sum, _, err := fileMD5(path)
		if err != nil {
			return g, err
		}
		if sum != rf.MD5 {
			return g, mismatchf("MD5 %s, want %s", sum, rf.MD5)
		}
		g.MD5 = sum
	}
	if rf.SHA256 == "" {
		return g, nil
	}
	r, done, err := openContents(path)
	if errors.Is(err, errBadGzip) {
		return g, mismatchf("%v", err)
	}
	if err != nil {
		return g, err
	}
	defer done()
	h := sha256.New()
	limit := rf.RawSize
	if limit <= 0 {
		limit = maxMNISTFileBytes
	}
	n, err := io.Copy(h, io.LimitReader(r, limit+1))
	if err != nil {
		return g, mismatchf("its contents cannot be read after %d bytes (%v)", n, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if rf.RawSize > 0 && n != rf.RawSize {
		return g, mismatchf("its contents are %d bytes, want %d", n, rf.RawSize)
	}
	if sum != rf.SHA256 {
		return g, mismatchf("the SHA-256 of its contents is %s, want %s", sum, rf.SHA256)
	}
	g.SHA256 = sum
	return g, nil
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
// goError is the go command's error text in a few words: that the network is not there,
// rather than the resolver's dump, and never more than 160 characters.
func goError(s string) string {
	s = oneLine(s)
	for _, n := range []string{"dial tcp", "no such host", "connection refused", "i/o timeout", "network is unreachable"} {
		if strings.Contains(s, n) {
			return "cannot reach the module proxy (no network?)"
		}
	}
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return s
}

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
