"""Fitting the face + voice combiner (``backend.fusion.combiner``) on labelled pairs built from the shared data, and its
card: ``python -m fusion_model fit`` then ``python -m fusion_model card``."""
