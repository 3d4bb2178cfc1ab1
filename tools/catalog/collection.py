"""Collection-level facts (§1) and the catalog's top-level metadata."""

from __future__ import annotations

UPSTREAM_REPO = "https://github.com/flatironinstitute/neuropixels-data-sep-2020"
UPSTREAM_DATA_COMMIT = "0b5ff5f"  # last data/code change, 2020-11-17
UPSTREAM_HEAD_COMMIT = "7405584"  # 2020-12-28

INDEX_URI_HISTORY: list[tuple[str, str]] = [  # newest first (known_recordings_uri.py)
    ("2020-11-17", "sha1://6c7fbd39a6d801922983239100fb45a77a14aedc/known_recordings.json"),
    ("2020-09-15", "sha1://f18a87b7f7a71142a58995c3521e2785db565e15/file.json"),
    ("2020-09-15", "sha1://781a2b99eea20b68082ead7bd31462684f1fd83a/known_recordings.json"),
    ("2020-09-15", "sha1://4daf6a1751fbd29a55dc18ea7ffff098f10d7272/known_recordings.json"),
    ("2020-09-15", "sha1://fcd9e872c782899cd0258930a45b3856bcc1f431/known_recordings.json"),
    ("2020-09-11", "sha1://e346bc5dc3f9eb96144bb441be37a931590af2bb/known_recordings.json"),
    ("2020-09-10", "sha1://595447bd872dd7543ba662ed92af924857b168f8/known_recordings.json"),
    ("2020-09-09", "sha1://c0eef852db375ba9de2fe0871da3264b7435ee64/known_recordings.json"),
    ("2020-09-09", "sha1://ed8acff05b44c6ab5e9041c3f183cc650cfe786a/known_recordings.json"),
    ("2020-09-04", "sha1://e242e4497b8cd0cb29c1df159de16ae6735f1d9e/known_recordings.json"),
    ("2020-09-03", "sha1://5fb70a6c66c840a0c037316e22d5310c3e5c926c/file.json"),
    ("2020-09-02", "sha1://34330147555facb0721ed368c3b4f3c22b7a2500/file.json"),
    ("2020-09-02", "sha1://ec56fc46eb55aa4bb74beb66af602ee626061647/file.json"),
    ("2020-08-31", "sha1://830b98fb0d34a1c23f946ed4a6765ea0e7c74f85/file.json"),
    ("2020-08-27", "sha1://6742d13f4647adc01bae3d9a5876736e75483bc1/file.json"),
    ("2020-08-27", "sha1://4ed3186749aa6e865d8a500a7fe0fe187c191100/file.json"),
    ("2020-08-27", "sha1://6de5c648206a27d9785af97d95f8fa217ed8e27b/file.json"),
    ("2020-08-24", "sha1://08295c224a0753457cde13e78a97cdf8465bd214/known_recordings.json"),
]
COMMITTED_INDEX_URI = "sha1://08295c224a0753457cde13e78a97cdf8465bd214/known_recordings.json"

#: Public URL of a file at the last upstream data/code commit, for notes that cite the upstream code.
UPSTREAM_FILE_URL = f"{UPSTREAM_REPO}/blob/{UPSTREAM_DATA_COMMIT}/{{path}}"
#: The 2020-08-24 index as committed upstream (byte-identical to ``COMMITTED_INDEX_URI``).
COMMITTED_INDEX_URL = f"{UPSTREAM_REPO}/blob/5008bbc/known_recordings.json"


def catalog_metadata(n_recordings: int, n_sortings: int, n_drift: int) -> dict:
    """Top-level catalog metadata.

    Parameters
    ----------
    n_recordings, n_sortings, n_drift : int
        Entry counts by kind.

    Returns
    -------
    dict
        The catalog's ``metadata`` mapping (``version`` is the intake catalog-spec version, 1).
    """
    return {
        "version": 1,
        "name": "npx2020",
        "description": (
            "The neuropixels-data-sep-2020 collection: Neuropixels recordings (cortexlab, Allen Institute, Svoboda "
            "lab), curated and contributed spike sortings, and two recordings with imposed drift, by original ID, "
            "loaded lazily from content-addressed sha1:// storage"
        ),
        "source": {
            "repository": UPSTREAM_REPO,
            "data_commit": UPSTREAM_DATA_COMMIT,
            "data_commit_date": "2020-11-17",
            "head_commit": UPSTREAM_HEAD_COMMIT,
            "head_commit_date": "2020-12-28",
        },
        "index_uri": INDEX_URI_HISTORY[0][1],
        "index_note": "the current index was never committed; entries are rebuilt from the prepare scripts",
        "committed_index_uri": COMMITTED_INDEX_URI,
        "index_uri_history": [{"date": d, "uri": u} for d, u in INDEX_URI_HISTORY],
        "counts": {"recordings": n_recordings, "sortings": n_sortings, "drift": n_drift},
        "generated_by": "tools/build_catalog.py",
    }
