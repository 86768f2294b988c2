"""Downloading, verifying and caching the recorded action files, served from a local HTTP server."""
import functools
import hashlib
import http.server
import shutil
import threading

import pytest

from rtrlbench.cli import main
from rtrlbench.data_tools import policies


@pytest.fixture(scope="module")
def serve():
    """``serve(folder)`` -> base URL of a 127.0.0.1 HTTP server for that folder (stopped after the module)."""
    servers = []

    def start(folder):
        handler = functools.partial(_QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def policy_folder(shared_dir):
    return shared_dir / "atari_policies"


def test_shipped_checksums_match_the_shared_list(policy_folder):
    assert (policy_folder / "SHA256SUMS").read_text().split() == \
        [w for game in policies.games() for w in (policies.checksums()[game], policies.policy_filename(game))]
    assert len(policies.games()) == 58


def test_fetch_verifies_and_caches(serve, policy_folder, tmp_path):
    url = serve(policy_folder)
    path = policies.fetch_policy("Pong", base_url=url, cache=tmp_path)
    assert path == tmp_path / "policies" / "PongNoFrameskip-v4.txt"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == policies.checksums()["Pong"]
    data, source = policies.load_policy("Pong", cache=tmp_path)
    # The source is where the file was downloaded from, not the pinned public address.
    assert data == (policy_folder / "PongNoFrameskip-v4.txt").read_bytes() and source == url + "PongNoFrameskip-v4.txt"
    assert policies.load_policy("Pong", policy_dir=policy_folder)[1] == str((policy_folder / path.name).resolve())
    # A valid cached file is kept: a dead server does not matter.
    assert policies.fetch_policy("Pong", base_url="http://127.0.0.1:9/", cache=tmp_path) == path


def test_corrupted_download_leaves_nothing(serve, policy_folder, tmp_path):
    bad = tmp_path / "served"
    bad.mkdir()
    data = bytearray((policy_folder / "BreakoutNoFrameskip-v4.txt").read_bytes())
    data[1000] ^= 1
    (bad / "BreakoutNoFrameskip-v4.txt").write_bytes(bytes(data))
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match=r"Breakout: .*SHA-256.*corrupt"):
        policies.fetch_policy("Breakout", base_url=serve(bad), cache=cache)
    assert not (cache / "policies").exists() or not any((cache / "policies").iterdir())


def test_missing_file_names_the_game_and_leaves_nothing(serve, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(RuntimeError, match=r"Alien: could not download .*404"):
        policies.fetch_policy("Alien", base_url=serve(empty), cache=tmp_path / "cache")
    assert not (tmp_path / "cache" / "policies" / "AlienNoFrameskip-v4.txt").exists()


def test_damaged_cache_entry_is_replaced(serve, policy_folder, tmp_path):
    cached = policies.cached_policy_path("Pong", tmp_path)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"Raaa")
    with pytest.raises(ValueError, match="SHA-256"):
        policies.load_policy("Pong", cache=tmp_path)
    policies.fetch_policy("Pong", base_url=serve(policy_folder), cache=tmp_path)
    assert policies.load_policy("Pong", cache=tmp_path)[0] == (policy_folder / "PongNoFrameskip-v4.txt").read_bytes()


def test_unknown_game_suggests_the_closest_names():
    with pytest.raises(ValueError, match=r"unknown Atari game 'Pacman'; did you mean 'MsPacman'\? "
                                         r"`rtrlbench data games` lists the 58 known games"):
        policies.check_game("Pacman")
    with pytest.raises(ValueError, match=r"'Breakuot'; did you mean 'Breakout'"):
        policies.check_game("Breakuot")
    with pytest.raises(ValueError, match=r"unknown Atari game 'Zzzzzz'; `rtrlbench data games`"):
        policies.check_game("Zzzzzz")  # nothing close: no suggestion


@pytest.mark.parametrize("name", ["MsPacman", "mspacman", "MSPACMAN", "ms_pacman", "Ms-Pacman", "ms pacman",
                                  "MsPacmanNoFrameskip-v4", "mspacmannoframeskip-v4"])
def test_game_names_in_any_capitalisation(name):
    assert policies.check_game(name) == "MsPacman"


def test_missing_policy_says_how_to_fetch(tmp_path):
    with pytest.raises(FileNotFoundError, match="rtrlbench data fetch-policies Pong"):
        policies.load_policy("Pong", cache=tmp_path)


def test_cli_fetch_reports_each_failure(serve, policy_folder, tmp_path, monkeypatch, capsys):
    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(policy_folder / "PongNoFrameskip-v4.txt", served)
    monkeypatch.setenv(policies.POLICY_URL_VAR, serve(served))
    assert main(["data", "fetch-policies", "Pong", "Alien", "--data-dir", str(tmp_path / "d")]) == 1
    err = capsys.readouterr().err
    assert "Alien: could not download" in err and "Pong" not in err
    assert sorted(p.name for p in (tmp_path / "d" / "policies").iterdir()) == \
        ["PongNoFrameskip-v4.txt", "PongNoFrameskip-v4.txt.source"]


def test_data_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(policies.DATA_DIR_VAR, str(tmp_path))
    assert policies.data_dir() == tmp_path
    assert policies.data_dir(tmp_path / "x") == tmp_path / "x"
