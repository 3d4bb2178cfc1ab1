"""Contributed sortings: SpyKING CIRCUS by P. Yger (objects by reference) and M. Hennig's ``npy2`` sortings (§6.3)."""

from __future__ import annotations

from intake_npx2020.formats.builders import npy2_object

from .entries import sorting_entry
from .provenance import Provenance

SPYKING_CIRCUS_SORTINGS = [
    ("cortexlab-single-phase-3", "sha1://2e748216d16d97a8a7ad54ba05f34df1d5fc724c/file.json"),
    ("allen_mouse419112_probeE", "sha1://b8ddf7527849d1734e533bb0b11787e6a1ac6eae/file.json"),
    ("allen_mouse415148_probeE", "sha1://be9d013191dc7a5c539c61b87da6672281d00da8/file.json"),
    ("cortexlab-drift-dataset1", "sha1://d618a4dfed3e8e74d980af60289a31186d962cb6/file.json"),
    ("cortexlab-drift-dataset2", "sha1://9c8e813fbab74c3c463295c13aa1c6e28a74a157/file.json"),
    ("svoboda-SC022_030319_g0_tcat_imec2", "sha1://d5eb47fad3e6d4fd73c9dbea1f3e5a431ab73d2d/file.json"),
]


def spyking_circus_sortings() -> list[tuple[str, dict]]:
    """The six SpyKING CIRCUS sortings contributed by P. Yger (objects by reference, §6.3)."""
    return [
        sorting_entry(
            f"{rec_id}:spyking_circus",
            recording_id=rec_id,
            label=f"{rec_id}:spyking_circus",
            description=f"SpykingCircus applied to {rec_id} (contributed by P. Yger)",
            sorting=uri,
            prov=Provenance("by_reference", against="the store checks the object against the URI hash on load"),
            sorter="spyking_circus (P. Yger)",
            curated=False,
            contributed=True,
            sorting_format=None,
            sorting_path=uri,
            uncertain=["format: the object's sorting_format is unknown offline (probably h5_v1)"],
            extra={"contributed_by": "P. Yger", "tags": ["contributed"]},
        )
        for rec_id, uri in SPYKING_CIRCUS_SORTINGS
    ]


HENNIG_SORTINGS: dict[str, list[tuple[str, str]]] = {
    "allen_mouse419112_probeE": [
        ("hdsort", "sha1://28efb237ea07041eb94993a316c53c1f22f59c64/hdsort.npz?manifest=32dc916a479afa8fc7932c12818750bc6b3b9956"),
        ("herdingspikes", "sha1://ad8ecc05529ca124ba204a9110c7a50d3f0916e0/herdingspikes.npz?manifest=640cd612d3791a4dd18b0fd704716a021ac6170b"),
        ("ironclust", "sha1://63f8577ee830f6e854fa37fa6dc9f300ddf5dcd2/ironclust.npz?manifest=63da49e17999ecf6082a1b7b1fcd50574a83ff57"),
        ("kilosort2", "sha1://b5cc1eed184a9cb544cd11f49141fe59e12d473c/kilosort2.npz?manifest=7d4ec32d692c9ed3b72aaefcf0c31aa0352ec95b"),
        ("spykingcircus", "sha1://cb07e45b1b969ebfa5a29faf7156585365104349/spykingcircus.npz?manifest=1fdb0dd7642a816db185e975bf43c85fa9bb6578"),
    ],
    "svoboda-SC026_080619_g0_tcat_imec0": [
        ("hdsort", "sha1://dda1bfa8074c4a391bd941e6a341e493a0737768/hdsort.npz?manifest=6b0b78fe3508d1ddfed26b8666df1b7d94231c69"),
        ("herdingspikes", "sha1://6136940a5e7d2beca95c35f3e000d38ce4d5e596/herdingspikes.npz?manifest=8ab6d0e2050d07f0c39e6dfb391c85513803e5ca"),
        ("ironclust", "sha1://9bd3a55848d0ca9e98f899653e9554d965dbf6f1/ironclust.npz?manifest=dbf4ed27e7ce9e3fb4e6f00166423765c16bb161"),
        ("kilosort2", "sha1://7c5100ee4cb77969a4697b524d12727315ac8f1e/kilosort2.npz?manifest=e36011dee42181fb4dcd76764658b848060a51f1"),
        ("tridesclous", "sha1://20ac56455bc10c1c42c266d1773a4a58b258786f/tridesclous.npz?manifest=400f5b9a20d0bb3575f8e98859440db38aaccca7"),
    ],
    "cortexlab-single-phase-3": [
        ("hdsort", "sha1://d809e0ced7b37c059ee57fbda2f988a5b8dc1a55/hdsort.npz?manifest=fce43cc1a2850e0e7805a98539f24c0816a218e3"),
        ("herdingspikes", "sha1://6b551be075b72dfa5c8df9a43541219630821197/herdingspikes.npz?manifest=b8ece277f8520feae2056f308e3269b6bd32e7a0"),
        ("ironclust", "sha1://dfd2eaa009f6bc5b5c3f7eb979d0335f412cd575/ironclust.npz?manifest=0d9cedcf83a0de06be1a620777b2a5838e3c0d12"),
        ("kilosort2", "sha1://3cf9943dedeb5f39344672ff701eebf12830d075/kilosort2.npz?manifest=8bbe8e6a536e63a274a3bd2e05ecc03116840855"),
        ("spykingcircus", "sha1://d855d5314f36470719da17e4e5d2f48c808e65d3/spykingcircus.npz?manifest=af8e6189126b228ecde19237fb7a21807c7e2feb"),
        ("tridesclous", "sha1://927721485f61cc9322536a8e9b457088b9dc16c7/tridesclous.npz?manifest=ee127bacf3d27de75b69313920af4691dd09c309"),
    ],
}


def _hennig(rec_id: str, sorter: str, npz_uri: str) -> tuple[str, dict]:
    """One Hennig-lab ``npy2`` sorting, reconstructed without ``unit_ids``."""
    return sorting_entry(
        f"{rec_id}:mh-{sorter}",
        recording_id=rec_id,
        label=f"{rec_id}:mh-{sorter}",
        description=f"{sorter} applied to {rec_id} (contributed by M. Hennig)",
        sorting=npy2_object(npz_uri),
        prov=Provenance("reconstructed"),
        sorter=sorter,
        curated=False,
        contributed=True,
        sorting_format="npy2",
        extra={
            "contributed_by": "M. Hennig",
            "tags": ["contributed"],
            "note": (
                "unit_ids and the true sampling_frequency live in the npz (keys unit_ids, spike_indexes, "
                "spike_labels, sampling_frequency of shape (1,)); the upstream object listed unit_ids, so its "
                f"hash (basename {rec_id}--{sorter}.json) is unknown"
            ),
        },
        uncertain=[
            "unit_ids: null here, read from the npz",
            "sampling_frequency: 30000.0 is a placeholder; the npz value is authoritative",
        ],
    )


def hennig_sortings() -> list[tuple[str, dict]]:
    """The 16 Hennig-lab ``npy2`` sortings (objects reconstructed without ``unit_ids``, §6.3)."""
    return [_hennig(rec_id, sorter, uri) for rec_id, sorters in HENNIG_SORTINGS.items() for sorter, uri in sorters]
