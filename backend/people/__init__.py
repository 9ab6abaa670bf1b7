"""People in a file: who speaks when, which face speaks, and each person's evidence (issue #36)."""
