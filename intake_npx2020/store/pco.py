"""The codec of packed mirrors: a chunk's bytes as one flat array of little-endian int16, in Pco's standalone format.

Pco (``pcodec``) is a lossless entropy coder for numbers; on Neuropixels-like int16 data it sits within about
1 % of the white-noise entropy bound and decodes at 0.5–1.3 GB/s per core (``benchmarks/README.md``). Any even
number of bytes round-trips exactly, whatever the frame phase of the chunk or the meaning of its bytes.

Encoding uses :data:`ENCODER` settings with ``pcodec`` :data:`PCODEC_VERSION`: the same chunk gives the same
bytes on every machine with that version (pinned by the ``compress`` extra). Decoding needs no pin: readers check
the sha1 of the *decoded* bytes, never of the compressed ones.
"""

from __future__ import annotations

from ..extras import require

__all__ = ["encode", "decode_into", "available", "CODEC", "ENCODER", "PCODEC_VERSION", "DecodeError"]

#: the codec name written in pack indexes
CODEC = "pco"
#: ``pcodec`` version whose encoder output packings are byte-identical for (the ``compress`` extra pins it)
PCODEC_VERSION = "1.1.0"
#: the encoder and its settings, as recorded in pack indexes
ENCODER = f"pcodec-{PCODEC_VERSION}/int16le/level-8/no-delta"


class DecodeError(ValueError):
    """Compressed bytes that do not decode to exactly the int16 values expected (the mirror's fault)."""


def _pcodec():
    return require("pcodec", "compress", "compressed (packed) mirrors")


def available() -> bool:
    """True when ``pcodec`` imports (readers then use a mirror's compressed chunks; else its raw ones)."""
    try:
        _pcodec()
    except ImportError:
        return False
    return True


def encode(raw) -> bytes:
    """Compress a chunk: its bytes as little-endian int16 values, Pco level 8, no delta encoding.

    Parameters
    ----------
    raw : bytes-like
        An even number of bytes.

    Returns
    -------
    bytes
        A Pco standalone file holding ``len(raw) // 2`` int16 values.
    """
    import numpy as np

    pcodec = _pcodec()
    view = memoryview(raw).cast("B")
    if len(view) % 2:
        raise ValueError(f"a chunk of {len(view)} bytes is not a whole number of int16 values")
    cfg = pcodec.ChunkConfig(compression_level=8, delta_spec=pcodec.DeltaSpec.no_op())
    return pcodec.standalone.simple_compress(np.frombuffer(view, dtype="<i2"), cfg)


def decode_into(blob, out) -> None:
    """Decode a Pco standalone file into ``out``, which it must fill exactly with int16 values.

    Runs in the calling thread (Pco releases the GIL while decoding).

    Parameters
    ----------
    blob : bytes-like
        The compressed chunk.
    out : writable bytes-like
        Receives the decoded little-endian bytes; its length is the chunk's size.

    Raises
    ------
    DecodeError
        When ``blob`` is not a Pco file of int16 values, is corrupt, or holds more or fewer values than ``out``.
    """
    import numpy as np

    pcodec = _pcodec()
    view = memoryview(out).cast("B")
    if len(view) % 2:
        raise DecodeError(f"a chunk of {len(view)} bytes cannot be decoded from int16 values")
    dst = np.frombuffer(view, dtype="<i2")
    if not len(dst):
        raise DecodeError("empty chunks are never stored compressed")
    try:
        progress = pcodec.standalone.simple_decompress_into(bytes(blob) if not isinstance(blob, bytes) else blob, dst)
    except (RuntimeError, TypeError, ValueError) as err:
        raise DecodeError(f"not a valid Pco file of int16 values: {str(err)[:200]}") from None
    if progress.n_processed != len(dst) or not progress.finished:
        raise DecodeError(f"decoded {progress.n_processed} values{'' if progress.finished else ' and more'}, "
                          f"expected exactly {len(dst)}")
