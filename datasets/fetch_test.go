package datasets

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// fetchTestFiles are two small files to fetch, with their right sums.
var fetchTestFiles = func() []RemoteFile {
	var files []RemoteFile
	for _, c := range []string{"a.gz", "b.gz"} {
		sum := md5.Sum(fetchTestContent(c))
		files = append(files, RemoteFile{Name: c, MD5: hex.EncodeToString(sum[:]), Size: int64(len(fetchTestContent(c)))})
	}
	return files
}()

func fetchTestContent(name string) []byte {
	return bytes.Repeat([]byte("content of "+name+"; "), 500)
}

// fetchTestServer serves the files under /good/, wrong bytes of the right length under
// /badsum/, half of each under /trunc/ (with the full Content-Length), and 404 under /gone/.
func fetchTestServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		dir, name := filepath.Split(r.URL.Path)
		body := fetchTestContent(name)
		switch dir {
		case "/good/":
			w.Write(body)
		case "/badsum/":
			bad := bytes.Clone(body)
			bad[0] ^= 1
			w.Write(bad)
		case "/trunc/":
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.Write(body[:len(body)/2])
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// fetchTestNoLeftovers fails when dir holds temporary files.
func fetchTestNoLeftovers(t *testing.T, dir string) {
	t.Helper()
	left, _ := filepath.Glob(filepath.Join(dir, ".*"))
	if len(left) > 0 {
		t.Errorf("temporary files left in %s: %v", dir, left)
	}
}

func TestFetchMirrors(t *testing.T) {
	srv, hits := fetchTestServer(t)
	dir := filepath.Join(t.TempDir(), "new", "dir")
	var log, progress bytes.Buffer
	f := &Fetcher{
		Files:    fetchTestFiles,
		Mirrors:  []string{srv.URL + "/gone/", srv.URL + "/badsum/", srv.URL + "/trunc/", srv.URL + "/good/"},
		Client:   srv.Client(),
		Log:      &log,
		Progress: &progress,
	}
	got, err := f.Fetch(dir)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if len(got) != 2 {
		t.Fatalf("fetched %+v", got)
	}
	for i, g := range got {
		rf := fetchTestFiles[i]
		b, err := os.ReadFile(filepath.Join(dir, rf.Name))
		if err != nil || !bytes.Equal(b, fetchTestContent(rf.Name)) {
			t.Errorf("%s: wrong content, %v", rf.Name, err)
		}
		if g.Name != rf.Name || g.MD5 != rf.MD5 || g.Source != srv.URL+"/good/"+rf.Name || g.Path != filepath.Join(dir, rf.Name) {
			t.Errorf("got %+v", g)
		}
	}
	for _, want := range []string{"fetching 2 files", "404", "MD5", "unexpected EOF", "good/a.gz: MD5 verified"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
	if !strings.Contains(progress.String(), "\ra.gz: 100% of") {
		t.Errorf("progress: %q", progress.String())
	}
	fetchTestNoLeftovers(t, dir)

	// Again: the files are there, nothing is downloaded.
	before := hits.Load()
	log.Reset()
	got, err = f.Fetch(dir)
	if err != nil || hits.Load() != before || got[0].Source != "already there" || log.Len() != 0 {
		t.Errorf("second fetch: %+v, %v, %d requests, log %q", got, err, hits.Load()-before, log.String())
	}

	// A damaged file is fetched again.
	os.WriteFile(filepath.Join(dir, "b.gz"), []byte("damaged"), 0o644)
	got, err = f.Fetch(dir)
	if err != nil || got[0].Source != "already there" || got[1].Source != srv.URL+"/good/b.gz" {
		t.Errorf("fetch over a damaged file: %+v, %v", got, err)
	}
	if !strings.Contains(log.String(), "b.gz: MD5 "+md5Hex("damaged")) {
		t.Errorf("log does not say the file was damaged:\n%s", log.String())
	}
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestFetchAllSourcesFail(t *testing.T) {
	srv, _ := fetchTestServer(t)
	dir := t.TempDir()
	files := append(fetchTestFiles[:1:1], RemoteFile{Name: "c.gz", MD5: md5Hex("x"), Size: 1})
	f := &Fetcher{
		Files:     files,
		GoCommand: filepath.Join(dir, "no-such-go"),
		Mirrors:   []string{srv.URL + "/gone/", srv.URL + "/badsum/", srv.URL + "/trunc/"},
		Client:    srv.Client(),
	}
	_, err := f.Fetch(dir)
	if !errors.Is(err, ErrFetch) {
		t.Fatalf("error %v, want ErrFetch", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"datasets: cannot fetch MNIST into " + dir, "a.gz, c.gz missing",
		"Go module proxy (" + MNISTModule + "@" + MNISTModuleVersion + "): ", "no-such-go",
		srv.URL + "/gone/: HTTP 404 Not Found;", // the same reason for both files, once
		srv.URL + "/badsum/: a.gz: MD5 ", ", want " + fetchTestFiles[0].MD5,
		"c.gz: the server sends", // its size is wrong
		srv.URL + "/trunc/: a.gz: after ", "unexpected EOF",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error has several lines:\n%s", msg)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left in the directory: %v", entries)
	}

	// The zero Fetcher only looks.
	_, err = (&Fetcher{Files: files}).Fetch(dir)
	if !errors.Is(err, ErrFetch) || !strings.Contains(err.Error(), "no sources") {
		t.Errorf("zero Fetcher: %v", err)
	}
}

// fetchTestGo writes a fake go command that logs its arguments and prints script's output.
func fetchTestGo(t *testing.T, script string) (goCmd, argsFile string) {
	dir := t.TempDir()
	goCmd = filepath.Join(dir, "go")
	argsFile = filepath.Join(dir, "args")
	text := "#!/bin/sh\necho \"$@\" > " + argsFile + "\n" + script + "\n"
	if err := os.WriteFile(goCmd, []byte(text), 0o755); err != nil {
		t.Fatal(err)
	}
	return goCmd, argsFile
}

func TestFetchModule(t *testing.T) {
	mod := t.TempDir()
	os.Mkdir(filepath.Join(mod, "data"), 0o755)
	for _, rf := range fetchTestFiles {
		os.WriteFile(filepath.Join(mod, "data", rf.Name), fetchTestContent(rf.Name), 0o444)
	}
	goCmd, argsFile := fetchTestGo(t, `echo '{"Path": "m", "Dir": "`+mod+`"}'`)
	dir := t.TempDir()
	var log bytes.Buffer
	f := &Fetcher{Files: fetchTestFiles, GoCommand: goCmd, Mirrors: []string{"http://127.0.0.1:1/never/"}, Log: &log}
	got, err := f.Fetch(dir)
	if err != nil {
		t.Fatal(err)
	}
	src := "Go module proxy (" + MNISTModule + "@" + MNISTModuleVersion + ")"
	if len(got) != 2 || got[0].Source != src || got[1].Source != src {
		t.Errorf("got %+v", got)
	}
	if args, _ := os.ReadFile(argsFile); string(args) != "mod download -json "+MNISTModule+"@"+MNISTModuleVersion+"\n" {
		t.Errorf("go command run with %q", args)
	}
	for _, rf := range fetchTestFiles {
		st, err := os.Stat(filepath.Join(dir, rf.Name))
		if err != nil || st.Mode().Perm() != 0o644 {
			t.Errorf("%s: %v, %v", rf.Name, st, err)
		}
	}
	fetchTestNoLeftovers(t, dir)

	// A module without one of the files, or with a wrong one: the mirror gets the rest.
	srv, _ := fetchTestServer(t)
	os.Chmod(filepath.Join(mod, "data", "b.gz"), 0o644)
	os.WriteFile(filepath.Join(mod, "data", "b.gz"), []byte("wrong"), 0o644)
	os.Remove(filepath.Join(dir, "a.gz"))
	os.Remove(filepath.Join(dir, "b.gz"))
	f.Mirrors = []string{srv.URL + "/good/"}
	f.Client = srv.Client()
	got, err = f.Fetch(dir)
	if err != nil || got[0].Source != src || got[1].Source != srv.URL+"/good/b.gz" {
		t.Errorf("module with a wrong file: %+v, %v", got, err)
	}
	if !strings.Contains(log.String(), "b.gz: got 5 bytes, want") {
		t.Errorf("log:\n%s", log.String())
	}
}

func TestFetchModuleErrors(t *testing.T) {
	cases := []struct{ script, want string }{
		{`echo '{"Path": "m", "Error": "module lookup disabled by GOPROXY=off"}'; exit 1`, "go mod download: module lookup disabled by GOPROXY=off"},
		{`echo "go: no network" >&2; exit 1`, "go mod download: exit status 1: go: no network"},
		{`echo 'not json'`, "no module directory"},
		{`echo '{"Dir": "/nonexistent/dir"}'`, "a.gz: /nonexistent/dir/data/a.gz does not exist"},
	}
	for _, c := range cases {
		goCmd, _ := fetchTestGo(t, c.script)
		_, err := (&Fetcher{Files: fetchTestFiles, GoCommand: goCmd}).Fetch(t.TempDir())
		if !errors.Is(err, ErrFetch) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.script, err, c.want)
		}
	}
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("GRAPHTRAIN_DATA", "/some/where")
	if d, err := DefaultDir(); d != "/some/where" || err != nil {
		t.Errorf("with GRAPHTRAIN_DATA: %q, %v", d, err)
	}
	t.Setenv("GRAPHTRAIN_DATA", "")
	t.Setenv("XDG_CACHE_HOME", "/cache")
	if d, err := DefaultDir(); d != "/cache/graphtrain/mnist" || err != nil {
		t.Errorf("with XDG_CACHE_HOME: %q, %v", d, err)
	}
}

func TestEnsureMNISTPresent(t *testing.T) {
	// Uncompressed files count as present: nothing is fetched and nothing said.
	dir := mnistTestDir(t, 2, 2, nil)
	var log bytes.Buffer
	if err := EnsureMNIST(dir, &log); err != nil || log.Len() != 0 {
		t.Errorf("EnsureMNIST: %v, said %q", err, log.String())
	}
}
