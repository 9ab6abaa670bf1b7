"""Face-expression classifiers, chosen by name (``cnn``, ``vit``, ``auto``) through :func:`get_classifier`."""

from .base import FaceClassifier
from .registry import available_classifiers, get_classifier

__all__ = ["FaceClassifier", "available_classifiers", "get_classifier"]
