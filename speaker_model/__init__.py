"""Training side of diarization: the conversations it is tuned and judged on (``mixtures``) and the fit of its
learned split test (``fit``). The runtime (``backend.speakers``) reads only what the fit writes."""
