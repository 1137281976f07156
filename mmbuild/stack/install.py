"""The stack resolution the install command asks for: requirements in, one consistent set out."""

from __future__ import annotations

from pathlib import Path

from mmbuild.model.environment import Environment
from mmbuild.model.stack import StackResolution
from mmbuild.stack.index import DownstreamIndex, configured_indexes
from mmbuild.stack.requirements import parse_requests
from mmbuild.stack.resolve import resolve_stack


def resolve_for_install(requests: list[str], files: list[Path], env: Environment, python: str,
                        download_command: list[str] | None = None) -> StackResolution:
    """The set ``mmbuild install REQ ... -r FILE`` installs, against the indexes ``python``'s pip is
    configured with (UsageError on bad input: see stack/requirements.py and stack/resolve.py).

    ``download_command``: how to fetch a release's file (stack/index.py); None reads it from the
    index directly, which needs no pip in the target environment.
    """
    parsed = parse_requests(requests, files)
    index = DownstreamIndex(configured_indexes(python), download_command=download_command,
                            python_version=env.python.version)
    return resolve_stack(parsed, env, index)
