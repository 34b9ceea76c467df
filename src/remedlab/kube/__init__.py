"""A Kubernetes API client: what the harness drives a cluster through when a kubeconfig names it."""
