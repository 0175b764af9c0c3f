"""cbmil: MIL and Class-Balanced MIL for weakly supervised video anomaly detection.

The pipeline, one place each:

* ``cbmil.data`` — UCF-Crime and XD-Violence facts and official files, feature readers, frames,
  the dataset and its cache, the synthetic generator;
* ``cbmil.losses`` and ``cbmil.model`` — the ranking loss, class-balanced weights, the scorer;
* ``cbmil.train`` — many models trained at once, paired by seed (``cbmil.accel``: opt-in speed
  paths);
* ``cbmil.eval`` — frame metrics, localisation, evaluation protocols, seed statistics;
* ``cbmil.study`` — the paper's study with seeds, the imbalance dial, the generator examined;
* ``cbmil.interop`` — ground-truth audit/export, checkpoints, scoring one video;
* ``cbmil.plots`` and ``cbmil.cli`` — figures, and the command line that calls the functions above.
"""
