"""The Python examples of the README and docs run as written (in order, one namespace per file)."""
import re

import pytest
from conftest import REPO

RUNNABLE_DOCS = ["README.md", "docs/learners.md", "docs/williams-zipser.md"]


@pytest.mark.parametrize("doc", RUNNABLE_DOCS)
def test_python_examples_run(doc):
    text = (REPO / doc).read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, f"{doc} has no Python example"
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, doc, "exec"), namespace)  # noqa: S102 - our own documentation
