import requests

from helpers import put_file, random_bytes, sha1

from intake_npx2020.store.local import blob_relpath
from intake_npx2020.store.serve import serve_in_thread


def test_serve_ranges_and_refusals(tmp_path):
    data = random_bytes(1_000_000)
    root = tmp_path / "store"
    put_file(root, data)
    (tmp_path / "secret.txt").write_text("outside")
    srv, base = serve_in_thread(root)
    try:
        url = f"{base}/{blob_relpath(sha1(data))}"
        r = requests.get(url)
        assert r.status_code == 200 and r.content == data
        r = requests.get(url, headers={"Range": "bytes=100-199"})
        assert r.status_code == 206 and r.content == data[100:200]
        assert r.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
        assert requests.get(url, headers={"Range": "bytes=-10"}).content == data[-10:]
        assert requests.get(url, headers={"Range": "bytes=999990-"}).content == data[999990:]
        assert requests.get(url, headers={"Range": f"bytes={len(data)}-"}).status_code == 416
        h = requests.head(url)
        assert h.status_code == 200 and int(h.headers["Content-Length"]) == len(data) and not h.content
        for bad in ["/", "/sha1/", "/sha1/ab/", "/../secret.txt", "/sha1/../../secret.txt",
                    f"/sha1/00/00/00/{sha1(data)}", "/%2e%2e/secret.txt", f"/{blob_relpath(sha1(data))}/x"]:
            assert requests.get(base + bad).status_code == 404, bad
        assert srv.server_address[0] == "127.0.0.1"
    finally:
        srv.shutdown()
