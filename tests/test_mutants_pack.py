"""Pack indexes and the Pco codec of packed mirrors, field by field: the exact bytes an index is written as, the
error naming each malformed field, the size bounds, the codec's settings and its refusals (written for mutmut
survivors in ``store/packindex.py`` and ``store/pco.py``)."""

from __future__ import annotations

import hashlib
import json
import re
import sys

import numpy as np
import pytest

from intake_npx2020.errors import InvalidObject
from intake_npx2020.store import pco
from intake_npx2020.store.manifest import MAX_CHUNK, Chunk
from intake_npx2020.store.packindex import MAX_INDEX, PackIndex, Stored

F = "f" * 40  # the file
M = "e" * 40  # its manifest
A, B, C = "a" * 40, "b" * 40, "c" * 40  # chunks
S = "d" * 40  # a stored (compressed) form
ENC = "pcodec-1.1.0/int16le/level-8/no-delta"


def index_obj(**fields) -> dict:
    obj = {"format": "npx2020-pack", "version": 1, "sha1": F, "size": 30, "manifest": M, "codec": "pco",
           "encoder": ENC,
           "chunks": [{"start": 0, "end": 10, "sha1": A, "stored": "pco", "stored_size": 4, "stored_sha1": S},
                      {"start": 10, "end": 30, "sha1": B, "stored": "raw", "stored_size": 20, "stored_sha1": B}]}
    obj.update(fields)
    return obj


def chunk_obj(**fields) -> dict:
    c = {"start": 0, "end": 30, "sha1": A, "stored": "pco", "stored_size": 7, "stored_sha1": S}
    c.update(fields)
    return c


def parse(obj, file_sha1: str = F, name: str | None = None) -> PackIndex:
    data = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return PackIndex.from_bytes(data, file_sha1) if name is None else PackIndex.from_bytes(data, file_sha1, name)


def refusal(obj, file_sha1: str = F, name: str | None = None) -> str:
    with pytest.raises(InvalidObject) as e:
        parse(obj, file_sha1, name)
    return str(e.value)


# == packindex: writing =======================================================================================

def test_index_bytes_are_canonical_compact_ascii_in_the_documented_key_order():
    stored = (Stored(Chunk(0, 10, A), "pco", 4, S), Stored(Chunk(10, 30, B), "raw", 20, B))
    data = PackIndex(F, 30, M, "pco", "pcodec/é", stored).to_bytes()
    assert data == (
        '{"format":"npx2020-pack","version":1,"sha1":"' + F + '","size":30,"manifest":"' + M + '","codec":"pco",'
        '"encoder":"pcodec/\\u00e9","chunks":[{"start":0,"end":10,"sha1":"' + A + '","stored":"pco","stored_size":4,'
        '"stored_sha1":"' + S + '"},{"start":10,"end":30,"sha1":"' + B + '","stored":"raw","stored_size":20,'
        '"stored_sha1":"' + B + '"}]}').encode()
    back = PackIndex.from_bytes(data, F)
    assert back == PackIndex(F, 30, M, "pco", "pcodec/é", stored)
    assert back.compressed() == {A: stored[0]}  # the raw chunk is not listed


# == packindex: reading =======================================================================================

def test_a_valid_index_parses_field_by_field():
    ix = parse(index_obj())
    assert (ix.sha1, ix.size, ix.manifest, ix.codec, ix.encoder) == (F, 30, M, "pco", ENC)
    assert ix.chunks == (Stored(Chunk(0, 10, A), "pco", 4, S), Stored(Chunk(10, 30, B), "raw", 20, B))


def test_index_size_bound_is_exactly_max_index():
    assert MAX_INDEX == 16 * 1024 * 1024
    body = json.dumps(index_obj()).encode()
    at_limit = body + b" " * (MAX_INDEX - len(body))
    assert len(at_limit) == MAX_INDEX and parse(at_limit).size == 30
    over = at_limit + b" "
    assert refusal(over) == f"pack index is {MAX_INDEX + 1} bytes, more than the {MAX_INDEX} an index may have"
    assert refusal(over, name="idx of X").startswith("idx of X is 16777217 bytes")


def test_not_json_is_named():
    assert refusal(b"{nope", name="pack index http://m/x") == (
        "pack index http://m/x is not valid JSON: Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)")
    assert refusal(b"[" * 100_000).startswith("pack index is not valid JSON: ")  # too deep: RecursionError
    assert refusal(b"\xff\xfe").startswith("pack index is not valid JSON: ")


@pytest.mark.parametrize("obj", [[1], "x", index_obj(format="npx2020-manifest"), index_obj(version=2),
                                 index_obj(version="1"), {k: v for k, v in index_obj().items() if k != "format"},
                                 {k: v for k, v in index_obj().items() if k != "version"}],
                         ids=["list", "string", "format", "version2", "versionstr", "noformat", "noversion"])
def test_another_format_or_version_is_refused(obj):
    assert refusal(obj) == "pack index is not a npx2020-pack index of version 1"


def test_the_file_field_must_be_this_files_sha1():
    assert refusal(index_obj(), file_sha1=C) == f"pack index describes file {F}, not {C}"
    assert refusal(index_obj(sha1="F" * 40)).startswith("pack index: sha1 'FFFF")
    assert refusal(index_obj(sha1=None)) == "pack index: sha1 must be a string of 40 hex digits, got NoneType None"


def test_size_codec_encoder_chunks_and_manifest_are_named():
    assert refusal(index_obj(size=-1)) == "pack index: size must be an integer in [0, 2**63), got -1"
    assert refusal(index_obj(size=True)) == "pack index: size must be an integer in [0, 2**63), got True"
    for bad in ({"codec": 1}, {"encoder": None}, {"codec": None, "encoder": None}):
        assert refusal(index_obj(**bad)) == "pack index: codec and encoder must be strings"
    assert refusal(index_obj(chunks={"0": 1})) == "pack index: chunks must be a list"
    assert refusal({k: v for k, v in index_obj().items() if k != "chunks"}) == "pack index: chunks must be a list"
    assert refusal(index_obj(manifest="x")) == (
        "pack index: manifest 'x' has 1 characters; a sha1 has exactly 40 hex digits")
    assert refusal(index_obj(size=31)) == "pack index: chunks cover 30 bytes but size is 31"
    assert refusal(index_obj(size=31), name="N") == "N: chunks cover 30 bytes but size is 31"


def test_each_chunk_entry_is_named_by_its_position():
    good = index_obj()["chunks"]
    assert refusal(index_obj(chunks=[good[0], 7])) == "pack index: chunks[1] must be an object, not int"
    assert refusal(index_obj(chunks=[good[0], dict(good[1], stored="zip")])) == (
        "pack index: chunks[1]: stored must be one of ('pco', 'raw'), got 'zip'")
    assert refusal(index_obj(chunks=[dict(good[0], stored=None), good[1]])) == (
        "pack index: chunks[0]: stored must be one of ('pco', 'raw'), got None")
    assert refusal(index_obj(chunks=[dict(good[0], start="0"), good[1]])) == (
        "pack index: chunks[0]: start must be an integer in [0, 2**63), got '0'")
    assert refusal(index_obj(chunks=[dict(good[0], end=-1), good[1]])) == (
        "pack index: chunks[0]: end must be an integer in [0, 2**63), got -1")
    assert refusal(index_obj(chunks=[dict(good[0], sha1=1), good[1]])) == (
        "pack index: chunks[0]: sha1 must be a string of 40 hex digits, got int 1")
    assert refusal(index_obj(chunks=[good[0], dict(good[1], stored_sha1="Z")])) == (
        "pack index: chunks[1]: stored_sha1 'Z' has 1 characters; a sha1 has exactly 40 hex digits")
    assert refusal(index_obj(chunks=[good[1], good[0]])).startswith(
        "pack index: chunks must tile [0, size) in order; chunks[0]")


def test_chunk_and_stored_sizes_are_bounded_exactly():
    big = MAX_CHUNK + (1 << 20)
    ok = parse(index_obj(size=MAX_CHUNK, chunks=[chunk_obj(end=MAX_CHUNK, stored_size=big - 1)]))
    assert ok.chunks[0].chunk.size == MAX_CHUNK and ok.chunks[0].size == big - 1
    assert refusal(index_obj(size=MAX_CHUNK + 1, chunks=[chunk_obj(end=MAX_CHUNK + 1)])) == (
        f"pack index: chunks[0]: a chunk of {MAX_CHUNK + 1} bytes is more than the {MAX_CHUNK} allowed")
    assert refusal(index_obj(size=30, chunks=[chunk_obj(stored_size=big)])) == (
        f"pack index: chunks[0]: stored_size must be an integer in [0, {big}), got {big}")
    assert parse(index_obj(size=30, chunks=[chunk_obj(stored_size=0)])).chunks[0].size == 0


# == pco ========================================================================================================

def samples(n: int = 1000) -> bytes:
    return ((np.arange(n) % 37) - 18).astype("<i2").tobytes()


def test_codec_names_as_written_in_indexes():
    assert pco.CODEC == "pco"
    assert pco.PCODEC_VERSION == "1.1.0"
    assert pco.ENCODER == ENC


def test_encoding_is_pinned_byte_for_byte():
    """Two packers with the pinned pcodec write the same bytes: level 8, no delta, little-endian int16."""
    import pcodec

    if getattr(pcodec, "__version__", pco.PCODEC_VERSION) != pco.PCODEC_VERSION:
        pytest.skip("another pcodec version than the pinned one")
    blob = pco.encode(samples())
    assert len(blob) == 685 and hashlib.sha1(blob).hexdigest() == "8df0504acbeb0756570714ad8325cb971d9d8b52"
    assert pco.encode(np.frombuffer(samples(), dtype="<i2")) == blob  # any buffer: its bytes count, not its items
    assert pco.encode(memoryview(samples()).cast("H")) == blob


def test_encode_refuses_an_odd_number_of_bytes_naming_it():
    with pytest.raises(ValueError, match=r"^a chunk of 3 bytes is not a whole number of int16 values$"):
        pco.encode(b"abc")
    with pytest.raises(ValueError, match=r"^a chunk of 5 bytes is not"):
        pco.encode(np.zeros(5, dtype="u1"))


def test_decode_round_trip_from_any_buffer_type():
    raw = samples()
    blob = pco.encode(raw)
    for src in (blob, bytearray(blob), memoryview(blob)):
        out = bytearray(len(raw))
        pco.decode_into(src, out)
        assert bytes(out) == raw
    arr = np.zeros(len(raw) // 2, dtype="<i2")  # an out whose items are not bytes
    pco.decode_into(blob, arr)
    assert arr.tobytes() == raw


def test_decode_refusals_say_why():
    raw = samples()
    blob = pco.encode(raw)
    with pytest.raises(pco.DecodeError, match=r"^a chunk of 7 bytes cannot be decoded from int16 values$"):
        pco.decode_into(blob, bytearray(7))
    with pytest.raises(pco.DecodeError, match=r"^empty chunks are never stored compressed$"):
        pco.decode_into(blob, bytearray(0))
    with pytest.raises(pco.DecodeError, match=r"^not a valid Pco file of int16 values: .*magic header"):
        pco.decode_into(b"garbage!" * 10, bytearray(10))
    with pytest.raises(pco.DecodeError, match=r"^decoded 4 values and more, expected exactly 4$"):
        pco.decode_into(blob, bytearray(8))
    with pytest.raises(pco.DecodeError, match=r"^decoded 1000 values, expected exactly 1500$"):
        pco.decode_into(blob, bytearray(3000))
    assert issubclass(pco.DecodeError, ValueError)


def test_a_long_decoder_reason_is_cut_at_200_characters():
    future = bytearray(pco.encode(samples()))
    future[8:10] = b"\xff\xff"  # a format version far beyond this library's (its reason is 201 characters)
    with pytest.raises(pco.DecodeError) as e:
        pco.decode_into(bytes(future), bytearray(2000))
    prefix = "not a valid Pco file of int16 values: "
    assert str(e.value).startswith(prefix + "pco error: pco Corruption error: File's format version (255.255)")
    assert len(str(e.value)) == len(prefix) + 200


def test_available_follows_the_import(monkeypatch):
    assert pco.available() is True
    monkeypatch.setitem(sys.modules, "pcodec", None)  # as if not installed
    assert pco.available() is False
    with pytest.raises(ImportError, match=re.escape(
            "pcodec is needed for compressed (packed) mirrors but is not installed (")) as e:
        pco.encode(samples())
    assert str(e.value).endswith("install it with: pip install 'intake_npx2020[compress]'")
