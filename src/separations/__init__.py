"""Transformers vs recurrent models: the separation experiments of two papers, as a pipeline."""

__version__ = "0.1.0"
