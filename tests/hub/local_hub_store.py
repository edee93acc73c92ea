"""Repository storage behind `local_hub`: git-like commits of file snapshots, blobs on disk.

A repository is a list of commits on one branch (`main`). A commit maps every path to a
`FileEntry` (size, git blob id, sha256, LFS or not), so any revision can be served and files
never change under a commit id. File contents live once, under `<root>/blobs/<sha256>`; each
repository's commits are written to `<root>/repos/<type>s/<namespace>/<name>.json` after every
change, so a server restarted on the same root serves the same repositories.
"""

import hashlib
import json
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO_TYPES = ("model", "dataset", "space")
DEFAULT_BRANCH = "main"


class HubError(Exception):
    """A request the Hub would refuse: `status` is the HTTP status, `code` the `X-Error-Code`
    header huggingface_hub reads to raise the matching exception (RepoNotFound, ...)."""

    def __init__(self, status: int, message: str, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def git_blob_id(content: bytes) -> str:
    """The git object id of a file (what the Hub reports as a regular file's `oid` / ETag)."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def iso_now() -> str:
    """The Hub's date format, which huggingface_hub's `parse_datetime` expects."""
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


@dataclass(frozen=True)
class FileEntry:
    size: int
    blob_id: str  # git sha1 of the content
    sha256: str
    lfs: bool

    @property
    def etag(self) -> str:
        """The Hub sends the sha256 as ETag for LFS files and the git blob id for the others."""
        return self.sha256 if self.lfs else self.blob_id


@dataclass
class Commit:
    oid: str
    title: str
    date: str
    parent: str | None = None
    files: dict = field(default_factory=dict)  # path -> FileEntry


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    private: bool
    created_at: str
    commits: list = field(default_factory=list)  # oldest first; commits[-1] is `main`
    variables: dict = field(default_factory=dict)  # Space variables: key -> {value, description, updatedAt}

    @property
    def head(self) -> Commit:
        return self.commits[-1]

    def commit(self, revision: str) -> Commit:
        if revision in (DEFAULT_BRANCH, "refs/heads/main"):
            return self.head
        for commit in self.commits:
            if commit.oid == revision or (len(revision) >= 7 and commit.oid.startswith(revision)):
                return commit
        raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")


class HubStore:
    """Thread-safe repositories and blobs under `root`."""

    def __init__(self, root):
        self.root = Path(root)
        (self.root / "blobs").mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._repos = {}
        for path in sorted((self.root / "repos").glob("*/*/*.json")):
            self._load(path)

    # --- repositories ---

    def create_repo(self, repo_type: str, repo_id: str, private: bool = False) -> Repo:
        if repo_type not in REPO_TYPES:
            raise HubError(400, f"Invalid repo type {repo_type!r}")
        if repo_id.count("/") != 1 or not all(repo_id.split("/")):
            raise HubError(400, f"Invalid repo id {repo_id!r}: expected 'namespace/name'")
        with self._lock:
            if (repo_type, repo_id) in self._repos:
                raise HubError(409, "You already created this repo")
            created = iso_now()
            initial = Commit(self._commit_id(repo_id, None, "initial commit", {}), "initial commit", created)
            repo = Repo(repo_type, repo_id, bool(private), created, [initial])
            self._repos[(repo_type, repo_id)] = repo
            self._save(repo)
            return repo

    def set_variable(self, repo_type: str, repo_id: str, key: str, value: str, description: str | None = None) -> dict:
        """Set a Space variable; returns all of the repository's variables."""
        with self._lock:
            repo = self.repo(repo_type, repo_id)
            repo.variables[key] = {"value": value, "description": description, "updatedAt": iso_now()}
            self._save(repo)
            return dict(repo.variables)

    def delete_repo(self, repo_type: str, repo_id: str) -> None:
        with self._lock:
            self.repo(repo_type, repo_id)
            del self._repos[(repo_type, repo_id)]
            self._metadata_path(repo_type, repo_id).unlink(missing_ok=True)

    def repo(self, repo_type: str, repo_id: str) -> Repo:
        with self._lock:
            repo = self._repos.get((repo_type, repo_id))
        if repo is None:
            raise HubError(404, f"Repository Not Found for {repo_type} {repo_id}", "RepoNotFound")
        return repo

    # --- blobs ---

    def has_blob(self, sha256: str) -> bool:
        return self.blob_path(sha256).is_file()

    def blob_path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise HubError(400, f"Invalid sha256 {sha256!r}")
        return self.root / "blobs" / sha256

    def put_blob(self, content: bytes, expected_sha256: str | None = None) -> str:
        sha256 = hashlib.sha256(content).hexdigest()
        if expected_sha256 is not None and sha256 != expected_sha256:
            raise HubError(400, f"Content hash {sha256} does not match the announced oid {expected_sha256}")
        path = self.blob_path(sha256)
        if not path.is_file():
            temporary = path.with_suffix(f".{threading.get_ident()}.tmp")
            temporary.write_bytes(content)
            temporary.replace(path)  # atomic: readers never see a partial blob
        return sha256

    def read_blob(self, entry: FileEntry) -> bytes:
        return self.blob_path(entry.sha256).read_bytes()

    # --- commits ---

    def commit(self, repo_type: str, repo_id: str, title: str, operations: list, parent: str | None = None) -> Commit:
        """Apply `operations` (dicts `{"key": "file"|"lfsFile"|"deletedFile"|"deletedFolder", "value"}`
        as in the commit NDJSON, with regular-file content already decoded to bytes in
        `value["content"]`) on top of `main` and return the new commit."""
        with self._lock:
            repo = self.repo(repo_type, repo_id)
            if parent is not None and parent != repo.head.oid:
                raise HubError(412, f"A commit has happened since {parent}: the parent commit is not main's head")
            files = dict(repo.head.files)
            for operation in operations:
                self._apply(files, operation["key"], operation["value"])
            oid = self._commit_id(repo_id, repo.head.oid, title, files)
            commit = Commit(oid, title, iso_now(), repo.head.oid, files)
            repo.commits.append(commit)
            self._save(repo)
            return commit

    def _apply(self, files: dict, key: str, value: dict) -> None:
        path = value["path"].strip("/")
        if key == "file":
            content = value["content"]
            files[path] = FileEntry(len(content), git_blob_id(content), self.put_blob(content), lfs=False)
        elif key == "lfsFile":
            sha256 = value["oid"]
            if not self.has_blob(sha256):
                raise HubError(400, f"LFS object {sha256} of {path} was never uploaded")
            size = self.blob_path(sha256).stat().st_size
            pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()
            files[path] = FileEntry(size, git_blob_id(pointer), sha256, lfs=True)
        elif key == "deletedFile":
            if files.pop(path, None) is None:
                raise HubError(404, f"File not found: {path}", "EntryNotFound")
        elif key == "deletedFolder":
            for name in [name for name in files if name.startswith(path + "/")]:
                del files[name]
        else:
            raise HubError(400, f"Unknown commit operation {key!r}")

    @staticmethod
    def _commit_id(repo_id, parent, title, files) -> str:
        snapshot = {path: entry.blob_id for path, entry in sorted(files.items())}
        payload = json.dumps([repo_id, parent, title, time.time_ns(), snapshot]).encode()
        return hashlib.sha1(payload).hexdigest()

    # --- persistence ---

    def _metadata_path(self, repo_type: str, repo_id: str) -> Path:
        return self.root / "repos" / f"{repo_type}s" / f"{repo_id}.json"

    def _save(self, repo: Repo) -> None:
        path = self._metadata_path(repo.repo_type, repo.repo_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(repo)))
        temporary.replace(path)

    def _load(self, path: Path) -> None:
        data = json.loads(path.read_text())
        commits = [
            Commit(**{**c, "files": {p: FileEntry(**e) for p, e in c["files"].items()}}) for c in data.pop("commits")
        ]
        repo = Repo(**data, commits=commits)
        self._repos[(repo.repo_type, repo.repo_id)] = repo
