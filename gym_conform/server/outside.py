"""Errors whose cause is this machine, not the server: a package it imports late, a service or command it needs.

NeMo Gym's exception middleware answers any exception in a route with HTTP 500 and `repr(e)` as the body, so a
server that imports a package inside verify, or calls an outside service, fails every request here with the
same kind of text; a server that clones a repository or needs `uv` when it starts fails the same way. The
reason names what is missing (which package and how to install it, which host, which command).
"""

from __future__ import annotations

import re
from pathlib import Path

_MISSING_MODULE = re.compile(r"No module named '(?P<module>[\w.]+)'")
# aiohttp / httpx / requests / urllib wording for a host that cannot be reached (DNS or connection).
_UNREACHABLE = (
    re.compile(r"Cannot connect to host (?P<host>[\w.-]+)(?::(?P<port>\d+))?"),
    re.compile(r"Failed to resolve '(?P<host>[\w.-]+)'"),
    re.compile(r"HTTPS?ConnectionPool\(host='(?P<host>[\w.-]+)', port=(?P<port>\d+)\)"),
    re.compile(r"'git', 'clone'.*?'(?P<host>https?://[^']+)'"),
    re.compile(r"git clone (?:-\S+ )*(?P<host>https?://[^\s;&'\"]+)"),
)
# NeMo Gym's sandboxed servers name the provider block a deployment adds to the merged config.
_SANDBOX = re.compile(r"Sandbox provider reference '(?P<name>[\w.-]+)' is not defined")
_NO_NETWORK_WORDS = (
    "Temporary failure in name resolution",
    "Name or service not known",
    "nodename nor servname provided",
    "Network is unreachable",
)
_MISSING_COMMAND = (
    re.compile(r"No such file or directory: '(?P<command>[\w.+-]+)'"),
    re.compile(r"\b(?P<command>[\w.+-]+) is required .*?not found on PATH"),
)
# Commands a server may run that this environment may lack; a missing file of the server itself is its bug.
KNOWN_COMMANDS = frozenset(
    {"uv", "docker", "apptainer", "singularity", "java", "node", "npm", "lean", "lake", "g++", "gcc", "cargo", "go"}
)
_MISSING_DIRECTORY = re.compile(r"directory does not exist: (?P<path>\S+)")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "0.0.0.0", "::1", "testserver"})


def outside_need(text: str, folder: Path | None = None) -> str | None:
    """Return what `text` (an error a server raised) says this machine lacks, or None when it is the server's own."""
    missing = _MISSING_MODULE.search(text)
    if missing:
        return missing_package(missing.group("module"), folder)
    sandbox = _SANDBOX.search(text)
    if sandbox:
        return (
            f"a sandbox provider ('{sandbox.group('name')}': a top-level `sandbox:` block in the merged config, "
            "from nemo_gym/sandbox/providers/), which runs the tasks' containers"
        )
    for pattern in _UNREACHABLE:
        found = pattern.search(text)
        if found and found.group("host") not in LOOPBACK_HOSTS:
            port = found.groupdict().get("port")
            where = found.group("host") + (f":{port}" if port else "")
            return f"the outside service {where}, which this machine cannot reach (no network)"
    if any(words in text for words in _NO_NETWORK_WORDS):
        return "an outside service whose host name does not resolve here (no network)"
    for pattern in _MISSING_COMMAND:
        command = pattern.search(text)
        if command and command.group("command") in KNOWN_COMMANDS:
            return f"the command `{command.group('command')}`, which is not installed here (install it, then rerun)"
    directory = _MISSING_DIRECTORY.search(text)
    if directory:
        return f"the directory {directory.group('path')}, which the checkout does not ship (prepare it first)"
    return None


def missing_package(module: str, folder: Path | None) -> str:
    """Return the reason for a module a server imports that is not installed, with how to install it."""
    top = module.split(".")[0]
    requirements = folder / "requirements.txt" if folder is not None else None
    if requirements is not None and requirements.is_file():
        how = f"pip install -r {requirements} (NeMo Gym gives each server its own venv from that file)"
    else:
        how = f"pip install {top}"
    return f"the package '{module}', which is not installed here: {how}"
