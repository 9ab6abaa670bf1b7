"""EmoClassify analysis engine: media in, emotions over time out. No web code lives here."""

__version__ = "0.1.0"
