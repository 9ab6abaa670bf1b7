"""Training, evaluation and the shipped weights of the face-expression classifier (the ``cnn`` face model)."""
