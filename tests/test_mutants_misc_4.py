"""Tests written to kill mutmut survivors in ``store/uri.py`` and ``store/manifest.py`` listed in
``docs/mutation-testing.md``: blank query values, ``chunkOf=`` after ``location=``, ``://`` inside a label, the URI
named in the relative-``location`` error, the fields of a parsed ``sha1://`` URI, the form a zone URI is written
in, the JSON decoder's reason in a manifest error.
"""

from __future__ import annotations

from helpers import raises_text as _raises

from intake_npx2020.errors import InvalidObject, InvalidURI
from intake_npx2020.store.manifest import Manifest
from intake_npx2020.store.uri import ContentURI, format_uri, parse_uri

H = "0123456789abcdef0123456789abcdef01234567"
M = "89abcdef0123456789abcdef0123456789abcdef"


def test_blank_manifest_is_refused_not_ignored():
    assert _raises(InvalidURI, parse_uri, f"sha1://{H}/a.bin?manifest=") == (
        f"manifest in URI 'sha1://{H}/a.bin?manifest=' '' has 0 characters; a sha1 has exactly 40 hex digits")
    assert parse_uri(f"sha1://{H}?label=") == ContentURI("sha1", H, "")
    assert parse_uri(f"sha1://{H}?label=&manifest={M}") == ContentURI("sha1", H, "", M)


def test_chunk_of_and_label_after_location():
    u = parse_uri(f"sha1://{H}?location=/data/a b.bin&chunkOf={M}~0~10")
    assert (u.location, u.chunk_of) == ("/data/a b.bin", (M, 0, 10))
    v = parse_uri(f"sha1://{H}?location=/data/x.bin&label=x.bin&manifest={M}")
    assert (v.location, v.label, v.manifest) == ("/data/x.bin", "x.bin", M)


def test_a_label_may_hold_a_scheme_separator():
    u = parse_uri(f"sha1://{H}/notes/http://example.org.txt")
    assert (u.scheme, u.sha1, u.label) == ("sha1", H, "notes/http://example.org.txt")


def test_relative_location_error_names_the_uri():
    uri = f"sha1://{H}?label=a.bin&location=rel/a.bin"
    assert _raises(InvalidURI, parse_uri, uri) == \
        f"invalid URI {uri!r}: location must be an absolute path, got 'rel/a.bin'"


def test_parsed_sha1_uri_has_exactly_its_fields():
    assert parse_uri(f"sha1://{H}/a/b.bin?manifest={M}") == ContentURI("sha1", H, "a/b.bin", M)
    assert parse_uri(f"sha1://{H}/a/b.bin").dirlabel == ""
    d = parse_uri(f"sha1dir://{H}/a/b.bin")
    assert (d.scheme, d.sha1, d.dirlabel, d.label) == ("sha1dir", H, "", "a/b.bin")


def test_zone_uri_with_more_than_a_hash_is_written_as_sha1():
    assert format_uri(ContentURI("sha1", H, "a.bin", zone="lab")) == f"kachery:lab:sha1:{H}:a.bin"
    assert format_uri(ContentURI("sha1", H, "a.bin", zone="lab", location="/d/a.bin")) == \
        f"sha1://{H}/a.bin?location=/d/a.bin"
    assert format_uri(ContentURI("sha1", H, "a.bin", M, zone="lab")) == f"sha1://{H}/a.bin?manifest={M}"
    assert format_uri(ContentURI("sha1", H, "", None, (M, 0, 5), zone="")) == f"sha1://{H}?chunkOf={M}~0~5"


def test_manifest_not_json_gives_the_decoders_reason():
    assert _raises(InvalidObject, Manifest.from_bytes, b"{oops", "manifest X") == \
        "manifest X is not valid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"


def test_json_int_names_its_own_bound():
    from intake_npx2020.store.manifest import json_int

    assert _raises(InvalidObject, json_int, {"n": 5}, "n", "obj", hi=5) == "obj: n must be an integer in [0, 5), got 5"
    assert _raises(InvalidObject, json_int, {"n": -1}, "n", "obj") == "obj: n must be an integer in [0, 2**63), got -1"
    assert json_int({"n": 4}, "n", "obj", hi=5) == 4


def test_unknown_key_before_location_is_named_whole():
    uri = f"sha1://{H}?Xtra=1&location=/a.bin"
    assert _raises(InvalidURI, parse_uri, uri) == f"invalid URI {uri!r}: unknown query key(s) ['Xtra']"
