import pytest

from intake_npx2020.store.uri import ContentURI, format_uri, parse_uri

H = "bc5616a9fa4bfe7a4c1e0a6c9ad3e6fb2a8b0e21"
M = "9dcf60e9f1a2c3b4d5e6f708192a3b4c5d6e7f80"


@pytest.mark.parametrize("uri", [
    f"sha1://{H}",
    f"sha1://{H}/big.bin",
    f"sha1://{H}/big.bin?manifest={M}",
    f"sha1://{H}?manifest={M}",
    f"sha1://{H}/dataset1/manip.timestamps_p2.npy",
    f"sha1://{H}?chunkOf={M}~20000000~40000000",
    f"sha1dir://{H}.mydir/sub/a.txt",
    f"sha1dir://{H}/a.txt",
])
def test_round_trip(uri):
    assert format_uri(parse_uri(uri)) == uri


def test_parts():
    u = parse_uri(f"sha1://{H}/big.bin?manifest={M}")
    assert (u.scheme, u.sha1, u.label, u.manifest, u.chunk_of) == ("sha1", H, "big.bin", M, None)
    c = parse_uri(f"sha1://{H}?chunkOf={M}~0~20000000")
    assert c.chunk_of == (M, 0, 20000000)
    d = parse_uri(f"sha1dir://{H}.cortexlab-single-phase-3/sub/a.txt")
    assert (d.scheme, d.sha1, d.dirlabel, d.label) == ("sha1dir", H, "cortexlab-single-phase-3", "sub/a.txt")
    assert format_uri(sha1=H, label="x.bin", manifest=M) == f"sha1://{H}/x.bin?manifest={M}"
    assert str(ContentURI("sha1", H)) == f"sha1://{H}"


@pytest.mark.parametrize("uri, why", [
    (f"sha1://{H[:-1]}/x", "39 characters"),
    (f"sha1://{H}0/x", "41 characters"),
    (f"sha1://{H[:-1]}g/x", "not lowercase hexadecimal"),
    (f"sha1://{H.upper()}/x", "not lowercase hexadecimal"),
    (f"md5://{H}/x", "unknown scheme"),
    (f"http://{H}/x", "unknown scheme"),
    (f"{H}/x", "expected 'sha1://"),
    (f"sha1://{H}/../etc/passwd", "'..'"),
    (f"sha1dir://{H}.d/a/../../b", "'..'"),
    (f"sha1://{H}/x?manifest=abc", "3 characters"),
    (f"sha1://{H}/x?foo=1", "unknown query"),
    (f"sha1://{H}?chunkOf={M}~5", "chunkOf must be"),
    (f"sha1://{H}?chunkOf={M}~9~5", "greater than start"),
    (f"sha1dir://{H}.d", "needs a path"),
    ("", "expected 'sha1://"),
    (f"sha1://{H}/x?location=/a/x&location=/b/x", "location= is given twice"),
    (f"sha1://{H}/x?location=/a/x&manifest={M}&location=/b/x", "location= is given twice"),
])
def test_rejects_with_reason(uri, why):
    with pytest.raises(ValueError) as err:
        parse_uri(uri)
    assert why in str(err.value)
    assert repr(uri) in str(err.value) or repr(uri[7:47]) in str(err.value) or uri == ""


def test_non_string():
    with pytest.raises(ValueError, match="must be a string"):
        parse_uri(42)


@pytest.mark.parametrize("value, why", [
    (H.upper(), "not lowercase hexadecimal"), (H[:-1], "39 characters"), ("../" * 13 + "x", "not lowercase hexadecimal"),
    ("\u0660" * 40, "not lowercase hexadecimal"), (H[:39] + "\n", "not lowercase hexadecimal"),
    (None, "must be a string"), (42, "must be a string"), ([H], "must be a string"), ("x" * 10_000_000, "characters"),
])
def test_check_sha1(value, why):
    from intake_npx2020.errors import InvalidObject
    from intake_npx2020.store.uri import check_sha1

    assert check_sha1(H) == H
    with pytest.raises(InvalidObject, match=why) as err:
        check_sha1(value, "file sha1")
    assert "file sha1" in str(err.value) and len(str(err.value)) < 300


def test_deeply_nested_non_string_hash_is_reported_not_recursed():
    from intake_npx2020.errors import InvalidObject
    from intake_npx2020.store.uri import check_sha1

    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(InvalidObject, match="must be a string"):
        check_sha1(deep)


@pytest.mark.parametrize("query", [f"chunkOf={M}~\u00b2~5", f"chunkOf={M}~0~{'9' * 5000}", f"chunkOf={M}~0~{2**40}",
                                   f"chunkOf={M}~-1~5", f"chunkOf={M}~ 1~5", f"manifest={M}&manifest=../x"])
def test_hostile_queries(query):
    from intake_npx2020.errors import InvalidURI

    with pytest.raises(InvalidURI):
        parse_uri(f"sha1://{H}?{query}")
