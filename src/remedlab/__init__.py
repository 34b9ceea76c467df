"""remedlab: a container-free lab and benchmark for AIOps agents."""

__version__ = "0.1.0"
