"""Voice emotion over time: ``windows`` cuts the sound into windows, ``speech_detection`` tells speech from silence
and other sounds, ``models/`` classifies the speech windows (one interface, chosen by name through
``get_voice_model``), ``analysis`` puts the three together over a signal. Below the models: ``store`` (shipped model
folders), ``whisper_encoder`` (the pretrained speech encoder), ``loudness`` (each window levelled before it),
``head`` (the network over the encoder's frames) and ``features`` (the MFCCs of the first models)."""
