// Package inspect looks inside models: WriteDOT draws a Net's Gorgonia graph (and its
// backward pass) as Graphviz DOT, GradCheck compares the symbolic gradients with central
// finite differences, and XORLayers, NearestLogic and CNNFeatureMaps give the hidden layers'
// activations that `graphtrain inspect` draws.
package inspect
