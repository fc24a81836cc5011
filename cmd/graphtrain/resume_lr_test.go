package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestResumeLRZeroKeepsTheRate: --resume with --lr 0 keeps the checkpoint's rate (0 is "the
// default" everywhere), so what it saves loads again; --hidden with the cnn is refused.
func TestResumeLRZeroKeepsTheRate(t *testing.T) {
	dir := t.TempDir()
	if r := runBin(t, dir, "", "train", "mnist", "--limit", "600", "--epochs", "1", "--device", "cpu", "--out", "o"); r.code != 0 {
		t.Fatalf("train: exit %d\n%s", r.code, r.stderr)
	}
	r := runBin(t, dir, "", "train", "mnist", "--resume", "o", "--epochs", "2", "--lr", "0", "--device", "cpu")
	if want := fmt.Sprintf("%s lr %g", recipeFor("mnist", "mlp").solver, recipeFor("mnist", "mlp").lr); r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Fatalf("resume --lr 0: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runBin(t, dir, "", "eval", "mnist", "--weights", "o", "--device", "cpu"); r.code != 0 {
		t.Errorf("eval after the resumed run: exit %d\n%s", r.code, r.stderr)
	}
	if r := runBin(t, dir, "", "train", "mnist", "--model", "cnn", "--hidden", "8", "--out", "c"); r.code != 2 || !strings.Contains(r.stderr, "no hidden-units setting") {
		t.Errorf("--model cnn --hidden 8: exit %d, %s", r.code, r.stderr)
	}
}

// TestResumeIntoAnotherOut: a run resumed into an --out other than its own starts from the
// resumed OUT's best model, so --out holds a model even when no epoch of the new run beats it
// (a rate of 1e-9 changes nothing: epoch 2 ties epoch 1). Before, --out held only last/ and
// the run ended with "the model just saved does not load".
func TestResumeIntoAnotherOut(t *testing.T) {
	dir := t.TempDir()
	if r := runBin(t, dir, "", "train", "mnist", "--limit", "600", "--epochs", "1", "--device", "cpu", "--out", "o"); r.code != 0 {
		t.Fatalf("train: exit %d\n%s", r.code, r.stderr)
	}
	r := runBin(t, dir, "", "train", "mnist", "--resume", "o", "--epochs", "2", "--lr", "1e-9", "--device", "cpu", "--out", "o2")
	if r.code != 0 || !strings.Contains(r.stdout, "the epoch 1 model, saved in o2") {
		t.Fatalf("resume into o2: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, w := range []string{"o", "o2", "o2/last"} {
		if r := runBin(t, dir, "", "eval", "mnist", "--weights", w, "--device", "cpu"); r.code != 0 {
			t.Errorf("eval %s after the resumed run: exit %d\n%s", w, r.code, r.stderr)
		}
	}
	// An OUT holding last/ alone (its run stopped before an epoch ended): nothing to beat, so
	// the first epoch is its model, even one that ties the best recorded in last/.
	if err := os.CopyFS(filepath.Join(dir, "p", "last"), os.DirFS(filepath.Join(dir, "o", "last"))); err != nil {
		t.Fatal(err)
	}
	r = runBin(t, dir, "", "train", "mnist", "--resume", "p", "--epochs", "2", "--lr", "1e-9", "--device", "cpu")
	if r.code != 0 || !strings.Contains(r.stdout, "the epoch 2 model, saved in p") {
		t.Fatalf("resume p (last/ alone): exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
