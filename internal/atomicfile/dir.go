package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// ReplaceDir makes dir a complete new directory in one atomic step. fill writes the new
// content into an empty temporary sibling of dir; entries of the old dir for which keep
// returns true (keep may be nil) are carried into the new one as hard links (copies where
// the file system has none), so that a file another part of the program has open stays
// shared. Each file fill writes must be synced by fill (WriteFile and SyncFile do that);
// ReplaceDir syncs the directories. Then the new directory and the old are exchanged with a
// single rename (Linux renameat2 RENAME_EXCHANGE), so that at every instant dir is either
// the old directory or the new one, and the old is removed.
//
// Where the exchange is not available, the old dir is first renamed aside and the new one
// renamed in: a crash between the two leaves dir missing and the old one aside, which Clean
// puts back.
func ReplaceDir(dir string, fill func(tmp string) error, keep func(name string) bool) (err error) {
	dir = filepath.Clean(dir)
	parent, base := filepath.Dir(dir), filepath.Base(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return &Error{parent, err}
	}
	tmp, err := os.MkdirTemp(parent, TempPrefix+base+"-new-")
	if err != nil {
		return &Error{dir, err}
	}
	defer Track(tmp)()
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return &Error{dir, err}
	}
	if err := fill(tmp); err != nil {
		var fe *Error
		if errors.As(err, &fe) { // name the file in dir, not in its temporary sibling
			if rel, relErr := filepath.Rel(tmp, fe.Path); relErr == nil && !strings.HasPrefix(rel, "..") {
				return &Error{filepath.Join(dir, rel), fe.Err}
			}
		}
		return err
	}
	old, statErr := os.Lstat(dir)
	exists := statErr == nil
	if exists && !old.IsDir() {
		return &Error{dir, errors.New("it exists and is not a directory")}
	}
	if exists && keep != nil {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return &Error{dir, err}
		}
		for _, e := range entries {
			if !keep(e.Name()) || strings.HasPrefix(e.Name(), TempPrefix) {
				continue
			}
			if _, err := os.Lstat(filepath.Join(tmp, e.Name())); err == nil {
				continue // fill wrote its own
			}
			if err := linkTree(filepath.Join(dir, e.Name()), filepath.Join(tmp, e.Name())); err != nil {
				return &Error{filepath.Join(dir, e.Name()), err}
			}
		}
	}
	if err := SyncDir(tmp); err != nil {
		return &Error{dir, err}
	}
	if !exists {
		if err := os.Rename(tmp, dir); err != nil {
			return &Error{dir, err}
		}
		return SyncDir(parent)
	}
	if err := exchange(tmp, dir); err == nil {
		// tmp now holds the old directory.
		if err := SyncDir(parent); err != nil {
			return err
		}
		os.RemoveAll(tmp)
		return nil
	} else if !errors.Is(err, errNoExchange) {
		return &Error{dir, err}
	}
	aside := filepath.Join(parent, TempPrefix+base+"-old")
	os.RemoveAll(aside)
	if err := os.Rename(dir, aside); err != nil {
		return &Error{dir, err}
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.Rename(aside, dir)
		return &Error{dir, err}
	}
	if err := SyncDir(parent); err != nil {
		return err
	}
	os.RemoveAll(aside)
	return nil
}

// linkTree recreates src at dst: directories made anew, regular files hard-linked (copied
// where links fail), other entries skipped.
func linkTree(src, dst string) error {
	st, err := os.Lstat(src)
	if err != nil {
		return err
	}
	switch {
	case st.IsDir():
		if err := os.Mkdir(dst, st.Mode().Perm()); err != nil {
			return err
		}
		entries, err := os.ReadDir(src)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), TempPrefix) {
				continue
			}
			if err := linkTree(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
				return err
			}
		}
		return SyncDir(dst)
	case st.Mode().IsRegular():
		if os.Link(src, dst) == nil {
			return nil
		}
		return copyFile(src, dst, st.Mode().Perm())
	}
	return nil
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// SyncFile creates path, writes it through write and syncs it: for the files of a new
// directory that ReplaceDir swaps in (no rename needed there).
func SyncFile(path string, write func(w io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return &Error{path, err}
	}
	if err := write(f); err != nil {
		f.Close()
		return &Error{path, err}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return &Error{path, err}
	}
	if err := f.Close(); err != nil {
		return &Error{path, err}
	}
	return nil
}

// Clean removes what a process killed inside WriteFile or ReplaceDir left of dir: temporary
// siblings of dir, and temporary files inside dir and inside its subdirectories one level
// down (OUT/last). A directory renamed aside by ReplaceDir's fallback is put back when dir
// is missing. Only the leftovers of a process that no longer writes here may be cleaned:
// the caller holds dir's lock.
func Clean(dir string) error {
	dir = filepath.Clean(dir)
	parent, base := filepath.Dir(dir), filepath.Base(dir)
	aside := filepath.Join(parent, TempPrefix+base+"-old")
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Lstat(aside); err == nil {
			if err := os.Rename(aside, dir); err != nil {
				return fmt.Errorf("restore %s: %w", dir, err)
			}
		}
	}
	var firstErr error
	remove := func(path string) {
		if err := os.RemoveAll(path); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	siblings, _ := filepath.Glob(filepath.Join(parent, globEscape(TempPrefix+base+"-")+"*"))
	for _, s := range siblings {
		remove(s)
	}
	cleanInside := func(d string) {
		entries, err := os.ReadDir(d)
		if err != nil {
			return
		}
		for _, e := range entries {
			if isTemp(e.Name()) {
				remove(filepath.Join(d, e.Name()))
			}
		}
	}
	cleanInside(dir)
	if entries, err := os.ReadDir(dir); err == nil {
		for _, e := range entries {
			if e.IsDir() && !isTemp(e.Name()) {
				cleanInside(filepath.Join(dir, e.Name()))
			}
		}
	}
	return firstErr
}

// isTemp recognises this package's temporary names, and those of graphtrain versions that
// named them ".<file>.tmp-<random>", for the files a checkpoint holds (model.json, .npy files)
// and os.CreateTemp's decimal random part only: a user's own ".notes.tmp-draft" is not ours.
func isTemp(name string) bool {
	return strings.HasPrefix(name, TempPrefix) || legacyTemp.MatchString(name)
}

var legacyTemp = regexp.MustCompile(`^\.(model\.json|[A-Za-z0-9_.-]+\.npy)\.tmp-[0-9]+$`)

func globEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`)
	return r.Replace(s)
}
