"""Shared fixtures. Markers (registered in pyproject.toml):

- `integration`: the test starts servers (Rasa, the action server, nginx, web/app.py,
  chromium) or needs the trained model, PostgreSQL or Redis. `make test-unit` runs the
  others (`-m "not integration"`, no server, no model, under a minute); `make test`
  runs all. Mark a whole module with `pytestmark = pytest.mark.integration`.
- `slow`: exhaustive checks over ten seconds on their own; in `make test` only.
"""
import pytest

from devstack import RasaStack


@pytest.fixture(scope="module")
def bot(tmp_path_factory, request):
    """The action server and Rasa (REST channel, trained model), for one test module."""
    with RasaStack(tmp_path_factory.mktemp(request.module.__name__.split(".")[-1])) as stack:
        yield stack
