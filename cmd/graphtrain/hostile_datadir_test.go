package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/graphtrain/graphtrain/datasets"
)

// TestHostileUnwritableDataDir checks a data cache that cannot be written, with files
// missing: one line saying so and what to do, no source tried, no network errors.
func TestHostileUnwritableDataDir(t *testing.T) {
	root := modelDirs(t)
	ro, w := filepath.Join(root, "ro"), filepath.Join(root, "w")
	os.Mkdir(ro, 0o755)
	os.Mkdir(w, 0o777)
	os.Chmod(w, 0o777)
	bin, cred := binPath, (*syscall.Credential)(nil)
	if os.Getuid() == 0 {
		// root writes anywhere: run as nobody, from a copy of the binary nobody may run.
		for d := root; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
			os.Chmod(d, 0o755)
		}
		raw, _ := os.ReadFile(binPath)
		bin = filepath.Join(root, "graphtrain")
		os.WriteFile(bin, raw, 0o755)
		cred = &syscall.Credential{Uid: 65534, Gid: 65534}
		os.Chmod(filepath.Join(root, "mlp"), 0o755)
	}
	os.Chmod(ro, 0o555)
	cases := []struct {
		name string
		env  string
		args []string
		want string
	}{
		{"train mnist", "GRAPHTRAIN_DATA=" + ro, []string{"train", "mnist", "--epochs", "1", "--out", filepath.Join(w, "o")}, "the data directory " + ro + " cannot be written (permission denied); set GRAPHTRAIN_DATA to a directory you can write"},
		{"eval mnist, a cache to create", "GRAPHTRAIN_DATA=" + filepath.Join(ro, "new"), []string{"eval", "mnist", "--weights", filepath.Join(root, "mlp")}, "the data directory " + filepath.Join(ro, "new") + " cannot be written (permission denied)"},
		{"data fetch of fashion into its cache", "GRAPHTRAIN_FASHION_DATA=" + ro, []string{"data", "fetch", "--dataset", "fashion"}, "set GRAPHTRAIN_FASHION_DATA to a directory you can write"},
		{"data fetch --dir", "", []string{"data", "fetch", "--dir", ro}, "--dir " + ro + ": cannot be written (permission denied); choose a directory you can write"},
		{"data fetch --dir to create", "", []string{"data", "fetch", "--dir", filepath.Join(ro, "new")}, "cannot be written (permission denied); choose a directory"},
	}
	for _, tc := range cases {
		cmd := exec.Command(bin, tc.args...)
		cmd.Env = append(os.Environ(), "HOME="+root, tc.env)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		var e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &bytes.Buffer{}, &e
		err := cmd.Run()
		var x *exec.ExitError
		if err != nil && !errors.As(err, &x) {
			t.Fatalf("%s: %v", tc.name, err)
		}
		checkRefused(t, tc.name, result{code: cmd.ProcessState.ExitCode(), stderr: e.String()}, 0, tc.want)
		for _, raw := range []string{"mkdir", ".part", "https://", "lookup", "Go module proxy"} {
			if strings.Contains(e.String(), raw) {
				t.Errorf("%s: the message shows %q: %s", tc.name, raw, e.String())
			}
		}
	}
	if entries, _ := os.ReadDir(ro); len(entries) != 0 {
		t.Errorf("left in the read-only directory: %d entries", len(entries))
	}
}

// TestHostileFetchIntoFullDisk checks a fetch whose files do not fit where they go (here the
// file size limit, ulimit -f, as a full disk): it stops at the first file, says so in one
// line with what to do, and leaves no partial file.
func TestHostileFetchIntoFullDisk(t *testing.T) {
	if _, err := os.Stat(filepath.Join(datasets.FashionDebianDir, datasets.MNISTTestLabels+".gz")); err != nil {
		t.Skipf("Debian's package dataset-fashion-mnist is not installed (%v): no local source to copy from", err)
	}
	root := t.TempDir()
	cmd := exec.Command("sh", "-c", `ulimit -f 64 && exec "$0" "$@"`, binPath, "data", "fetch", "--dataset", "fashion", "--dir", "d", "-q")
	cmd.Dir = root
	var e bytes.Buffer
	cmd.Stderr = &e
	cmd.Run()
	checkRefused(t, "fetch into a size-limited directory", result{code: cmd.ProcessState.ExitCode(), stderr: e.String()}, 0, "--dir d: cannot be written (file too large); choose a directory you can write")
	if entries, _ := os.ReadDir(filepath.Join(root, "d")); len(entries) != 0 {
		t.Errorf("left in the directory: %v", entries)
	}
}
