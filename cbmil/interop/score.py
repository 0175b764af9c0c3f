"""Trained models to and from disk, and the scores of one video.

* :func:`save_models` writes every model of a :class:`~cbmil.train.Trainer` to one file (what
  ``cbmil reproduce --save-checkpoints`` keeps), each as a standalone
  :class:`~cbmil.model.Scorer` state dict with what is needed to rebuild it;
  :func:`load_model` reads one of them back by name (``"CB-MIL 0.9999 / seed 0"``).
* :func:`read_video_features` reads one video's feature file in any layout of
  :mod:`cbmil.data.features`; :func:`score_video` scores its snippets (mean over crops of the crop
  scores, as :func:`cbmil.train.score_snippets` does).
* :func:`score_one_video` is ``cbmil score``: the scores of one video drawn as a timeline, annotated events
  shaded, optionally printed as JSON.

The models file holds plain tensors, dicts, lists, strings and numbers only, so it loads with
``torch.load(path, weights_only=True)`` (no code is unpickled)::

    {"format": "cbmil-models", "version": 1,
     "names": ["MIL / seed 0", ...],          # model m = s * V + v, as Trainer.model_names
     "models": [Scorer state dict, ...],      # fp32, CPU, in the order of "names"
     "dim": D, "hidden": [512, 32], "dropout": 0.6, "layer2": "relu",
     "config": asdict(TrainConfig), "settings": asdict(RunSettings),  # how it was trained (precision, ...)
     "variants": [{"name", "beta", "sign"}, ...],
     "seeds": [0, 1, ...], "steps": trained steps}

A model trained with ``RunSettings(precision="bf16")`` (layer 1 in bfloat16) is saved and scored in fp32:
its scores differ from the bank's by the bf16 rounding of layer 1 only.

Units of the timeline: snippet layouts (I3D ten-crop, per-crop, plain ``.npy``) put each
snippet's score on its 16 frames (the snippet protocol of :mod:`cbmil.data.frames`), so the x axis is
frames and annotated events (frames, inclusive) are shaded where they fall. A C3D ``.txt`` file
holds 32 segments of a video whose frame count it does not record: its timeline is drawn over
segments, and events are listed but not shaded (where they fall is unknown without the frame
count).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from cbmil.data.features import _CROP_RE, FeatureSource, _layout_of, load_video
from cbmil.data.frames import frame_ground_truth
from cbmil.model import Scorer
from cbmil.plots import score_timeline
from cbmil.data.ucf_crime import FRAMES_PER_SNIPPET, class_of_key, video_key

FORMAT = "cbmil-models"
VERSION = 1


# ---------------------------------------------------------------------- models on disk

def _plain(value):
    """Tuples to lists, recursively: the file keeps to JSON-like values."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def save_models(trainer, path: str | Path) -> Path:
    """Write every model of ``trainer`` (a :class:`~cbmil.train.Trainer`) to ``path``, one
    :class:`~cbmil.model.Scorer` state dict per model (fp32, on the CPU) named as
    ``trainer.model_names``, with the architecture, training config, variants, seeds and step
    count. Written to a temporary file first, so no half-written file is left. Returns ``path``."""
    bank, config = trainer.bank, trainer.config
    models = []
    for m in range(bank.n_models):
        scorer = bank.scorer(m).cpu()
        models.append({k: v.detach().clone().contiguous() for k, v in scorer.state_dict().items()})
    state = {
        "format": FORMAT, "version": VERSION,
        "names": list(trainer.model_names), "models": models,
        "dim": int(bank.dim), "hidden": [int(h) for h in bank.hidden], "dropout": float(bank.dropout),
        "layer2": bank.layer2,
        "config": _plain(asdict(config)), "settings": _plain(asdict(trainer.settings)), "variants": [_plain(asdict(v)) for v in trainer.variants],
        "seeds": [int(s) for s in trainer.seeds], "steps": int(trainer.step_count),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)
    return path


def read_models(path: str | Path) -> dict:
    """The content of a models file written by :func:`save_models` (see the module docstring).

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming the file for one
    that is not a models file (corrupt, another format, a training checkpoint)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist; write one with "
                                "`cbmil reproduce --save-checkpoints`")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # not a zip/pickle, truncated, holds objects weights_only refuses, ...
        raise ValueError(f"{path}: unreadable model file ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
                         "expected a file written by `cbmil reproduce --save-checkpoints`") from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        hint = (" (this is a training checkpoint, Trainer.save; models files come from save_models)"
                if isinstance(state, dict) and "bank" in state else "")
        raise ValueError(f"{path}: not a cbmil models file{hint}; expected a file written by "
                         "`cbmil reproduce --save-checkpoints`")
    if state.get("version", 0) > VERSION:
        raise ValueError(f"{path}: models file version {state['version']}; this kit reads version {VERSION} "
                         "and older")
    missing = [k for k in ("names", "models", "dim", "hidden", "dropout", "layer2") if k not in state]
    if missing or len(state["names"]) != len(state["models"]):
        raise ValueError(f"{path}: incomplete models file (missing {missing or 'one state per name'})")
    return state


def load_model(path: str | Path, name: str) -> Scorer:
    """Model ``name`` (e.g. ``"CB-MIL 0.9999 / seed 0"``) of a models file, as a
    :class:`~cbmil.model.Scorer` in eval mode on the CPU. An unknown name raises ``ValueError``
    listing the names the file holds."""
    state = read_models(path)
    if name not in state["names"]:
        raise ValueError(f"{path}: no model named {name!r}; available: {', '.join(map(repr, state['names']))}")
    scorer = Scorer(state["dim"], tuple(state["hidden"]), state["dropout"], state["layer2"])
    try:
        scorer.load_state_dict(state["models"][state["names"].index(name)])
    except RuntimeError as exc:
        raise ValueError(f"{path}: model {name!r} does not fit its recorded architecture ({exc})") from exc
    return scorer.eval()


def input_dim(scorer: Scorer) -> int:
    """The feature dimension D a scorer reads."""
    return scorer.net[0].in_features


# ---------------------------------------------------------------------- one video

def feature_source(path: str | Path) -> FeatureSource:
    """The :class:`~cbmil.data.features.FeatureSource` of one feature file; for a per-crop file
    ``Name__K.npy``, all of its sibling crop files ``Name__0.npy .. Name__{C-1}.npy``."""
    path = Path(path)
    layout = _layout_of(path.name)
    if layout is None:
        raise ValueError(f"{path}: not a feature file the kit reads; expected Name.txt (C3D), Name_i3d.npy "
                         "(ten-crop), Name__K.npy (one crop) or Name.npy ([T, D])")
    paths = (path,)
    if layout == "per_crop":
        stem = path.name[:_CROP_RE.search(path.name).start()]
        crops = {}
        for sibling in path.parent.iterdir():
            match = _CROP_RE.search(sibling.name)
            if match and sibling.name[:match.start()] == stem:
                crops[int(match.group(1))] = sibling
        if sorted(crops) != list(range(len(crops))):
            raise ValueError(f"{path}: crop files {sorted(crops)} of {stem} found; expected crops 0..{len(crops) - 1}")
        paths = tuple(crops[k] for k in range(len(crops)))
    return FeatureSource(video_key(path.name), layout, paths)


def read_video_features(path: str | Path, dim: int | None = None) -> np.ndarray:
    """One video's features, float32 ``[T, C, D]``, from a file in any layout of
    :mod:`cbmil.data.features` (a per-crop file brings its sibling crops). ``dim``: the D expected
    (the model's input); another D raises ``ValueError`` naming the file, the D found and the
    D expected."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"feature file {path} does not exist")
    return load_video(feature_source(path), dim)


@torch.no_grad()
def score_video(scorer: Scorer, features: np.ndarray, rows_per_chunk: int = 8192) -> np.ndarray:
    """Scores float32 ``[T]`` of one video's snippets ``[T, C, D]``: the mean over crops of the
    crop scores (as :func:`cbmil.train.score_snippets`), dropout off."""
    features = np.asarray(features)
    if features.ndim != 3:
        raise ValueError(f"features of shape {features.shape}; expected [T, C, D]")
    t, c, d = features.shape
    if d != input_dim(scorer):
        raise ValueError(f"features of dimension D = {d}; the model reads D = {input_dim(scorer)}")
    scorer.eval()
    device = next(scorer.parameters()).device
    out = np.empty(t, dtype=np.float32)
    step = max(1, rows_per_chunk // c)
    for a in range(0, t, step):
        chunk = torch.as_tensor(np.array(features[a:a + step], dtype=np.float32), device=device)  # a copy: memmaps are read-only
        out[a:a + step] = scorer(chunk.reshape(-1, d)).reshape(-1, c).mean(dim=1).cpu().numpy()
    return out


def score_one_video(checkpoint: str | Path, model: str, features: str | Path, annotations_dir: str | Path | None = None,
                    out: str | Path = "timeline.png") -> dict:
    """Score one video's ``features`` with ``model`` of the models file ``checkpoint``, draw its
    timeline to ``out`` and return what ``cbmil score --json`` prints::

        {"video": key, "class": label, "model": name, "layout": "ten_crop", "unit": "snippet",
         "frames_per_snippet": 16, "snippet_scores": [...], "annotated": true,
         "events": [[start, end], ...], "timeline": "timeline.png"}

    ``events``: 0-based inclusive frame intervals from the test annotations (``[]`` for an
    annotated normal video), ``null`` when the video is not annotated or no annotations were
    given. A C3D ``.txt`` file has ``"unit": "segment"`` and ``"frames_per_snippet": null``.
    ``"note"``: what the timeline could not show, in words ("" when nothing).
    """
    import matplotlib.pyplot as plt

    from cbmil.interop.groundtruth import read_annotations

    scorer = load_model(checkpoint, model)
    if not Path(features).is_file():
        raise FileNotFoundError(f"feature file {features} does not exist")
    source = feature_source(features)
    scores = score_video(scorer, load_video(source, input_dim(scorer)))
    key, unit = source.key, "segment" if source.layout == "c3d" else "snippet"
    try:
        label = class_of_key(key)
    except ValueError:
        label = "class unknown"
    events, note = None, ""
    if annotations_dir:
        record = read_annotations(annotations_dir).get(key)
        if record is None:
            note = f"{key} is not in the test annotations: no events to show"
        else:
            events = [[int(s), int(e)] for s, e in record.intervals]
            if not events:
                note = f"annotated {label.lower()} video: no anomalous event"
            elif unit == "segment":
                note = ("events not shaded: a C3D file does not record the video's frame count; "
                        f"annotated frames {', '.join(f'{s}-{e}' for s, e in events)}")
    else:
        note = "no --annotations-dir given: events not shown"
    title = f"{key} ({label}) — model {model}"
    if unit == "segment":
        title += f"\nunits: {len(scores)} C3D segments, not frames"
    if unit == "snippet":
        labels = frame_ground_truth(events or [], FRAMES_PER_SNIPPET * len(scores))
        fig = score_timeline(scores, labels, title, [f"anomaly score (each snippet on its {FRAMES_PER_SNIPPET} frames)"],
                             unit=FRAMES_PER_SNIPPET, note=note)
    else:
        fig = score_timeline(scores, None, title, ["anomaly score"], xlabel=f"segment (C3D: the video cut into "
                             f"{len(scores)} equal parts)", note=note)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=150, bbox_inches="tight")
    plt.close(fig)
    return {"video": key, "class": label, "model": model, "layout": source.layout,
            "unit": unit, "frames_per_snippet": FRAMES_PER_SNIPPET if unit == "snippet" else None,
            "snippet_scores": [float(s) for s in scores], "annotated": events is not None,
            "events": events, "timeline": str(out), "note": note}


__all__ = ["save_models", "read_models", "load_model", "input_dim", "feature_source", "read_video_features",
           "score_video", "score_one_video"]
