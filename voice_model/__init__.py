"""Training, evaluation and the shipped weights of the voice emotion CNN (the voice issue; not built yet)."""
