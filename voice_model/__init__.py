"""Training, evaluation and the shipped models of the voice-emotion CNN (Keras 3 on the torch backend).

``python -m voice_model train|evaluate|export``: MFCC features of the speech manifest in
``<data_dir>/speech/manifest.csv`` (cached), a speaker-independent split, the original Conv1D architecture as a
baseline and an improved any-length variant; ``evaluate`` writes the model card beside the model.
"""
