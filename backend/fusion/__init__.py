"""Face and voice together: ``combiner`` (the learned rule that fuses a face's and a voice's emotion),
``fused_windows`` (one fused answer per window and face), ``double_check`` (face against voice, window by window)
and ``echo_mean`` (the whole file's mean emotion per modality)."""
