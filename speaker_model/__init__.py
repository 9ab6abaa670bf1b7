"""Training side of diarization: the conversations of 1-4 speakers it is tuned and judged on (``mixtures``), which
the tests and ``bench/bench_diarization.py`` build too. The runtime (``backend.speakers``) never imports it."""
