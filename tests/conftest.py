"""Shared test fixtures."""
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the checkout (papers, recorded Atari policies); skip if absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside this checkout")
    return SHARED


@pytest.fixture(scope="session")
def policy_dir(shared_dir) -> Path:
    """The recorded Rainbow-DQN action files in ``../shared/atari_policies``."""
    return shared_dir / "atari_policies"
