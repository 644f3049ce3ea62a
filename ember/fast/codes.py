"""The codes the compiled kernel and the plan share: one per layer kind and per criterion."""

LINEAR, SIGMOID, TANH, RELU, LEAKY_RELU, SOFTMAX, LOG_SOFTMAX, SOFTMIN = range(8)
CROSS_ENTROPY, CLASS_NLL, MSE, BCE = range(4)

#: BCECriterion's guard against log 0 (Torch's).
BCE_EPS = 1e-12
