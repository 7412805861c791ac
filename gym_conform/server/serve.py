"""Serve one resources-server folder of this project's base class over HTTP: `python -m gym_conform.server.serve`.

Process mode starts this in the server's own Python; NeMo Gym servers start through their own app.py instead.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import uvicorn

from gym_conform.errors import GymConformError
from gym_conform.server.loader import load_server_folder


def main(argv: list[str] | None = None) -> int:
    """Load FOLDER's server from its config and serve it on 127.0.0.1:PORT until stopped."""
    parser = argparse.ArgumentParser(prog="python -m gym_conform.server.serve", description=main.__doc__)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    try:
        loaded = load_server_folder(args.folder, choose=True)
    except GymConformError as error:
        print(error.render(), file=sys.stderr)
        return 1
    uvicorn.run(loaded.server.app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
