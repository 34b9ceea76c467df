"""Flower federated learning: the real Flower deployment engine (SuperLink, SuperNodes, SuperExec) runs
a Flower App (``fedapp/``) that trains a softmax regression on scikit-learn's bundled digits data set."""
