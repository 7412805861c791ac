"""A loopback stand-in of the Hugging Face Hub's dataset download routes, served over real HTTP.

It answers the requests huggingface_hub makes for `hf_hub_download(..., repo_type="dataset")` and
`HfApi.list_repo_files(..., repo_type="dataset")`, with the status codes and `X-Error-Code` headers the
real Hub sends, so the client raises its own exception classes:

- `HEAD`/`GET /datasets/{org}/{name}/resolve/{revision}/{path}`: the file, with `X-Repo-Commit`, `ETag`
  and `Content-Length` (the client refuses a file without the first two);
- `GET /api/datasets/{org}/{name}/tree/{revision}`: every file of the repo as JSON (recursive listing);
- a private repo without its bearer token: 401 `RepoNotFound` (the Hub hides whether it exists);
- a gated repo without its token: 403 `GatedRepo`;
- an unknown repo: 404 `RepoNotFound`, unknown revision: 404 `RevisionNotFound`, unknown file: 404
  `EntryNotFound`;
- a repo with a fault, once access is granted: `"500"` an internal server error, `"stall"` no answer for a
  minute, `"truncated"` half the file's bytes under the full `Content-Length`.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from contextlib import ExitStack

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from typing_extensions import Self

from tests.standins.loopback import serve_uvicorn

Files = Mapping[tuple[str, str], bytes]


def commit_of(repo_id: str) -> str:
    """Return the fixed 40-hex commit the stand-in reports for `repo_id` (valid as a `revision=`)."""
    return hashlib.sha1(repo_id.encode()).hexdigest()


class HubStandIn:
    """Serve `files` ({(repo_id, path): bytes}) on 127.0.0.1 while used as a context manager.

    `private_repos` and `gated_repos` map a repo id to the only token that may read it. A repo exists when
    it has a file or is listed as private or gated. `faults` maps a repo id to how its resolve route
    misbehaves (see the module's docstring). `requests` records `(method, path, token or None)`.
    """

    def __init__(
        self,
        files: Files,
        private_repos: Mapping[str, str] | None = None,
        gated_repos: Mapping[str, str] | None = None,
        faults: Mapping[str, str] | None = None,
    ) -> None:
        self.files = dict(files)
        self.private_repos = dict(private_repos or {})
        self.gated_repos = dict(gated_repos or {})
        self.faults = dict(faults or {})
        self.requests: list[tuple[str, str, str | None]] = []
        self._serving = ExitStack()
        self.endpoint = ""

    def __enter__(self) -> Self:
        app = Starlette(
            routes=[
                Route("/datasets/{org}/{name}/resolve/{revision}/{path:path}", self._resolve, methods=["GET"]),
                Route("/api/datasets/{org}/{name}/tree/{revision}", self._tree, methods=["GET"]),
            ]
        )
        self.endpoint = self._serving.enter_context(serve_uvicorn(app))
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._serving.close()

    def _repo_files(self, repo_id: str) -> dict[str, bytes]:
        return {path: data for (repo, path), data in self.files.items() if repo == repo_id}

    def _refusal(self, request: Request, repo_id: str, revision: str) -> Response | None:
        """Return the Hub's error response for this repo and revision, or None when access is allowed."""
        token = _bearer(request)
        self.requests.append((request.method, request.url.path, token))
        known = repo_id in self.private_repos or repo_id in self.gated_repos or self._repo_files(repo_id)
        if not known:
            return _error(404, "RepoNotFound", "Repository not found")
        if repo_id in self.private_repos and token != self.private_repos[repo_id]:
            message = "Invalid username or password." if token is None else "Repository not found"
            return _error(401, "RepoNotFound", message)
        if repo_id in self.gated_repos and token != self.gated_repos[repo_id]:
            return _error(403, "GatedRepo", f"Access to dataset {repo_id} is restricted.")
        if revision not in ("main", commit_of(repo_id)):
            return _error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        return None

    async def _resolve(self, request: Request) -> Response:
        params = request.path_params
        repo_id = f"{params['org']}/{params['name']}"
        refusal = self._refusal(request, repo_id, params["revision"])
        if refusal is not None:
            return refusal
        commit = commit_of(repo_id)
        data = self._repo_files(repo_id).get(params["path"])
        if data is None:
            return _error(404, "EntryNotFound", "Entry not found", {"X-Repo-Commit": commit})
        headers = {"X-Repo-Commit": commit, "ETag": f'"{hashlib.sha256(data).hexdigest()}"'}
        fault = self.faults.get(repo_id)
        if fault == "500":
            return _error(500, "InternalServerError", "Internal Error - We're working hard to fix this")
        if fault == "stall":
            await asyncio.sleep(60)
        if fault == "truncated" and request.method == "GET":
            # uvicorn sends the short body and then closes the connection, as a proxy cut off mid-file would.
            headers["Content-Length"] = str(len(data))
            return Response(data[: len(data) // 2], media_type="application/octet-stream", headers=headers)
        # Starlette sets Content-Length from the body; uvicorn drops the body itself for HEAD.
        return Response(data, media_type="application/octet-stream", headers=headers)

    async def _tree(self, request: Request) -> Response:
        params = request.path_params
        repo_id = f"{params['org']}/{params['name']}"
        refusal = self._refusal(request, repo_id, params["revision"])
        if refusal is not None:
            return refusal
        # Always the recursive listing (what `list_repo_files` asks for): folders are not listed.
        entries = [
            {"type": "file", "path": path, "size": len(data), "oid": hashlib.sha1(data).hexdigest()}
            for path, data in sorted(self._repo_files(repo_id).items())
        ]
        return JSONResponse(entries)


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


def _error(status: int, code: str, message: str, extra: Mapping[str, str] | None = None) -> Response:
    headers = {"X-Error-Code": code, "X-Error-Message": message, **(extra or {})}
    return JSONResponse({"error": message}, status_code=status, headers=headers)
