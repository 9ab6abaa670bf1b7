"""Faces: detection (MTCNN), aligned crops, expression classifiers behind one interface, and tracking."""
