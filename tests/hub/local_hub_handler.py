"""The request handler of the local Hub (`local_hub.py`): the Hub's HTTP endpoints over a `HubStore`."""

import base64
import json
import sys
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, unquote, urlsplit

from local_hub_store import DEFAULT_BRANCH, REPO_TYPES, HubError, HubStore
from local_hub_views import repo_info, resolve_range, tree_entries

# What the Hub stores with LFS whatever its size (its default .gitattributes), and the size above
# which any file goes to LFS. datasets deletes its temporary parquet files once preupload has
# answered, so they must be LFS (uploaded before the commit), never inlined in the commit.
LFS_SUFFIXES = (
    ".safetensors",
    ".bin",
    ".pt",
    ".pth",
    ".ckpt",
    ".onnx",
    ".h5",
    ".msgpack",
    ".npy",
    ".npz",
    ".pkl",
    ".parquet",
    ".arrow",
    ".flac",
    ".wav",
    ".mp3",
    ".ogg",
    ".zip",
    ".gz",
    ".tar",
    ".zst",
)
LFS_THRESHOLD_BYTES = 10 * 1024 * 1024
URL_PREFIXES = {"model": "", "dataset": "datasets/", "space": "spaces/"}


def upload_mode(path: str, size: int, sample: bytes) -> str:
    """`"lfs"` or `"regular"`, as the Hub's preupload endpoint decides."""
    if path.lower().endswith(LFS_SUFFIXES) or size >= LFS_THRESHOLD_BYTES or b"\0" in sample:
        return "lfs"
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError:
        return "lfs"
    return "regular"


class HubRequestHandler(BaseHTTPRequestHandler):
    """Routes one request to the `HubStore` of its server."""

    protocol_version = "HTTP/1.1"  # keep-alive: huggingface_hub reuses connections
    server_version = "qrtse-local-hub/1"

    # --- plumbing ---

    @property
    def store(self) -> HubStore:
        return self.server.store

    @property
    def endpoint(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{self.headers.get('Host') or f'{host}:{port}'}"

    def log_message(self, format, *args):
        if self.server.verbose:
            super().log_message(format, *args)

    def read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            # httpx streams file objects (LFS PUTs) with chunked encoding.
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def send(self, status: int, body: bytes = b"", headers: dict | None = None, content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, value, status: int = 200, headers: dict | None = None):
        self.send(status, json.dumps(value).encode(), headers)

    def send_error_json(self, error: HubError):
        headers = {"X-Error-Message": error.message.encode("ascii", "replace").decode()}  # headers are latin-1
        if error.code:
            headers["X-Error-Code"] = error.code
        self.send_json({"error": error.message}, error.status, headers)

    def dispatch(self):
        url = urlsplit(self.path)
        # Split before unquoting: a revision like `refs%2Fpr%2F1` is one segment.
        segments = [segment for segment in url.path.split("/") if segment]
        query = parse_qs(url.query)
        try:
            body = self.read_body() if self.command in ("POST", "PUT") else b""
            handled = self.route(segments, query, body)
            if not handled:
                message = f"local hub does not implement {self.command} {url.path}"
                print(message, file=sys.stderr)
                raise HubError(404, message)
        except HubError as error:
            self.send_error_json(error)
        except Exception as error:  # noqa: BLE001 - any bug becomes a 500 the client reports, not a dropped connection
            print(f"local hub error on {self.command} {self.path}: {error!r}", file=sys.stderr)
            self.send_error_json(HubError(500, f"{type(error).__name__}: {error}"))

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = dispatch

    def require_token(self):
        if not self.headers.get("Authorization", "").startswith("Bearer "):
            raise HubError(401, "Invalid credentials in Authorization header")

    def repo(self, repo_type, repo_id):
        repo = self.store.repo(repo_type, repo_id)
        if repo.private and not self.headers.get("Authorization"):
            raise HubError(404, f"Repository Not Found for {repo_type} {repo_id}", "RepoNotFound")
        return repo

    # --- routing ---

    def route(self, segments, query, body) -> bool:
        method = self.command
        if segments[:1] == ["api"]:
            return self.route_api(segments[1:], query, body)
        if method == "PUT" and len(segments) == 2 and segments[0] == "lfs-upload":
            # Stands for the Hub's pre-signed storage URL: authorised by its URL, no token.
            self.store.put_blob(body, expected_sha256=segments[1])
            self.send(200)
            return True
        repo_type = "model"
        if segments and segments[0] in ("datasets", "spaces"):
            repo_type, segments = segments[0][:-1], segments[1:]
        if len(segments) >= 2 and segments[1].endswith(".git"):
            repo_id = f"{unquote(segments[0])}/{unquote(segments[1][:-4])}"
            if method == "POST" and segments[2:] == ["info", "lfs", "objects", "batch"]:
                self.lfs_batch(repo_type, repo_id, json.loads(body))
                return True
        if len(segments) >= 5 and segments[2] == "resolve" and method in ("GET", "HEAD"):
            repo_id = f"{unquote(segments[0])}/{unquote(segments[1])}"
            self.resolve(repo_type, repo_id, unquote(segments[3]), unquote("/".join(segments[4:])))
            return True
        return False

    def route_api(self, segments, query, body) -> bool:
        method = self.command
        if segments == ["whoami-v2"]:
            self.require_token()
            self.send_json(
                {
                    "type": "user",
                    "name": "user",
                    "fullname": "Local Hub user",
                    "orgs": [],
                    "auth": {"type": "access_token", "accessToken": {"displayName": "local", "role": "write"}},
                }
            )
            return True
        if segments == ["agent-harnesses"]:  # huggingface_hub's user-agent registry: keep it empty
            self.send_json({"standardEnvVars": [], "harnesses": {}})
            return True
        if segments == ["validate-yaml"] and method == "POST":
            self.validate_yaml(json.loads(body).get("content", ""))
            return True
        if segments[:1] == ["repos"] and method == "POST":
            self.require_token()
            return self.repos_action(segments[1:], json.loads(body or b"{}"))
        if len(segments) < 3 or segments[0][:-1] not in REPO_TYPES:
            return False
        repo_type, repo_id, rest = segments[0][:-1], f"{unquote(segments[1])}/{unquote(segments[2])}", segments[3:]
        revision = unquote(rest[1]) if len(rest) >= 2 else DEFAULT_BRANCH
        if method == "GET" and (not rest or rest[0] == "revision"):
            repo = self.repo(repo_type, repo_id)
            commit = repo.commit(revision)
            self.send_json(repo_info(repo, commit, self.readme(commit)))
        elif method == "GET" and rest[0] == "tree":
            commit = self.repo(repo_type, repo_id).commit(revision)
            path = unquote("/".join(rest[2:]))
            recursive = query.get("recursive", ["false"])[0].lower() == "true"
            expand = query.get("expand", ["false"])[0].lower() == "true"
            self.send_json(tree_entries(commit, path, recursive, expand))
        elif method == "POST" and rest[0] == "paths-info":
            commit = self.repo(repo_type, repo_id).commit(revision)
            form = parse_qs(body.decode())
            expand = form.get("expand", ["false"])[0].lower() == "true"
            entries = []
            for path in form.get("paths", []):
                entries += tree_entries(commit, path.strip("/"), recursive=False, expand=expand, itself=True)
            self.send_json(entries)
        elif method == "POST" and rest[0] == "preupload":
            self.require_token()
            self.preupload(self.repo(repo_type, repo_id).commit(revision), json.loads(body))
        elif method == "POST" and rest[0] == "commit":
            self.require_token()
            self.commit(repo_type, repo_id, revision, query, body)
        elif rest[0] == "variables" and repo_type == "space" and method in ("GET", "POST"):
            self.require_token()
            if method == "POST":
                item = json.loads(body)
                self.send_json(
                    self.store.set_variable(repo_type, repo_id, item["key"], item["value"], item.get("description"))
                )
            else:
                self.send_json(self.repo(repo_type, repo_id).variables)
        elif method == "GET" and rest[0] == "refs":
            head = self.repo(repo_type, repo_id).head
            branch = {"name": DEFAULT_BRANCH, "ref": "refs/heads/main", "targetCommit": head.oid}
            self.send_json({"branches": [branch], "tags": [], "converts": []})
        elif method == "GET" and rest[0] == "commits":
            repo = self.repo(repo_type, repo_id)
            commit, history = repo.commit(revision), []
            by_id = {c.oid: c for c in repo.commits}
            while commit is not None:
                history.append(
                    {
                        "id": commit.oid,
                        "title": commit.title,
                        "message": "",
                        "date": commit.date,
                        "authors": [{"user": "user"}],
                    }
                )
                commit = by_id.get(commit.parent)
            self.send_json(history)
        else:
            return False
        return True

    # --- endpoints ---

    def repos_action(self, action, payload) -> bool:
        repo_type = payload.get("type") or "model"
        repo_id = "/".join(part for part in (payload.get("organization") or "user", payload.get("name")) if part)
        if action == ["create"]:
            private = payload.get("visibility") == "private" or bool(payload.get("private"))
            self.store.create_repo(repo_type, repo_id, private)
            for variable in payload.get("variables") or []:  # Spaces: create_repo(space_variables=...)
                self.store.set_variable(
                    repo_type, repo_id, variable["key"], variable["value"], variable.get("description")
                )
            self.send_json({"url": f"{self.endpoint}/{URL_PREFIXES[repo_type]}{repo_id}", "name": repo_id})
        elif action == ["delete"]:
            self.store.delete_repo(repo_type, repo_id)
            self.send(200)
        else:
            return False
        return True

    def validate_yaml(self, content: str):
        """The Hub checks a README's metadata before a commit: here, that the YAML block is closed."""
        lines = content.splitlines()
        if not lines or lines[0].strip() != "---":
            self.send_json({"errors": [], "warnings": [{"message": "empty or missing yaml metadata in repo card"}]})
        elif "---" not in (line.strip() for line in lines[1:]):
            self.send_json({"errors": [{"message": "the YAML metadata block is not closed by '---'"}]}, 400)
        else:
            self.send_json({"errors": [], "warnings": []})

    def readme(self, commit) -> bytes:
        entry = commit.files.get("README.md")
        return self.store.read_blob(entry) if entry else b""

    def preupload(self, commit, payload):
        files = []
        for item in payload["files"]:
            mode = upload_mode(item["path"], item["size"], base64.b64decode(item.get("sample", "")))
            existing = commit.files.get(item["path"])
            files.append(
                {
                    "path": item["path"],
                    "uploadMode": mode,
                    "shouldIgnore": False,
                    "oid": existing.etag if existing else None,
                }
            )
        self.send_json({"files": files, "commitOid": commit.oid})

    def lfs_batch(self, repo_type, repo_id, payload):
        self.require_token()
        self.repo(repo_type, repo_id)
        objects = []
        for item in payload.get("objects", []):
            obj = {"oid": item["oid"], "size": item["size"], "authenticated": True}
            if not self.store.has_blob(item["oid"]):  # no "actions": already uploaded, skip
                obj["actions"] = {"upload": {"href": f"{self.endpoint}/lfs-upload/{item['oid']}", "header": {}}}
            objects.append(obj)
        self.send_json(
            {"transfer": "basic", "objects": objects, "hash_algo": "sha256"},
            headers={"Content-Type": "application/vnd.git-lfs+json"},
        )

    def commit(self, repo_type, repo_id, revision, query, body):
        if revision != DEFAULT_BRANCH:
            raise HubError(400, f"local hub only commits to {DEFAULT_BRANCH!r}, not {revision!r}")
        if query.get("create_pr", ["0"])[0] == "1":
            raise HubError(400, "local hub does not support pull requests (create_pr)")
        header, operations = {}, []
        for line in body.splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            if item["key"] == "header":
                header = item["value"]
                continue
            if item["key"] == "file":
                value = item["value"]
                content = value["content"].encode()
                if value.get("encoding") == "base64":
                    content = base64.b64decode(content)
                item = {"key": "file", "value": {**value, "content": content}}
            operations.append(item)
        commit = self.store.commit(
            repo_type, repo_id, header.get("summary", "commit"), operations, parent=header.get("parentCommit")
        )
        url = f"{self.endpoint}/{URL_PREFIXES[repo_type]}{repo_id}/commit/{commit.oid}"
        self.send_json(
            {"success": True, "commitOid": commit.oid, "commitUrl": url, "pullRequestUrl": None, "hookOutput": ""}
        )

    def resolve(self, repo_type, repo_id, revision, path):
        commit = self.repo(repo_type, repo_id).commit(revision)
        entry = commit.files.get(path)
        if entry is None:
            raise HubError(404, f"Entry not found: {path}", "EntryNotFound")
        headers = {"X-Repo-Commit": commit.oid, "ETag": f'"{entry.etag}"', "Accept-Ranges": "bytes"}
        if entry.lfs:
            headers.update({"X-Linked-Etag": f'"{entry.sha256}"', "X-Linked-Size": str(entry.size)})
        content = self.store.read_blob(entry)
        byte_range = resolve_range(self.headers.get("Range"), len(content))
        if byte_range is None:
            self.send(200, content, headers, "application/octet-stream")
            return
        start, end = byte_range
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{len(content)}"
        self.send(206, content[start:end], headers, "application/octet-stream")
