package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Output files (--metrics, --plot, plot's and export onnx's --out) follow one policy, checked
// before any work: a regular file, replaced as a whole, or a new name in a directory that
// exists; never a device, a socket, a FIFO or a symbolic link (a link is refused rather than
// followed, so that no file elsewhere is written through it); never a file of a checkpoint;
// never the same file as another output of the run.

// checkOutputFile checks path as the output file of flag.
func checkOutputFile(flag, path string) error {
	if st, err := os.Lstat(path); err == nil && st.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("%s %s: is a symbolic link; graphtrain does not write through links: give the file itself", flag, path)
	}
	if err := checkWritable(flag, path); err != nil {
		return err
	}
	if isCheckpointFile(path) {
		return fmt.Errorf("%s %s: is a file of the checkpoint in %s; write it elsewhere", flag, path, filepath.Dir(path))
	}
	return nil
}

// isCheckpointFile reports whether path names a file a checkpoint is made of (model.json, a
// .npy file, last) in a directory that holds a checkpoint.
func isCheckpointFile(path string) bool {
	base := filepath.Base(path)
	if base != "model.json" && base != "last" && !strings.HasSuffix(base, ".npy") {
		return false
	}
	_, err := os.Stat(filepath.Join(filepath.Dir(path), "model.json"))
	return err == nil
}

// insideDir reports whether path lies in dir or below it (dir itself included).
func insideDir(path, dir string) bool {
	p, err := filepath.Abs(path)
	if err != nil {
		return false
	}
	for {
		if sameDir(p, dir) {
			return true
		}
		up := filepath.Dir(p)
		if up == p {
			return false
		}
		p = up
	}
}

// samePath reports whether two paths name the same file: the same absolute path, or two
// names of one existing file.
func samePath(a, b string) bool {
	pa, errA := filepath.Abs(a)
	pb, errB := filepath.Abs(b)
	if errA == nil && errB == nil && pa == pb {
		return true
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

// output is an output file of a command and its flag.
type output struct{ flag, path string }

// checkOutputs checks a run's output files (those given) with checkOutputFile, that none lies
// inside a checkpoint directory the run writes or reads (dirs, by flag), and that no two are
// the same file.
func checkOutputs(outs []output, dirs []output) error {
	var given []output
	for _, o := range outs {
		if o.path != "" {
			given = append(given, o)
		}
	}
	for i, o := range given {
		if err := checkOutputFile(o.flag, o.path); err != nil {
			return err
		}
		for _, d := range dirs {
			if d.path != "" && insideDir(o.path, d.path) {
				return usagef("%s %s: lies inside %s %s, a checkpoint directory that graphtrain replaces as a whole; write it elsewhere", o.flag, o.path, d.flag, d.path)
			}
		}
		for _, p := range given[:i] {
			if samePath(o.path, p.path) {
				return usagef("%s %s: is also %s's file; give each output a file of its own", o.flag, o.path, p.flag)
			}
		}
	}
	return nil
}

// checkOutDirName refuses an --out the checkpoint cannot be saved in: a save replaces the
// directory as a whole, by renaming, which "." and ".." (and "/") cannot be, and which would
// replace a symbolic link (OUT, or OUT/last) rather than the directory it points to.
func checkOutDirName(flag, dir string) error {
	switch filepath.Base(filepath.Clean(dir)) {
	case ".", "..", "/":
		return usagef("%s %s: a checkpoint is saved by replacing its directory as a whole, which cannot be done to %s; give a directory inside it, such as %s", flag, dir, dir, filepath.Join(dir, "checkpoint"))
	}
	for _, d := range []string{dir, filepath.Join(dir, "last")} {
		if st, err := os.Lstat(d); err == nil && st.Mode()&os.ModeSymlink != 0 {
			return fmt.Errorf("%s %s: %s is a symbolic link; a checkpoint is saved by replacing its directory as a whole, so give the directory itself", flag, dir, d)
		}
	}
	return nil
}

// checkPictureDir checks, before any work, a directory that pictures are written into (inspect's
// --out): an existing directory or a new name in one, never a symbolic link (the outputs'
// policy: no file is written through a link), nor a checkpoint's own directory.
func checkPictureDir(flag, dir string) error {
	st, err := os.Lstat(dir)
	switch {
	case err == nil && st.Mode()&os.ModeSymlink != 0:
		return fmt.Errorf("%s %s: is a symbolic link; graphtrain does not write through links: give the directory itself", flag, dir)
	case err == nil && !st.IsDir():
		return fmt.Errorf("%s %s: is a file, not a directory; give a directory (it is created if missing)", flag, dir)
	case err == nil:
		if _, err := os.Stat(filepath.Join(dir, "model.json")); err == nil {
			return fmt.Errorf("%s %s: holds a checkpoint; give a directory of its own for the pictures", flag, dir)
		}
		return nil
	}
	parent := filepath.Dir(dir)
	if st, err := os.Stat(parent); err != nil || !st.IsDir() {
		return fmt.Errorf("%s %s: the directory %s does not exist; create it or choose another %s", flag, dir, parent, flag)
	}
	return nil
}
