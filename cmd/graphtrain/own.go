package main

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/graphtrain/graphtrain/datasets"
	"github.com/graphtrain/graphtrain/internal/safefile"
	"github.com/graphtrain/graphtrain/model"
)

// archLayersHelp lists the layers --arch takes, for its help.
const archLayersHelp = "each dense(N), conv(F,K) with stride=S and pad=P or pad=same, maxpool(K) or avgpool(K) with stride=S, relu, leakyrelu(A), sigmoid, tanh, dropout(P) (inverted, off at evaluation), batchnorm (running statistics at evaluation) or flatten (implied before the first dense after a conv); the last dense layer's units are the classes; e.g. 'conv(32,5,pad=2) relu maxpool(2) dense(128) relu dense(10)'"

// maxArchFileBytes bounds a --arch @FILE: a description of the most layers is far smaller.
const maxArchFileBytes = 1 << 20

// checkArch checks --arch against the other flags and makes the model a custom one when it is
// given; --dataset own needs it.
func checkArch(fs *pflag.FlagSet, o *trainMNISTOpts) error {
	switch {
	case o.dataset == datasets.Own.Name && o.dataDir == "":
		return usagef("--dataset own: give the directory of your data set's four files with --data-dir")
	case o.arch == "" && o.dataset == datasets.Own.Name && o.resume == "":
		return usagef("--dataset own: give your network with --arch (the built-in models read 28x28 images of 10 classes)")
	case o.arch == "" && o.model == customKind && o.resume == "":
		return usagef("--model %s: give the network with --arch", customKind)
	case o.arch == "":
		return nil
	case fs.Changed("model") && o.model != customKind:
		return usagef("--arch with --model %s: give one or the other", o.model)
	case fs.Changed("hidden"):
		return usagef("--hidden is the mlp's; with --arch the description gives every layer's size")
	case o.resume != "":
		return usagef("--arch with --resume: the checkpoint in --resume has its network; leave out --arch")
	}
	text, err := archText(o.arch)
	if err != nil {
		return err
	}
	o.arch, o.model = text, customKind
	return nil
}

// archText is --arch's description: the flag's text, or FILE's for @FILE; checked.
func archText(arch string) (string, error) {
	if strings.HasPrefix(arch, "@") {
		raw, err := safefile.ReadFile(arch[1:], maxArchFileBytes)
		if err != nil {
			return "", fmt.Errorf("--arch %s: %v; give a model description, or @FILE of a readable file", arch, err)
		}
		arch = string(raw)
	}
	if _, err := model.ParseArch(arch); err != nil {
		return "", usagef("--arch: %v", err)
	}
	return arch, nil
}

// archFlagHelp is the help of graph's and gradcheck's --arch.
const archFlagHelp = "with the model custom: a model description (or @FILE), on MNIST's 28x28 images; see train mnist --help"

// checkArchArg checks that --arch comes with the model custom, and custom with --arch.
func checkArchArg(kind, arch string) error {
	switch {
	case kind == customKind && arch == "":
		return usagef("model %s: give its layers with --arch", customKind)
	case kind != customKind && arch != "":
		return usagef("--arch is for the model %s; %s has its own layers", customKind, kind)
	}
	return nil
}

// customModel is the fresh model of --arch for graph and gradcheck, on MNIST's images.
func customModel(arch string, seed int64) (*model.Model, error) {
	text, err := archText(arch)
	if err != nil {
		return nil, err
	}
	m, err := model.NewCustom(text, model.Shape{C: 1, H: datasets.MNISTRows, W: datasets.MNISTCols}, seed)
	if err != nil {
		return nil, usagef("--arch: %v", err)
	}
	return m, nil
}

// freshSpec is the spec of the model a fresh train mnist run makes: --model's with --hidden,
// or --arch's on the data set's images.
func freshSpec(o *trainMNISTOpts) (model.Spec, error) {
	if o.model != customKind {
		spec, err := model.SpecFor(o.model, 1, false)
		if o.model == "mlp" {
			spec, err = model.MLPSpec(o.hidden)
		}
		if err != nil {
			return model.Spec{}, usagef("--hidden %s: %v", o.hidden.String(), err)
		}
		return spec, nil
	}
	in, classes := model.Shape{C: 1, H: datasets.MNISTRows, W: datasets.MNISTCols}, datasets.MNISTClasses
	if o.dataset == datasets.Own.Name {
		info, err := datasets.ReadSetInfo(o.dataDir)
		if err != nil {
			return model.Spec{}, ownAdvice(o.dataDir, err)
		}
		in, classes = model.Shape{C: info.Channels, H: info.Rows, W: info.Cols}, 0
	}
	spec, err := model.CustomSpec(o.arch, in)
	if err != nil {
		return model.Spec{}, usagef("--arch: %v", err)
	}
	if classes > 0 && spec.Outputs != classes {
		return model.Spec{}, usagef("--arch: its last dense layer has %d units; %s has %d classes", spec.Outputs, o.dataset, classes)
	}
	return spec, nil
}

// ownAdvice is the message for an own data set in dir that cannot be read: what is wrong,
// and, when the error does not say it, what the directory must hold.
func ownAdvice(dir string, err error) error {
	if strings.Contains(err.Error(), "; ") {
		return fmt.Errorf("--data-dir %s: %w", dir, err)
	}
	return fmt.Errorf("--data-dir %s: %w; give a directory of your set's four IDX files, named as MNIST's (README: Your own data)", dir, err)
}

// trainImages is the number of training images the data set holds (before --limit): MNIST's
// 60000, or what an own set's header says.
func trainImages(o *trainMNISTOpts) (int, error) {
	if o.dataset != datasets.Own.Name {
		return datasets.MNISTTrainN, nil
	}
	info, err := datasets.ReadSetInfo(o.dataDir)
	if err != nil {
		return 0, ownAdvice(o.dataDir, err)
	}
	return info.TrainN, nil
}

// ownSets loads an own data set from dir: the training set (its first limit images) and the
// test set, the classes from the labels.
func ownSets(dir string, limit int) (train, test *datasets.Set, err error) {
	info, err := datasets.ReadSetInfo(dir)
	if err == nil {
		train, test, err = datasets.LoadSet(info, limit)
	}
	if err != nil {
		return nil, nil, ownAdvice(dir, err)
	}
	return train, test, nil
}
