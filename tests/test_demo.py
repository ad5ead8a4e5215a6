"""The demo library: the slices of multi-tune ABC files hold the tunes they say they hold."""

import re

from clamp_core.demo import corpus_slice


def test_slices_keep_forty_whole_tunes_from_their_first(tmp_path):
    files = corpus_slice(tmp_path)
    airs = tmp_path / "airds" / "book5_41-80.abc"
    assert airs in files and (tmp_path / "essen" / "han1_first40.abc") in files
    numbers = re.findall(r"(?m)^X:\s*(\d+)", airs.read_text(encoding="utf-8"))
    assert len(numbers) == 40 and int(numbers[0]) == 841 and int(numbers[-1]) == 880
    for song in (tmp_path / "essen").glob("*.abc"):
        numbers = re.findall(r"(?m)^X:\s*(\d+)", song.read_text(encoding="utf-8"))
        assert [int(n) for n in numbers] == list(range(1, 41))
    # the same call again copies nothing new and keeps every file
    assert corpus_slice(tmp_path) == files
