"""Recorded Rainbow-DQN action files: the known games, their checksums, download and cache.

The files (one per game, ``<Game>NoFrameskip-v4.txt``, 250,000 bytes) are fetched from a
public repository pinned to one commit and checked against the SHA-256 list shipped with
this package (``policy_sha256sums.txt``). Verified files are cached in
``<data dir>/policies/``; see :func:`data_dir` for where that is.
"""
from __future__ import annotations

import difflib
import hashlib
import os
from functools import lru_cache
from pathlib import Path

from rtrlbench.atomic import atomic_path

#: The public source, pinned to a commit; override with ``RTRLBENCH_POLICY_URL`` or ``base_url=``.
POLICY_URL = ("https://raw.githubusercontent.com/khurramjaved96/swiftd-atari-prediction-benchmark/"
              "25395d07e821fd55d09e557f30ddfe3938dcdc5b/policies/")
POLICY_URL_VAR = "RTRLBENCH_POLICY_URL"
DATA_DIR_VAR = "RTRLBENCH_DATA_DIR"
_SUFFIX_NO_TXT = "NoFrameskip-v4"
_SUFFIX = _SUFFIX_NO_TXT + ".txt"
_TIMEOUT = 60.0


def data_dir(override: str | os.PathLike | None = None) -> Path:
    """Root folder for cached policies and datasets.

    ``override`` if given, else ``$RTRLBENCH_DATA_DIR``, else ``$XDG_CACHE_HOME/rtrlbench``
    (``~/.cache/rtrlbench``).
    """
    if override is not None:
        return Path(override).expanduser()
    if os.environ.get(DATA_DIR_VAR):
        return Path(os.environ[DATA_DIR_VAR]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "rtrlbench"


@lru_cache(maxsize=1)
def checksums() -> dict[str, str]:
    """Game name (e.g. ``"Pong"``) -> SHA-256 hex digest of its action file."""
    sums = {}
    text = (Path(__file__).parent / "policy_sha256sums.txt").read_text()
    for line in text.splitlines():
        if line.strip():
            digest, name = line.split()
            sums[name.removesuffix(_SUFFIX)] = digest
    return sums


def games() -> list[str]:
    """Every game with a recorded policy, sorted."""
    return sorted(checksums())


def check_game(game: str) -> str:
    """The game's canonical name (``"MsPacman"``) if it has a recorded policy, else a ValueError.

    Accepts any capitalisation, underscores, hyphens or spaces, and the ``NoFrameskip-v4`` suffix
    (``"mspacman"``, ``"ms_pacman"``, ``"MsPacmanNoFrameskip-v4"``). The error suggests the closest
    known names for a typo and says how to list them all.
    """
    key = _name_key(game)
    by_key = {_name_key(name): name for name in checksums()}
    if key in by_key:
        return by_key[key]
    close = difflib.get_close_matches(key, by_key, n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(repr(by_key[k]) for k in close)}? " if close else ""
    raise ValueError(f"unknown Atari game {game!r}; {hint}`rtrlbench data games` lists the {len(by_key)} known games")


def _name_key(game) -> str:
    name = str(game)
    if name.lower().endswith(_SUFFIX_NO_TXT.lower()):
        name = name[:-len(_SUFFIX_NO_TXT)]
    return "".join(ch for ch in name.lower() if ch.isalnum())


def policy_filename(game: str) -> str:
    return f"{check_game(game)}{_SUFFIX}"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def verify(game: str, data: bytes, source: str) -> None:
    """Raise ValueError unless ``data`` has the shipped checksum of ``game``'s action file."""
    expected = checksums()[check_game(game)]
    actual = sha256(data)
    if actual != expected:
        raise ValueError(
            f"{game}: the action file from {source} has SHA-256 {actual}, expected {expected} "
            f"({len(data):,} bytes); it is corrupt or not the recorded policy"
        )


def cached_policy_path(game: str, cache: str | os.PathLike | None = None) -> Path:
    """Where ``game``'s verified action file lives in the cache (it may not exist yet)."""
    return data_dir(cache) / "policies" / policy_filename(game)


def load_policy(game: str, policy_dir: str | os.PathLike | None = None,
                cache: str | os.PathLike | None = None) -> tuple[bytes, str]:
    """``(bytes, source)`` of ``game``'s verified action file, from ``policy_dir`` or the cache.

    ``source`` is where the bytes came from: the URL a cached file was downloaded from (kept
    beside it by :func:`fetch_policy`), else the file's path.

    Raises FileNotFoundError (saying how to fetch it) when neither has it, and ValueError
    when the file found fails its checksum.
    """
    game = check_game(game)
    path = (Path(policy_dir) / policy_filename(game)) if policy_dir is not None else cached_policy_path(game, cache)
    if not path.is_file():
        flag = "" if cache is None else f" --data-dir {cache}"
        raise FileNotFoundError(
            f"no action file for {game} at {path}; download it with `rtrlbench data fetch-policies {game}{flag}`"
            + ("" if policy_dir is None else " and leave out the policy folder")
        )
    data = path.read_bytes()
    verify(game, data, str(path))
    origin = _origin_path(path)
    return data, (origin.read_text().strip() if policy_dir is None and origin.is_file() else str(path.resolve()))


def _origin_path(policy_path: Path) -> Path:
    """The file beside a cached action file that holds the URL it was downloaded from."""
    return policy_path.with_name(policy_path.name + ".source")


def has_local_policy(game: str, cache: str | os.PathLike | None = None) -> bool:
    return cached_policy_path(game, cache).is_file()


def fetch_policy(game: str, base_url: str | None = None, cache: str | os.PathLike | None = None,
                 force: bool = False) -> Path:
    """Download ``game``'s action file into the cache, verify it, return its path.

    A file already cached and valid is kept unless ``force``. On any failure (network,
    HTTP error, wrong checksum) nothing is left in the cache and a RuntimeError or
    ValueError names the game and the reason.
    """
    game = check_game(game)
    path = cached_policy_path(game, cache)
    if path.is_file() and not force:
        try:
            verify(game, path.read_bytes(), str(path))
            return path
        except ValueError:
            path.unlink()  # a damaged cache entry: download it again
    import urllib.error
    import urllib.request

    url = (base_url or os.environ.get(POLICY_URL_VAR) or POLICY_URL).rstrip("/") + "/" + policy_filename(game)
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT) as response:
            data = response.read()
    except (urllib.error.URLError, OSError) as error:
        raise RuntimeError(f"{game}: could not download {url}: {error}") from None
    verify(game, data, url)
    with atomic_path(_origin_path(path)) as tmp:
        tmp.write_text(url + "\n")
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path
