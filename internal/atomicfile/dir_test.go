package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFiles(files map[string]string) func(tmp string) error {
	return func(tmp string) error {
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(tmp, name), []byte(content), 0o644); err != nil {
				return err
			}
		}
		return nil
	}
}

func TestReplaceDir(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "out")
	if err := ReplaceDir(dir, writeFiles(map[string]string{"a": "1", "b": "1"}), nil); err != nil {
		t.Fatal(err)
	}
	// Something else lives in the directory: a subdirectory and a file kept by hard link.
	os.Mkdir(filepath.Join(dir, "last"), 0o755)
	os.WriteFile(filepath.Join(dir, "last", "x"), []byte("last"), 0o644)
	os.WriteFile(filepath.Join(dir, "keepme"), []byte("k"), 0o644)
	f, _ := os.OpenFile(filepath.Join(dir, "keepme"), os.O_WRONLY|os.O_APPEND, 0)
	defer f.Close()
	keep := func(name string) bool { return name != "a" && name != "b" }
	if err := ReplaceDir(dir, writeFiles(map[string]string{"a": "2"}), keep); err != nil {
		t.Fatal(err)
	}
	f.WriteString("+") // an open file stays the directory's file
	for name, want := range map[string]string{"a": "2", "last/x": "last", "keepme": "k+"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(got) != want {
			t.Errorf("%s: %q %v, want %q", name, got, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "b")); err == nil {
		t.Error("b of the old directory survived the replacement")
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 {
		t.Errorf("the parent holds %d entries after the replacement, want 1 (no leftovers)", len(entries))
	}
}

func TestReplaceDirFailureLeavesOld(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "out")
	ReplaceDir(dir, writeFiles(map[string]string{"a": "1"}), nil)
	err := ReplaceDir(dir, func(tmp string) error {
		os.WriteFile(filepath.Join(tmp, "a"), []byte("half"), 0o644)
		return os.ErrClosed
	}, nil)
	if err == nil {
		t.Fatal("a failing fill replaced the directory")
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "a")); string(got) != "1" {
		t.Errorf("a is %q after a failed replacement, want the old 1", got)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 1 {
		t.Errorf("a failed replacement left %d entries", len(entries))
	}
}

func TestClean(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "out")
	os.MkdirAll(filepath.Join(dir, "last"), 0o755)
	leftovers := []string{
		filepath.Join(root, TempPrefix+"out-new-123"),
		filepath.Join(dir, TempPrefix+"model.json-9"),
		filepath.Join(dir, "last", ".weights0.npy.tmp-42"),
	}
	for _, p := range leftovers {
		os.WriteFile(p, nil, 0o644)
	}
	keep := []string{filepath.Join(root, "other"), filepath.Join(dir, "model.json"), filepath.Join(root, TempPrefix+"outer-new-1"),
		// a user's own files whose names only look temporary (issue 22)
		filepath.Join(dir, ".notes.tmp-draft"), filepath.Join(dir, "last", ".plan.txt.tmp-1"), filepath.Join(dir, ".model.json.tmp-x")}
	for _, p := range keep {
		os.WriteFile(p, nil, 0o644)
	}
	if err := Clean(dir); err != nil {
		t.Fatal(err)
	}
	for _, p := range leftovers {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s survived Clean", p)
		}
	}
	for _, p := range keep {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("Clean removed %s", strings.TrimPrefix(p, root))
		}
	}
	// A directory renamed aside (no exchange) comes back when the directory is missing.
	os.RemoveAll(dir)
	os.Mkdir(filepath.Join(root, TempPrefix+"out-old"), 0o755)
	Clean(dir)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		t.Errorf("the directory set aside was not put back: %v", err)
	}
}
