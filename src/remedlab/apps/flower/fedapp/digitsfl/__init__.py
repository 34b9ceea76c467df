"""digitsfl: federated softmax regression on scikit-learn's digits (8x8 images, ten classes)."""
