"""Where a dataset comes from: ``"synthetic"`` (generated) or a cache folder (``data prepare``).

The one place the command line and the study (:mod:`cbmil.study.reproduction`, :mod:`cbmil.study.imbalance`)
turn a ``--data`` / ``--source`` value into a :class:`~cbmil.data.dataset.VADDataset`.
"""

from __future__ import annotations

from cbmil.data import dataset as ds


def load_source(source: str, preset: str = "ci", seed: int = 0, **overrides) -> ds.VADDataset:
    """``"synthetic"`` -> :func:`cbmil.data.synthetic.make_dataset` (``preset``, ``seed`` and any
    generator ``overrides``, e.g. ``balanced=True``); anything else is a cache folder."""
    if source == "synthetic":
        from cbmil.data.synthetic import make_dataset
        return make_dataset(preset, seed=seed, **overrides)
    if overrides:
        raise ValueError(f"{sorted(overrides)} apply to synthetic data only, not to the cache {source}")
    return ds.load(source)
