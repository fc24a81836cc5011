package checkpoint

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/graphtrain/graphtrain/model"
)

// TestLoadOvertakenBySave: a save that replaces the checkpoint while it is read (after
// model.json, before the parameters) makes the read start again and give the new checkpoint
// whole, not a checksum error about a crash or an edited file; saves that never stop are
// refused as a checkpoint that kept changing (issue 22).
func TestLoadOvertakenBySave(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ck")
	a, _ := model.NewMLP(7, 1)
	b, _ := model.NewMLP(7, 2)
	if err := SaveCheckpoint(dir, a, nil, Checkpoint{Epoch: 1}); err != nil {
		t.Fatal(err)
	}
	saves := 0
	afterModelJSON = func() {
		if saves < 1 {
			saves++
			if err := SaveCheckpoint(dir, b, nil, Checkpoint{Epoch: 2}); err != nil {
				t.Error(err)
			}
		}
	}
	defer func() { afterModelJSON = nil }()
	m, _, ck, err := LoadCheckpoint(dir)
	if err != nil {
		t.Fatalf("a read overtaken by one save: %v", err)
	}
	if ck.Epoch != 2 || !reflect.DeepEqual(m.Params[0].T.Data(), b.Params[0].T.Data()) {
		t.Errorf("read epoch %d, not the new checkpoint whole", ck.Epoch)
	}
	afterModelJSON = func() { // a save at every read
		if err := SaveCheckpoint(dir, a, nil, Checkpoint{Epoch: 3}); err != nil {
			t.Error(err)
		}
	}
	if _, _, _, err := LoadCheckpoint(dir); err == nil || !strings.Contains(err.Error(), "changed 3 times while it was read") {
		t.Errorf("reads overtaken by saves every time: %v", err)
	}
}
