"""``python -m speaker_model fit``: refit diarization's split test on the tuning speakers' mixtures and write it
where the runtime reads it (``backend/speakers/split_test.json``)."""

from __future__ import annotations

import argparse
import json
import sys

from backend.config import get_settings
from backend.speakers.split_test import WEIGHTS

from .fit import fit


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m speaker_model", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    fitting = commands.add_parser("fit", help="fit the split test and write " + WEIGHTS.name)
    fitting.add_argument("--files", type=int, default=25, help="tuning mixtures of each number of speakers (1-4)")
    args = parser.parse_args()
    manifest = get_settings().data_dir / "speech" / "manifest.csv"
    if not manifest.is_file():
        parser.error(f"no speech manifest at {manifest}: the mixtures are made of ../shared's speech corpora")
    fitted = fit(get_settings().data_dir, args.files)
    WEIGHTS.write_text(json.dumps(fitted, indent=1) + "\n")
    print(f"wrote {WEIGHTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
