"""MusicXML read straight to the model's ABC and the score's facts, without music21's object
tree: for the MusicXML it covers, the same text and facts as music21's importer followed by
``notation.writer`` (checked file by file, bench/read_speed.py --direct), in a fraction of the
time. Anything else raises ``Unsupported`` and the caller reads the file with music21.

$CLAMP_MUSICXML_READER=music21 turns the direct reader off.

Public: ``read_direct``, ``read_file_direct``, ``DirectRead``, ``Unsupported``.
"""

from clamp_core.musicxml.model import Unsupported
from clamp_core.musicxml.read import READER_ENV, DirectRead, read_direct, read_file_direct

__all__ = ["READER_ENV", "DirectRead", "Unsupported", "read_direct", "read_file_direct"]
