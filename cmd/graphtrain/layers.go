package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/graphtrain/graphtrain/model"
)

// layersFlag is --hidden for the mlp: the sizes of its hidden layers, first to last, as a
// comma-separated list ("512,256" builds 784-512-256-10; one number, one hidden layer).
type layersFlag []int

func (l *layersFlag) String() string { return layersString(*l) }

// layersString writes hidden layer sizes as --hidden takes them: 512,256.
func layersString(l []int) string {
	parts := make([]string, len(l))
	for i, h := range l {
		parts[i] = strconv.Itoa(h)
	}
	return strings.Join(parts, ",")
}

func (l *layersFlag) Type() string { return "H[,H...]" }

func (l *layersFlag) Set(s string) error {
	v, err := parseLayers(s)
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// parseLayers reads a comma-separated list of hidden layer sizes.
func parseLayers(s string) ([]int, error) {
	fields := strings.Split(s, ",")
	if len(fields) > model.MaxLayers {
		return nil, fmt.Errorf("%d hidden layers: at most %d", len(fields), model.MaxLayers)
	}
	var v []int
	for _, f := range fields {
		h, err := strconv.Atoi(strings.TrimSpace(f))
		if errors.Is(err, strconv.ErrRange) {
			return nil, fmt.Errorf("out of range; give sizes like 256 or 512,256")
		}
		if err != nil {
			return nil, fmt.Errorf("%q is not a number of hidden units; give sizes like 256 or 512,256", strings.TrimSpace(f))
		}
		v = append(v, h)
	}
	return v, nil
}

// checkLayers checks the sizes --hidden gave, each between 1 and model.MaxHidden.
func checkLayers(l []int) error {
	for _, h := range l {
		if h < 1 || h > model.MaxHidden {
			if len(l) == 1 {
				return usagef("--hidden %d: must be between 1 and %d", h, model.MaxHidden)
			}
			return usagef("--hidden %s: %d hidden units: each layer must have between 1 and %d", layersString(l), h, model.MaxHidden)
		}
	}
	return nil
}
