package train

import (
	"os"
	"path/filepath"

	"github.com/graphtrain/graphtrain/checkpoint"
	"github.com/graphtrain/graphtrain/internal/safefile"
	"github.com/graphtrain/graphtrain/model"
)

// BestValKey is the metric of model.json that records the best validation accuracy of a run
// so far, in OUT and in OUT/last: a resumed run saves a later epoch to OUT only when it
// does better.
const BestValKey = "best_val_accuracy"

// Resumed is where a run to be resumed stopped: the state in its checkpoint and the best
// validation accuracy so far.
type Resumed struct {
	Model      *model.Model
	Solver     *model.Solver // nil when the checkpoint holds no solver state
	Checkpoint *checkpoint.Checkpoint
	Start      int     // epochs done
	BestVal    float64 // the best validation accuracy so far (that of the model in OUT)
	Dir        string  // the checkpoint read: OUT/last, or the directory given
	Out        string  // the OUT it belongs to
}

// ResumeDirs says which checkpoint resuming from dir reads (dir/last when there is one, else
// dir itself) and the OUT it belongs to.
func ResumeDirs(dir string) (ck, out string) {
	ck, out = dir, dir
	if st, err := os.Stat(checkpoint.LastDir(dir)); err == nil && st.IsDir() {
		ck = checkpoint.LastDir(dir)
	} else if filepath.Base(filepath.Clean(dir)) == "last" {
		out = filepath.Dir(filepath.Clean(dir))
	}
	return ck, out
}

// Resume loads the checkpoint that resuming from dir continues (ResumeDirs). The best
// validation accuracy so far is the one the checkpoint records (BestValKey); a checkpoint
// from before it was recorded takes the validation accuracy of the model in OUT.
func Resume(dir string) (*Resumed, error) {
	r := &Resumed{}
	r.Dir, r.Out = ResumeDirs(dir)
	m, s, ck, err := checkpoint.LoadCheckpoint(r.Dir)
	if err != nil {
		return nil, err
	}
	r.Model, r.Solver, r.Checkpoint, r.Start = m, s, ck, ck.Epoch
	if v, ok := ck.Metrics[BestValKey]; ok {
		r.BestVal = v
	} else if r.Out != r.Dir {
		r.BestVal = outValAccuracy(r.Out)
	}
	return r, nil
}

// outValAccuracy is the validation accuracy model.json in out records, 0 when it cannot be
// read (the next epoch is then saved as the best, as before).
func outValAccuracy(out string) float64 {
	raw, err := safefile.ReadFile(filepath.Join(out, "model.json"), checkpoint.MaxModelJSONBytes)
	if err != nil {
		return 0
	}
	ck, err := checkpoint.ParseModelJSON(raw)
	if err != nil {
		return 0
	}
	return ck.Metrics["val_accuracy"]
}
