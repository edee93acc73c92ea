"""JSON views of `local_hub_store` objects in the shapes huggingface_hub parses
(`ModelInfo` / `DatasetInfo`, `RepoFile` / `RepoFolder`), and HTTP byte ranges."""

import hashlib

from local_hub_store import Commit, HubError, Repo

LFS_POINTER_SIZE = 134  # bytes of a git-lfs pointer file; reported, never used for data


def card_metadata(readme: bytes) -> dict:
    """Top-level scalars and lists of plain strings from a card's YAML front matter: enough for
    `tags`, `pipeline_tag`, `library_name`, `license` in repo info. Nested mappings are skipped
    (a full YAML parser would make the server depend on PyYAML)."""
    lines = readme.decode("utf-8", "replace").splitlines()
    if not lines or lines[0].strip() != "---":
        return {}
    metadata, key = {}, None
    for line in lines[1:]:
        if line.strip() == "---":
            break
        if line and not line[0].isspace() and ":" in line and not line.startswith("-"):
            key, value = (part.strip() for part in line.split(":", 1))
            metadata[key] = value.strip("'\"") if value else []
        elif key and isinstance(metadata.get(key), list) and line.lstrip().startswith("- "):
            item = line.lstrip()[2:].strip()
            if ":" not in item:  # a list of mappings (model-index) is not a list of strings
                metadata[key].append(item.strip("'\""))
    return metadata


def repo_info(repo: Repo, commit: Commit, readme: bytes) -> dict:
    card = card_metadata(readme)
    tags = [tag for tag in card.get("tags", []) if isinstance(tag, str)] if isinstance(card.get("tags"), list) else []
    info = {
        "_id": hashlib.sha1(f"{repo.repo_type}/{repo.repo_id}".encode()).hexdigest()[:24],
        "id": repo.repo_id,
        "author": repo.repo_id.split("/")[0],
        "sha": commit.oid,
        "createdAt": repo.created_at,
        "lastModified": commit.date,
        "private": repo.private,
        "disabled": False,
        "gated": False,
        "downloads": 0,
        "likes": 0,
        "tags": tags,
        "siblings": [{"rfilename": path} for path in sorted(commit.files)],
        "cardData": {key: value for key, value in card.items() if value != []} or None,
    }
    if repo.repo_type == "model":
        info["pipeline_tag"] = card.get("pipeline_tag") or None
        info["library_name"] = card.get("library_name") or None
    if repo.repo_type == "space":
        info["sdk"] = card.get("sdk") or None
    return info


def _file_entry(path, entry, commit, expand) -> dict:
    item = {"type": "file", "oid": entry.blob_id, "size": entry.size, "path": path}
    if entry.lfs:
        item["lfs"] = {"oid": entry.sha256, "size": entry.size, "pointerSize": LFS_POINTER_SIZE}
    if expand:
        item["lastCommit"] = {"id": commit.oid, "title": commit.title, "date": commit.date}
    return item


def _folder_entry(path, commit, expand) -> dict:
    children = sorted(e.blob_id for p, e in commit.files.items() if p.startswith(path + "/"))
    item = {"type": "directory", "oid": hashlib.sha1("".join(children).encode()).hexdigest(), "size": 0, "path": path}
    if expand:
        item["lastCommit"] = {"id": commit.oid, "title": commit.title, "date": commit.date}
    return item


def tree_entries(commit: Commit, path: str, recursive: bool, expand: bool, itself: bool = False) -> list:
    """The `tree` listing of folder `path` ("" = root) at `commit`, or with `itself` the
    `paths-info` entry of `path` (empty when it does not exist)."""
    path = path.strip("/")
    is_folder = path == "" or any(p.startswith(path + "/") for p in commit.files)
    if itself:
        if path in commit.files:
            return [_file_entry(path, commit.files[path], commit, expand)]
        return [_folder_entry(path, commit, expand)] if is_folder and path else []
    if not is_folder:
        raise HubError(404, f"Entry not found: {path}", "EntryNotFound")
    prefix = path + "/" if path else ""
    files, folders = [], set()
    for file_path, entry in sorted(commit.files.items()):
        if not file_path.startswith(prefix):
            continue
        parts = file_path[len(prefix) :].split("/")
        for depth in range(1, len(parts) if recursive else min(len(parts), 2)):
            folders.add(prefix + "/".join(parts[:depth]))
        if recursive or len(parts) == 1:
            files.append(_file_entry(file_path, entry, commit, expand))
    return [_folder_entry(folder, commit, expand) for folder in sorted(folders)] + files


def resolve_range(header: str, size: int):
    """`(start, end)` (end exclusive) of a `Range: bytes=...` header, or None for the whole file.
    Only single ranges, which is all huggingface_hub and fsspec ask for."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header[len("bytes=") :].strip().partition("-")
    if first == "":  # suffix range: the last N bytes
        return max(0, size - int(last)), size
    start = int(first)
    end = size if last == "" else min(size, int(last) + 1)
    return min(start, size), max(min(start, size), end)
