"""How the Ray backend reads a failed ``ray.init``: a token authentication failure is named, in both forms Ray
raises it; anything else is not taken for one."""

from __future__ import annotations

import pytest

from nsga_lightning.search.execution.ray_backend import authentication_failure

# the text Ray 2.60 chains below its "Failed to connect to Ray cluster" (node.py's last GCS connection error)
GCS_REFUSED = (
    "Failed to connect to GCS. Last connection error: Traceback (most recent call last):\n"
    '  File "python/ray/includes/common.pxi", line 119, in ray._raylet.check_status\n'
    "ray.exceptions.AuthenticationError: RPC error: InvalidAuthToken: Authentication token is missing or "
    "incorrect. Note: RAY_AUTH_MODE is currently 'disabled' (not 'token')."
)


def _refused() -> ConnectionError:
    try:
        try:
            raise RuntimeError(GCS_REFUSED)
        except RuntimeError as cause:
            raise ConnectionError("Failed to connect to Ray cluster at 192.0.2.2:6379") from cause
    except ConnectionError as error:
        return error


@pytest.mark.parametrize(("mode", "note"), [(None, "; RAY_AUTH_MODE is unset here, not token"), ("token", "")])
def test_a_refused_token_is_named_with_the_mode_of_this_process(mode, note, monkeypatch):
    if mode is None:
        monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    else:
        monkeypatch.setenv("RAY_AUTH_MODE", mode)
    assert authentication_failure(_refused()) == (
        "InvalidAuthToken: Authentication token is missing or incorrect" + note)


def test_rays_own_authentication_error_gives_its_first_sentence():
    exceptions = pytest.importorskip("ray.exceptions")
    if not hasattr(exceptions, "AuthenticationError"):
        pytest.skip("this Ray has no token authentication")
    error = exceptions.AuthenticationError("Token authentication is enabled but no authentication token was found")
    assert authentication_failure(error) == "Token authentication is enabled but no authentication token was found"


@pytest.mark.parametrize("error", [ConnectionError("Failed to connect to Ray cluster at 10.0.0.1:6379"),
                                   TimeoutError("timed out"), ValueError("num_cpus must not be provided")])
def test_other_failures_are_not_authentication(error):
    assert authentication_failure(error) is None
