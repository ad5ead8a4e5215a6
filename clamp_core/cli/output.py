"""What every verb prints and returns: JSON for tools, progress bars on stderr, exit codes.

Exit codes: 0 success, 1 error the user can fix (one line on stderr), 2 usage error,
3 some inputs of a batch failed (the rest was done), 70 internal error (a bug: please report).
Front ends that add verbs (musescore_bridge) use these too, so every verb speaks alike.
"""

from __future__ import annotations

import json
import sys

import click

EXIT_PARTIAL = 3
EXIT_INTERNAL = 70


def emit_json(data) -> None:
    """One JSON document on stdout, non-ASCII kept as written (titles, composers)."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def progress(items, desc: str):
    """A progress bar on stderr for batches of five or more files (stdout stays clean)."""
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="file", disable=len(items) < 5, file=sys.stderr, leave=False)


def warn_unfamiliar(novelty) -> None:
    """One line on stderr when a score is unlike the model's training music (a Novelty)."""
    if novelty is not None and novelty.unfamiliar:
        click.echo(f"clamp: note: this score is {novelty.to_dict()['message']} (nearest training "
                   f"cosine {novelty.nearest:.2f}, threshold {novelty.threshold:.2f})", err=True)


def skipped(message: str) -> None:
    """Report a batch item that failed without breaking the progress bar's line."""
    from tqdm import tqdm

    tqdm.write(f"clamp: skipped: {message}", file=sys.stderr)
