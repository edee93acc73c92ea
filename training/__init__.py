"""Training-side code of qrtse: data (mixture builder, clip sources, queries) and the training loop."""
