"""The local Hub server against huggingface_hub's own client calls, in process."""

import urllib.request
from pathlib import Path

import pytest
from huggingface_hub import HfApi, constants, hf_hub_download
from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError
from local_hub_handler import upload_mode
from local_hub_views import card_metadata, resolve_range


@pytest.fixture
def api(local_hub, monkeypatch):
    # hf_xet is installed: without this huggingface_hub would upload through Xet, which the server lacks.
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    return HfApi(endpoint=local_hub.endpoint, token="hf_local_dummy")


def test_upload_list_download_round_trip(api, local_hub, tmp_path):
    api.create_repo("user/files")
    weights = bytes(range(256)) * 64  # binary: goes through LFS
    api.upload_file(path_or_fileobj=weights, path_in_repo="weights/model.bin", repo_id="user/files")
    commit = api.upload_file(path_or_fileobj=b"hello\n", path_in_repo="notes.txt", repo_id="user/files")
    assert sorted(api.list_repo_files("user/files")) == ["notes.txt", "weights/model.bin"]
    tree = {entry.path: entry for entry in api.list_repo_tree("user/files")}
    assert set(tree) == {"notes.txt", "weights"}
    (lfs_file,) = api.get_paths_info("user/files", ["weights/model.bin"])
    assert lfs_file.lfs is not None and lfs_file.size == len(weights)
    path = hf_hub_download("user/files", "weights/model.bin", endpoint=local_hub.endpoint, cache_dir=tmp_path)
    assert Path(path).read_bytes() == weights
    assert api.model_info("user/files").sha == commit.oid


def test_old_revisions_stay_readable(api, local_hub, tmp_path):
    api.create_repo("user/history")
    first = api.upload_file(path_or_fileobj=b"v1", path_in_repo="value.txt", repo_id="user/history")
    api.upload_file(path_or_fileobj=b"v2", path_in_repo="value.txt", repo_id="user/history")
    old = hf_hub_download(
        "user/history", "value.txt", revision=first.oid, endpoint=local_hub.endpoint, cache_dir=tmp_path
    )
    new = hf_hub_download("user/history", "value.txt", endpoint=local_hub.endpoint, cache_dir=tmp_path)
    assert Path(old).read_bytes() == b"v1" and Path(new).read_bytes() == b"v2"
    assert [c.title for c in api.list_repo_commits("user/history")][-1] == "initial commit"


def test_errors_are_the_hubs(api, local_hub, tmp_path):
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("user/missing")
    api.create_repo("user/errors", repo_type="dataset")
    with pytest.raises(EntryNotFoundError):
        hf_hub_download("user/errors", "nope.txt", repo_type="dataset", endpoint=local_hub.endpoint, cache_dir=tmp_path)
    with pytest.raises(RevisionNotFoundError):
        api.dataset_info("user/errors", revision="0" * 40)
    with pytest.raises(HfHubHTTPError, match="409"):
        api.create_repo("user/errors", repo_type="dataset")
    anonymous = HfApi(endpoint=local_hub.endpoint, token=False)
    with pytest.raises(HfHubHTTPError, match="401"):
        anonymous.create_repo("user/anonymous")


def test_byte_ranges(api, local_hub):
    api.create_repo("user/ranges")
    api.upload_file(path_or_fileobj=b"0123456789", path_in_repo="digits.txt", repo_id="user/ranges")
    request = urllib.request.Request(
        f"{local_hub.endpoint}/user/ranges/resolve/main/digits.txt", headers={"Range": "bytes=2-4"}
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 206 and response.read() == b"234"
        assert response.headers["Content-Range"] == "bytes 2-4/10" and response.headers["X-Repo-Commit"]
    assert resolve_range("bytes=-3", 10) == (7, 10) and resolve_range("bytes=8-", 10) == (8, 10)
    assert resolve_range(None, 10) is None


def test_upload_modes_follow_the_hubs_rules():
    assert upload_mode("data/train-00000.parquet", 100, b"PAR1") == "lfs"  # datasets deletes it after preupload
    assert upload_mode("model.safetensors", 10, b"{}") == "lfs"
    assert upload_mode("README.md", 100, b"---\nlicense: mit\n---\n") == "regular"
    assert upload_mode("blob.dat", 100, b"\x00\x01") == "lfs"
    assert upload_mode("big.txt", 20 * 1024 * 1024, b"text") == "lfs"


def test_card_metadata_reads_top_level_keys():
    card = b"---\npipeline_tag: audio-to-audio\ntags:\n- audio\n- 'custom_code'\nmodel-index:\n- name: x\n---\nbody"
    assert card_metadata(card) == {
        "pipeline_tag": "audio-to-audio",
        "tags": ["audio", "custom_code"],
        "model-index": [],
    }
