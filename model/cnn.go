package model

// The LeNet-style convnet, float32, with the shapes of bench/peers/torch_mnist.py's:
//
//	x [B,784] → [B,1,28,28]
//	conv 6@5x5 pad 2 + b → ReLU → maxpool 2   [B,6,14,14]
//	conv 16@5x5      + b → ReLU → maxpool 2   [B,16,5,5] → [B,400]
//	fc 400→120 ReLU → fc 120→84 ReLU → fc 84→10
//
// ending in logits [B,10] and softmax cross-entropy (mnist.go). Parameters start as
// PyTorch's layers start them, uniform in ±1/√fan_in (weights and biases).
var cnnKind = kind{
	name:       CNNKind,
	classifier: true,
	nearest:    func(Spec) (Spec, error) { return cnnSpec(), nil },
	arch: func(Spec) []Layer {
		return []Layer{
			Conv(6, 5, 2), ReLU, MaxPool(2),
			Conv(16, 5, 0), ReLU, MaxPool(2),
			Flatten, Dense(120, true), ReLU, Dense(84, true), ReLU, Dense(Classes, true),
		}
	},
	input: imageInput,
	// input, im2col of both convolutions (28·28·25 and 10·10·150), conv, bias, ReLU and pool
	// outputs, the dense layers.
	perExample: func(Spec) int64 {
		return 2 * int64(ImageSize+28*28*25+10*10*150+4*6*28*28+2*6*14*14+4*16*10*10+2*400+4*120+4*84+8*Classes)
	},
	loss: softmaxCrossEntropy,
}

// CNNKind is the LeNet-style convnet's kind name, for callers that draw it as README does.
const CNNKind = "cnn"

func cnnSpec() Spec {
	return Spec{Kind: CNNKind, Inputs: ImageSize, Outputs: Classes, Bias: true, Activation: "relu", Dtype: "float32"}
}

// NewCNN returns the LeNet-style convnet.
func NewCNN(seed int64) (*Model, error) { return NewModel(cnnSpec(), seed) }
