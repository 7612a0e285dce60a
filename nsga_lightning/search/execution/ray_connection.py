"""How the Ray backend reaches Ray: importing the optional extra, checking a cluster address before Ray's own minute
of retries, naming a token-authentication refusal, and the import path Ray's workers need to import this package
as the driver does (:mod:`~nsga_lightning.search.execution.ray_backend` uses them)."""

from __future__ import annotations

import os
import re
import socket
import time
from typing import Any

__all__ = ["INSTALL_HINT", "authentication_failure", "check_reachable", "connect", "import_ray", "python_path"]

INSTALL_HINT = 'backend: ray needs Ray, which is not installed: pip install -e ".[ray]" (or "nsga-lightning[ray]")'

def import_ray() -> Any:
    """The ``ray`` module.

    Raises:
        ValueError: naming the install command when Ray is missing.
    """
    try:
        import ray
    except ImportError:
        raise ValueError(INSTALL_HINT) from None
    return ray


def connect(ray: Any, address: str | None, cpus: int) -> float:
    """Start a private local Ray instance with ``cpus`` CPUs (``address`` ``None``) or join the cluster at
    ``address``; return the seconds it took.

    Raises:
        ConnectionError: if the cluster cannot be reached or refuses the driver's authentication.
    """
    if address not in (None, "auto", "local"):
        check_reachable(address)
    # the workers must import this package the way the driver does (a checkout run from its root included)
    runtime_env = {"env_vars": {"PYTHONPATH": os.pathsep.join(p for p in python_path() if p)}}
    start = time.perf_counter()
    try:
        if address is None:
            # "local" always starts a new instance: address=None would join the cluster that RAY_ADDRESS or
            # this machine's last `ray start` names, and then refuse num_cpus
            ray.init(address="local", num_cpus=cpus, include_dashboard=False, log_to_driver=False,
                     runtime_env=runtime_env, configure_logging=False)
        else:
            ray.init(address=address, log_to_driver=False, runtime_env=runtime_env, configure_logging=False)
    except Exception as error:
        reason = authentication_failure(error)
        if reason is not None:
            raise ConnectionError(
                f"the Ray cluster at {address!r} refused this search's authentication ({reason}); run the "
                "search with RAY_AUTH_MODE=token and the cluster's token: the head node's ~/.ray/auth_token "
                "copied to ~/.ray/auth_token here, or RAY_AUTH_TOKEN (the token) or RAY_AUTH_TOKEN_PATH (a file "
                'holding it) set (README, "Scale out")'
            ) from None
        if not isinstance(error, (ConnectionError, TimeoutError, RuntimeError)):
            raise
        where = f"the Ray cluster at {address!r}" if address else "a local Ray instance"
        raise ConnectionError(f"could not start or reach {where}: {' '.join(str(error).split())[:300]}; "
                              "check search.ray_address (start a cluster with: ray start --head)") from None
    return time.perf_counter() - start


_AUTH_REASON = re.compile(r"InvalidAuthToken: [^.\n]*|Unauthenticated[^.\n]*")


def authentication_failure(error: BaseException) -> str | None:
    """Why ``ray.init`` failed, if a token authentication failure caused ``error``; else ``None``.

    Ray raises its ``AuthenticationError`` itself where this process has ``RAY_AUTH_MODE=token`` but no token;
    a token the cluster refuses (or none sent, without ``RAY_AUTH_MODE=token``) ends, after Ray's retries, in a
    ``ConnectionError`` whose causes hold the ``InvalidAuthToken`` RPC error. The causes are searched by class name
    and text (an older Ray has no ``AuthenticationError`` class to import).
    """
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if type(cause).__name__ == "AuthenticationError":
            message = str(getattr(cause, "message", cause))
            return message.split(". ", 1)[0].rstrip(".")
        found = _AUTH_REASON.search(str(cause))
        if found:
            mode = os.environ.get("RAY_AUTH_MODE", "")
            note = "" if mode.lower() == "token" else f"; RAY_AUTH_MODE is {mode or 'unset'} here, not token"
            return found.group(0).strip() + note
        cause = cause.__cause__ or cause.__context__
    return None


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast on a cluster address nothing listens on (Ray itself retries for about a minute).

    Raises:
        ConnectionError: naming the address and how to start a cluster.
    """
    target = address.removeprefix("ray://")
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"search.ray_address must be null, 'auto' or HOST:PORT, got {address!r}")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as error:
        raise ConnectionError(f"no Ray cluster reachable at {address} ({error.strerror or error}); start one with "
                              "'ray start --head' on that machine, or set search.ray_address: null for a local "
                              "Ray instance") from None


def python_path() -> list[str]:
    """The driver's import path entries that hold this package, so Ray workers import the same code."""
    import nsga_lightning

    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(nsga_lightning.__file__)))
    extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return [package_parent, *extra]
