"""A model folder as fp16 safetensors shards under 15 MiB (the largest file the device machine
returns), and back.

    python scripts/device/shards.py split FOLDER OUT_DIR PREFIX
    python scripts/device/shards.py join OUT_DIR PREFIX CONFIG_DIR FOLDER
"""

import shutil
import sys
from pathlib import Path

from safetensors.torch import load_file, save_file

LIMIT = 15 * 2**20


def split(folder: Path, out: Path, prefix: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    weights = {k: v.half().contiguous() for k, v in load_file(folder / "model.safetensors").items()}
    shard, size, n = {}, 0, 0
    for k, v in weights.items():
        if shard and size + v.numel() * 2 > LIMIT:
            save_file(shard, out / f"{prefix}-{n}.safetensors")
            shard, size, n = {}, 0, n + 1
        shard[k] = v
        size += v.numel() * 2
    save_file(shard, out / f"{prefix}-{n}.safetensors")


def join(out: Path, prefix: str, config_dir: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    weights = {}
    for f in sorted(out.glob(f"{prefix}-*.safetensors")):
        weights.update(load_file(f))
    save_file({k: v.float() for k, v in weights.items()}, folder / "model.safetensors")
    shutil.copy(config_dir / "config.json", folder / "config.json")
    print(len(weights), "tensors joined into", folder)


if __name__ == "__main__":
    if sys.argv[1] == "split":
        split(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4])
    else:
        join(Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4]), Path(sys.argv[5]))
