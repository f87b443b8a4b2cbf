"""aenet.atomic and cifarbench.download: atomic writers, and fetch from files and a flaky server."""
import hashlib
import http.server
import json
import os
import threading
import time

import numpy as np
import pytest

from aenet.atomic import atomic_path, save_npy_atomic, write_json_atomic, write_text_atomic
from cifarbench import download
from cifarbench.download import ChecksumError, DownloadError, fetch

# -- atomic writers --------------------------------------------------------------------------


def test_atomic_path_renames_on_success(tmp_path):
    dest = tmp_path / "out.txt"
    with atomic_path(dest) as tmp:
        assert tmp.parent == tmp_path and tmp != dest
        tmp.write_text("done")
        assert not dest.exists()  # nothing visible before the body finished
    assert dest.read_text() == "done"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_atomic_path_removes_temp_and_keeps_old_file_on_exception(tmp_path):
    dest = tmp_path / "out.txt"
    dest.write_text("old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_path(dest) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert dest.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_atomic_path_cleans_up_on_keyboard_interrupt(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(tmp_path / "out.bin") as tmp:
            tmp.write_bytes(b"x" * 100)
            raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


def test_atomic_path_requires_the_body_to_write(tmp_path):
    with pytest.raises(FileNotFoundError, match="did not create"):
        with atomic_path(tmp_path / "out.txt"):
            pass
    assert os.listdir(tmp_path) == []


def test_atomic_path_creates_the_folder(tmp_path):
    with atomic_path(tmp_path / "a" / "b" / "c.txt") as tmp:
        tmp.write_text("x")
    assert (tmp_path / "a" / "b" / "c.txt").read_text() == "x"


def test_save_npy_atomic_round_trip_keeps_the_name(tmp_path):
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    save_npy_atomic(tmp_path / "weights.bin", array)  # np.save would append .npy
    assert os.listdir(tmp_path) == ["weights.bin"]
    loaded = np.load(tmp_path / "weights.bin")
    assert loaded.dtype == np.float32 and loaded.tolist() == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]


def test_save_npy_atomic_refuses_objects_and_leaves_nothing(tmp_path):
    with pytest.raises(ValueError):
        save_npy_atomic(tmp_path / "x.npy", np.array([{"a": 1}], dtype=object))
    assert os.listdir(tmp_path) == []


def test_write_text_and_json_atomic(tmp_path):
    write_text_atomic(tmp_path / "a.txt", "line 1\nline 2\n")
    assert (tmp_path / "a.txt").read_bytes() == b"line 1\nline 2\n"
    write_json_atomic(tmp_path / "b.json", {"acc": 0.5, "n": [1, 2]})
    assert json.loads((tmp_path / "b.json").read_text()) == {"acc": 0.5, "n": [1, 2]}
    assert (tmp_path / "b.json").read_text().endswith("}\n")


def test_write_json_atomic_unserializable_keeps_old_file(tmp_path):
    dest = tmp_path / "r.json"
    dest.write_text('{"old": true}\n')
    with pytest.raises(TypeError):
        write_json_atomic(dest, {"bad": object()})
    assert dest.read_text() == '{"old": true}\n'
    assert os.listdir(tmp_path) == ["r.json"]


# -- fetch: local sources and checksums ------------------------------------------------------

PAYLOAD = bytes(range(256)) * 1200  # 307,200 bytes
PAYLOAD_SHA256 = hashlib.sha256(PAYLOAD).hexdigest()
PAYLOAD_MD5 = hashlib.md5(PAYLOAD).hexdigest()
WRONG_SHA256 = "0" * 64


def quiet(line):
    pass


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "src dir" / "file.bin"  # a space: file:// URLs quote it
    path.parent.mkdir()
    path.write_bytes(PAYLOAD)
    return path


@pytest.mark.parametrize("form", ["path", "str", "file_url", "file_localhost_url"])
def test_fetch_local_sources(tmp_path, source, form):
    url = {
        "path": source,
        "str": str(source),
        "file_url": source.as_uri(),
        "file_localhost_url": "file://localhost" + str(source),
    }[form]
    dest = tmp_path / "out" / "copy.bin"
    assert fetch(url, dest, sha256=PAYLOAD_SHA256, progress=quiet) == dest
    assert dest.read_bytes() == PAYLOAD
    assert os.listdir(dest.parent) == ["copy.bin"]


def test_fetch_md5_only_and_uppercase_digest(tmp_path, source):
    dest = tmp_path / "copy.bin"
    fetch(source, dest, md5=PAYLOAD_MD5.upper(), progress=quiet)
    assert dest.read_bytes() == PAYLOAD


def test_fetch_checksum_mismatch_names_both_digests_and_leaves_nothing(tmp_path, source):
    out = tmp_path / "out"
    with pytest.raises(ChecksumError) as info:
        fetch(source, out / "copy.bin", sha256=WRONG_SHA256, progress=quiet)
    message = str(info.value)
    assert WRONG_SHA256 in message and PAYLOAD_SHA256 in message
    assert str(source) in message and "\n" not in message
    assert os.listdir(out) == []


def test_fetch_checksum_mismatch_keeps_an_existing_dest(tmp_path, source):
    dest = tmp_path / "copy.bin"
    dest.write_bytes(b"previous")
    with pytest.raises(ChecksumError):
        fetch(source, dest, md5="f" * 32, progress=quiet)
    assert dest.read_bytes() == b"previous"
    assert sorted(os.listdir(tmp_path)) == ["copy.bin", "src dir"]


def test_fetch_every_given_digest_must_match(tmp_path, source):
    with pytest.raises(ChecksumError) as info:
        fetch(source, tmp_path / "c.bin", sha256=PAYLOAD_SHA256, md5="a" * 32, progress=quiet)
    assert "a" * 32 in str(info.value) and PAYLOAD_MD5 in str(info.value)
    assert not (tmp_path / "c.bin").exists()


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"sha256": "abc"}, {"md5": PAYLOAD_SHA256}, {"sha256": "g" * 64}],
    ids=["none", "short", "md5-too-long", "not-hex"],
)
def test_fetch_requires_a_valid_digest(tmp_path, source, kwargs):
    with pytest.raises(ValueError, match="sha256|md5"):
        fetch(source, tmp_path / "c.bin", progress=quiet, **kwargs)
    assert not (tmp_path / "c.bin").exists()


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/cifar.tar.gz",
        "htp://example.org/cifar.tar.gz",
        "http://",
        "http:///cifar.tar.gz",
        "https://example.org:port/cifar.tar.gz",
        "http://exa mple.org/cifar.tar.gz",
        "file://otherhost/data/cifar.tar.gz",
    ],
)
def test_fetch_rejects_malformed_urls(tmp_path, url):
    with pytest.raises(ValueError) as info:
        fetch(url, tmp_path / "c.bin", sha256=PAYLOAD_SHA256, progress=quiet)
    assert url in str(info.value)
    assert not isinstance(info.value, ChecksumError)
    assert os.listdir(tmp_path) == []


def test_fetch_missing_local_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.bin"):
        fetch(tmp_path / "nope.bin", tmp_path / "out" / "c.bin", sha256=PAYLOAD_SHA256, progress=quiet)
    assert os.listdir(tmp_path / "out") == []


def test_fetch_reports_progress_every_tenth(tmp_path, monkeypatch):
    src = tmp_path / "src.bin"
    src.write_bytes(b"\x01" * 100_000)
    monkeypatch.setattr(download, "CHUNK_SIZE", 1000)  # 100 chunks
    lines = []
    fetch(src, tmp_path / "dst.bin", sha256=hashlib.sha256(b"\x01" * 100_000).hexdigest(), progress=lines.append)
    percents = [int(line.split("(")[1].split("%")[0]) for line in lines if "%)" in line]
    assert percents == [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    assert "ok" in lines[-1] and "dst.bin" in lines[-1]


def test_fetch_progress_defaults_to_stderr(tmp_path, source, capsys):
    fetch(source, tmp_path / "c.bin", sha256=PAYLOAD_SHA256)
    captured = capsys.readouterr()
    assert captured.out == "" and "100%" in captured.err


# -- fetch over HTTP: a flaky server on 127.0.0.1 --------------------------------------------


class FlakyServer:
    """Serves PAYLOAD; request k follows ``plan[k]`` ("ok" once the plan runs out).

    Actions: "ok", "503", "404", "drop" (close without answering), "truncate"
    (announce the full length, send half, close), "stall" (send headers, then
    wait longer than the client's timeout).
    """

    def __init__(self):
        self.plan, self.requests, self.lock = [], 0, threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                with server.lock:
                    action = server.plan[server.requests] if server.requests < len(server.plan) else "ok"
                    server.requests += 1
                if action in ("503", "404"):
                    self.send_error(int(action))
                elif action == "drop":
                    self.close_connection = True
                elif action in ("ok", "truncate", "stall"):
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(PAYLOAD)))
                    self.end_headers()
                    if action == "stall":
                        time.sleep(1.0)
                        return
                    body = PAYLOAD if action == "ok" else PAYLOAD[: len(PAYLOAD) // 2]
                    self.wfile.write(body)
                    self.close_connection = True

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/cifar.tar.gz"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.daemon = True


@pytest.fixture
def server(monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    flaky = FlakyServer()
    flaky.thread.start()
    yield flaky
    flaky.httpd.shutdown()
    flaky.httpd.server_close()
    flaky.thread.join(timeout=5)


def http_fetch(server, dest, lines=None, **kwargs):
    kwargs = {"sha256": PAYLOAD_SHA256, "retries": 3, "timeout": 5, "backoff": 0.001, **kwargs}
    return fetch(server.url, dest, progress=(lines.append if lines is not None else quiet), **kwargs)


def test_http_fetch_plain(server, tmp_path):
    http_fetch(server, tmp_path / "c.bin")
    assert (tmp_path / "c.bin").read_bytes() == PAYLOAD
    assert server.requests == 1


def test_http_fetch_retries_network_errors(server, tmp_path):
    server.plan = ["503", "drop", "truncate"]
    lines = []
    http_fetch(server, tmp_path / "c.bin", lines=lines)
    assert (tmp_path / "c.bin").read_bytes() == PAYLOAD
    assert server.requests == 4
    retries = [line for line in lines if "retrying" in line]
    assert len(retries) == 3 and "503" in retries[0] and "153600 of 307200" in retries[2]
    assert os.listdir(tmp_path) == ["c.bin"]


def test_http_fetch_retries_a_read_timeout(server, tmp_path):
    server.plan = ["stall"]
    http_fetch(server, tmp_path / "c.bin", timeout=0.3)
    assert (tmp_path / "c.bin").read_bytes() == PAYLOAD
    assert server.requests == 2


def test_http_fetch_gives_up_after_the_retries(server, tmp_path):
    server.plan = ["503"] * 10
    with pytest.raises(DownloadError) as info:
        http_fetch(server, tmp_path / "c.bin", retries=2)
    assert server.requests == 3
    assert server.url in str(info.value) and "3 attempt" in str(info.value)
    assert os.listdir(tmp_path) == []


def test_http_fetch_does_not_retry_not_found(server, tmp_path):
    server.plan = ["404"]
    with pytest.raises(DownloadError, match="404"):
        http_fetch(server, tmp_path / "c.bin")
    assert server.requests == 1
    assert os.listdir(tmp_path) == []


def test_http_fetch_does_not_retry_a_checksum_error(server, tmp_path):
    with pytest.raises(ChecksumError) as info:
        http_fetch(server, tmp_path / "c.bin", sha256=WRONG_SHA256)
    assert server.requests == 1
    assert server.url in str(info.value) and PAYLOAD_SHA256 in str(info.value)
    assert os.listdir(tmp_path) == []


def test_http_fetch_connection_refused_is_retried_then_fails(tmp_path):
    flaky = FlakyServer()  # bound but never served, then closed: the port refuses
    url = flaky.url
    flaky.httpd.server_close()
    with pytest.raises(DownloadError, match="2 attempt"):
        fetch(url, tmp_path / "c.bin", sha256=PAYLOAD_SHA256, retries=1, timeout=5, backoff=0.001, progress=quiet)
    assert os.listdir(tmp_path) == []
