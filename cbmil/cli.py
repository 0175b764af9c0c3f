"""Command line: ``python -m cbmil data summary|prepare|audit|export-gt``, ``reproduce``, ``tables``,
``imbalance``, ``strength``, ``plan-seeds``, ``evaluate`` and ``score``; a thin parser that hands each
command to the module that owns it."""

from __future__ import annotations

import argparse
import json
import sys

from cbmil.data import dataset as ds
from cbmil.study.paper import BETAS
from cbmil.data.frames import PROTOCOLS
from cbmil.data.sources import load_source
from cbmil.losses import TOPK


def _summary(args) -> int:
    extra = {"benchmark": "xd_violence"} if args.source == "synthetic" and args.dataset == "xd" else {}
    data = load_source(args.source, args.preset, args.seed, **extra)
    summary = data.summary()
    if args.json:
        print(json.dumps(summary))
        return 0
    label = "synthetic (" + args.preset + " preset)" if args.source == "synthetic" else args.source
    print(f"source: {label}" + (", XD-Violence" if data.meta.get("benchmark") == "xd_violence" else ""))
    multi = "train_counts_any" in summary  # a multi-label benchmark: counts by first and by any label
    print(f"{'class':<15}{'train':>7}{'test':>7}" + (f"{'train any':>11}{'test any':>10}" if multi else ""))
    for name in summary["train_counts"]:
        print(f"{name:<15}{summary['train_counts'][name]:>7}{summary['test_counts'][name]:>7}" + (
            f"{summary['train_counts_any'][name]:>11}{summary['test_counts_any'][name]:>10}" if multi else ""))
    total_train, total_test = sum(summary["train_counts"].values()), sum(summary["test_counts"].values())
    print(f"{'total':<15}{total_train:>7}{total_test:>7}")
    if multi:
        print(f"multi-label videos: train {summary['multi_label_videos']['train']}, "
              f"test {summary['multi_label_videos']['test']} (counted once per class under 'any')")
    share = summary["test_anomalous_frames"] / max(summary["test_frames"], 1)
    print(f"test frames: {summary['test_frames']:,}, anomalous: {summary['test_anomalous_frames']:,} ({share:.1%})")
    return 0


def _options(args, command: str, need=(), refuse=()) -> None:
    """``ValueError`` naming the options of ``command`` that ``args`` lacks (``need``) or that do not
    apply to its ``--dataset`` (``refuse``): the ones required for one benchmark only."""
    def given(option):
        return getattr(args, option.lstrip("-").replace("-", "_")) is not None
    extra = [o for o in refuse if given(o)]
    if extra:
        raise ValueError(f"{command} --dataset {args.dataset} takes no {', '.join(extra)}")
    missing = [o for o in need if not given(o)]
    if missing:
        raise ValueError(f"{command} --dataset {args.dataset} needs {', '.join(missing)}")


def _prepare(args) -> int:
    if args.dataset == "xd":
        from cbmil.data.prepare_xd import prepare_xd
        _options(args, "data prepare", need=["--features-dir"], refuse=["--train-dir", "--test-dir", "--frame-counts"])
        out = prepare_xd(args.train_list, args.test_list, args.features_dir, args.out, annotations=args.annotations_dir,
                         crop_mean=args.crop_mean, progress=not args.quiet)
    else:
        from cbmil.data.prepare import prepare
        _options(args, "data prepare", need=["--train-dir", "--test-dir", "--annotations-dir"],
                 refuse=["--features-dir", "--train-list", "--test-list"])
        out = prepare(args.train_dir, args.test_dir, args.annotations_dir, args.out,
                      crop_mean=args.crop_mean, frame_counts=args.frame_counts, progress=not args.quiet)
    data = ds.load(out)
    print(f"cache written to {out}: train bags {tuple(data.train_bags.shape)}, "
          f"test snippets {tuple(data.test_snippets.shape)}")
    return 0


def _audit(args) -> int:
    """0 when the ground truth is consistent, 1 with findings (2 on unreadable input, in :func:`main`)."""
    if args.dataset == "xd":  # the annotations default to the shipped annotations.txt
        from cbmil.interop import xd_groundtruth as gt
        _options(args, "data audit", need=["--list"])
        report = gt.audit_xd_file(args.gt, args.list, args.annotations_dir, args.features, args.snippets,
                                  args.frame_counts)
        text = gt.format_xd_report(report, str(args.gt), str(args.list))
    else:
        from cbmil.interop import groundtruth as gt
        _options(args, "data audit", need=["--list", "--annotations-dir"], refuse=["--frame-counts"])
        report = gt.audit_file(args.gt, args.list, args.annotations_dir, args.features, args.snippets)
        text = gt.format_report(report, str(args.gt), str(args.list))
    print(json.dumps({"gt": str(args.gt), "list": str(args.list)} | report) if args.json else text)
    return 0 if report["consistent"] else 1


def _export_gt(args) -> int:
    if args.dataset == "xd":
        from cbmil.interop.xd_groundtruth import BUILDERS, export_xd_gt
        _options(args, "data export-gt", need=["--list"])
        convention = args.convention or ("decoded" if args.frame_counts else "snippets")
        layout = export_xd_gt(args.list, args.out, args.annotations_dir, args.features, args.snippets,
                              convention, args.frame_counts, args.dtype)
        how = f"; convention '{convention}', as {BUILDERS[convention].split(':')[0]}"
    else:
        from cbmil.interop.groundtruth import export_gt
        _options(args, "data export-gt", need=["--list", "--annotations-dir"], refuse=["--convention", "--frame-counts"])
        layout = export_gt(args.list, args.annotations_dir, args.out, args.features, args.snippets, args.dtype)
        how = ""
    labels = layout.frame_labels
    print(f"wrote {args.out}: {len(labels):,} frames ({args.dtype}) of {len(layout.keys)} videos, "
          f"{int(labels.sum()):,} anomalous ({labels.mean() if len(labels) else 0:.1%}){how}")
    return 0


def _settings(args, progress: bool):
    """The :class:`cbmil.train.RunSettings` of the arithmetic options."""
    from cbmil.train import RunSettings
    return RunSettings(device=args.device, precision=args.precision, fused=args.fused, cuda_graph=args.cuda_graph,
                       progress=progress, eval_every=getattr(args, "eval_every", 0),
                       protocol=getattr(args, "protocol", "snippet"))


def _reproduce(args) -> int:
    from cbmil.study.reproduction import localisation_markdown, reproduce
    study = reproduce(args.data, preset=args.preset, betas=args.betas, seeds=args.seeds, iterations=args.iterations,
                      out=args.out, figures=args.figures, data_seed=args.data_seed, one_world=args.one_world,
                      balanced=args.balanced, config=args.config, optimizer=args.optimizer, pairing=args.pairing,
                      sparsity=args.sparsity, normalize="none" if args.raw_weights else args.normalize,
                      crop=args.crop, batch_size=args.batch_size, loss=args.loss, topk=args.topk,
                      settings=_settings(args, not args.quiet),
                      save_scores=args.save_scores, save_checkpoints=args.save_checkpoints,
                      keep_memory=not args.release_memory, balance=args.balance, dataset=args.dataset,
                      multi_label_weight=args.multi_label_weight)
    trainer = study.trainers[0]  # "sampler": MIL's, then one per beta, all alike but for the draw
    if study.benchmark == "ucf_crime":
        print(study.table2_markdown())
        print(localisation_markdown(study.table1(), study.label))
    else:  # XD-Violence's tables, with AP
        from cbmil.study import xd
        print(xd.table2_markdown(xd.table2(study), study.label))
        print(xd.table1_markdown(xd.table1(study), [v.beta for v in study.variants[1:]], study.label))
    print(f"wrote {', '.join(str(p) for p in study.paths.values())}")
    runs = f" in {len(study.trainers)} runs" if len(study.trainers) > 1 else ""
    print(f"{len(study.model_names)} models x {trainer.config.iterations} steps{runs} on {trainer.device} "
          f"(layer 1 in {trainer.settings.precision}, {study.design}): data {study.data_seconds:.0f} s, "
          f"training {study.train_seconds:.0f} s, total {study.seconds:.0f} s")
    return 0


def _tables(args) -> int:
    from cbmil.study.reproduction import rebuild_tables
    study = rebuild_tables(args.runs, args.out, args.figures)
    print(study.table2_markdown())
    print(f"wrote {', '.join(str(p) for p in study.paths.values())}")
    return 0


def _imbalance(args) -> int:
    from cbmil.study.imbalance import imbalance_dial
    # out None: each dataset's own folder (imbalance.DEFAULT_OUT), so XD-Violence never overwrites UCF-Crime's grid
    result = imbalance_dial(preset=args.preset, levels=args.levels, overlaps=args.overlaps, betas=args.betas,
                            worlds=args.worlds, iterations=args.iterations, out=args.out, figures=args.figures,
                            settings=_settings(args, progress=False), keep_memory=not args.release_memory,
                            replot=args.replot, quiet=args.quiet, losses=args.losses, balance=args.balance,
                            dataset=args.dataset)
    print(result.summary())
    print(f"wrote {', '.join(str(p) for p in result.paths.values())}")
    return 0


def _schedule(args) -> int:
    from cbmil.study.imbalance import schedule_report
    table, text, paths = schedule_report(args.short, args.long, args.out)
    print(text)
    print(f"\n{int(table['survives'].sum())} of {len(table)} verdicts (raw 95 % interval: above 0, below 0 or "
          "containing 0) are the same at both schedules")
    if paths:
        print(f"wrote {', '.join(str(p) for p in paths)}")
    return 0


def _strength(args) -> int:
    import time
    from cbmil.study.strength import strength_study
    start = time.perf_counter()
    result = strength_study(preset=args.preset, contexts=args.contexts, uncapped=not args.no_uncapped,
                            worlds=args.worlds, iterations=args.iterations, out=args.out, figures=args.figures,
                            settings=_settings(args, progress=False), keep_memory=not args.release_memory,
                            replot=args.replot)
    print(result.summary())
    print(f"{'read' if args.replot else 'wrote'} {', '.join(str(p) for p in result.paths.values())} "
          f"in {time.perf_counter() - start:.0f} s")
    return 0


def _plan_seeds(args) -> int:
    from cbmil.study.planning import plan_from_runs
    from cbmil.eval.stats import seeds_needed
    if args.runs:
        rows = plan_from_runs(args.runs, args.delta, args.alpha, args.power)
        if args.json:
            print(json.dumps(rows))
            return 0
        print(f"seeds needed to detect {args.delta:g} pp (paired two-sided t-test, alpha {args.alpha:g}, "
              f"power {args.power:g}) at the SD of the per-seed differences to MIL in {args.runs}:")
        print(f"{'method':<16}{'metric':<22}{'seeds run':>10}{'SD (pp)':>10}{'seeds needed':>14}")
        for r in rows:
            needed = r["seeds_needed"] if r["seeds_needed"] is not None else "n/a"
            print(f"{r['method']:<16}{r['metric']:<22}{r['seeds_run']:>10}{r['sd_pp']:>10.3f}{needed:>14}")
        return 0
    if args.sd is None:
        raise ValueError("plan-seeds needs --sd (or --runs runs.json to take it from a study)")
    plan = seeds_needed(args.sd, args.delta, args.alpha, args.power)
    if args.json:
        print(json.dumps(plan))
    elif plan["seeds"] is None:
        print(f"no number of seeds up to 100,000 reaches power {args.power:g} for delta {args.delta:g}")
    else:
        print(f"{plan['seeds']} paired seeds detect a mean difference of {args.delta:g} at SD {args.sd:g} "
              f"(two-sided paired t-test, alpha {args.alpha:g}) with power {plan['power']:.3f}")
    return 0


def _evaluate(args) -> int:
    import math
    from cbmil.eval.protocols import evaluate_saved, moves_table
    results = evaluate_saved(args.scores or [], args.frame_scores, args.list, args.annotations_dir, args.features,
                             args.snippets, args.name, args.threshold, dataset=args.dataset)
    if args.json:  # undefined values (e.g. a class without test videos) as null
        print(json.dumps({name: {k: (v if math.isfinite(v) else None) for k, v in m.items()}
                          for name, m in results.items()}))
    else:
        print(moves_table(results))
    return 0


def _score(args) -> int:
    from cbmil.interop.score import score_one_video
    result = score_one_video(args.checkpoint, args.model, args.features, args.annotations_dir, args.out)
    result.pop("note")  # written in the figure
    if args.json:
        print(json.dumps(result))
        return 0
    scores, unit = result["snippet_scores"], result["unit"]
    peak = max(range(len(scores)), key=scores.__getitem__)
    events = result["events"]
    print(f"{result['video']} ({result['class']}), model {args.model}: {len(scores)} {unit}s, max score "
          f"{scores[peak]:.3f} at {unit} {peak}; events: {events if events is not None else 'not annotated'}")
    print(f"timeline written to {result['timeline']}")
    return 0


def add_reproduce_arguments(parser) -> None:
    parser.add_argument("--data", default="synthetic", help="'synthetic' or a cache folder from `data prepare`")
    parser.add_argument("--dataset", default="ucf", choices=["ucf", "xd"],
                        help="benchmark: UCF-Crime (default; tables with AUC, as the paper's) or XD-Violence "
                             "(its synthetic world or a cache from `data prepare --dataset xd`; tables with AP)")
    parser.add_argument("--multi-label-weight", default="mean", choices=["mean", "max"],
                        help="class weight of a bag of several classes (XD-Violence): the mean of its classes' "
                             "weights (default) or the largest")
    parser.add_argument("--preset", default="ci", choices=["ci", "full"],
                        help="synthetic data preset and default seeds/iterations (ci: 2 seeds x 300; full: 5 x 250, the main job)")
    parser.add_argument("--betas", type=float, nargs="+", default=list(BETAS),
                        help="betas of CB-MIL (or, with --balance sampler, of the class-balanced draw)")
    parser.add_argument("--seeds", type=int, help="number of seeds (0..N-1)")
    parser.add_argument("--iterations", type=int, help="training steps per model")
    parser.add_argument("--out", default="results", help="folder for tables and runs.json")
    parser.add_argument("--figures", help="folder for figures (default: the --out folder; 'none' to skip)")
    parser.add_argument("--data-seed", type=int, default=0,
                        help="synthetic: seed i trains on the world of data seed DATA_SEED + i (default 0)")
    parser.add_argument("--one-world", action="store_true",
                        help="synthetic: every seed trains on the one world of --data-seed (seeds vary training only)")
    parser.add_argument("--eval-every", type=int, default=0, metavar="K",
                        help="also evaluate on the test set every K steps (training unchanged) and write "
                             "selection_bias.csv: final vs best-seen AUC per model (default 0: never)")
    parser.add_argument("--save-scores", action="store_true",
                        help="also write scores.npz (scores_world<k>.npz per world): test scores, labels, layout")
    parser.add_argument("--save-checkpoints", action="store_true",
                        help="also write models.pt: every trained model, for `cbmil score`")
    parser.add_argument("--balanced", action="store_true", help="synthetic only: class-balanced training split")
    parser.add_argument("--config", default="paper", choices=["paper", "sultani"],
                        help="training configuration: the paper's (default) or Sultani's public script "
                             "(Adagrad lr 0.01 eps 1e-8, kernel-only L2 0.001, linear 32-unit layer); "
                             "steps stay --iterations (his script: 20,000)")
    parser.add_argument("--optimizer", default="adagrad", choices=["adagrad", "adam", "sgd"])
    parser.add_argument("--pairing", default="paired", choices=["paired", "all"])
    parser.add_argument("--sparsity", default="linear", choices=["linear", "squared"])
    parser.add_argument("--normalize", default="classes", choices=["classes", "bags", "none"],
                        help="class weights: 'classes' (Cui et al., sum = 13; default), 'bags' (mean over the "
                             "training bags = 1) or 'none' (raw eq. (2))")
    parser.add_argument("--raw-weights", action="store_true", help="the same as --normalize none")
    parser.add_argument("--crop", default="random", choices=["random", "mean"])
    parser.add_argument("--batch-size", type=int, default=30, help="abnormal (and normal) bags per step")
    parser.add_argument("--loss", default="ranking", choices=["ranking", "topk"],
                        help="MIL loss: 'ranking' (Sultani's hinge on the bags' max scores, the paper's; default) "
                             "or 'topk' (mean of each bag's K top scores + binary cross-entropy, as RTFM); "
                             "CB-MIL weights the abnormal bags' terms of either")
    parser.add_argument("--topk", type=int, default=TOPK, metavar="K",
                        help=f"segments pooled per bag by --loss topk, 1..32 (default {TOPK}, RTFM's 3 of 32)")
    parser.add_argument("--balance", default="weights", choices=["weights", "sampler", "none"],
                        help="how the rows after MIL balance the anomaly classes: 'weights' (CB-MIL's class weights "
                             "at each beta, the paper's study; default), 'sampler' (MIL's unweighted loss on batches "
                             "whose abnormal bags are drawn class-balanced at each beta: 'CB-sampler beta', paired "
                             "with MIL by seed) or 'none' (MIL only)")
    parser.add_argument("--protocol", default="snippet", choices=PROTOCOLS)
    add_arithmetic_arguments(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=_reproduce)


def add_arithmetic_arguments(parser) -> None:
    """Where and how the models train: device, layer 1's precision, autograd or the fused pass, memory,
    CUDA graph."""
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"],
                        help="arithmetic of layer 1; auto = bf16 where the CPU/GPU has bf16 matrix units")
    parser.add_argument("--fused", action="store_true",
                        help="train with the fused training pass (cbmil.accel.fused: backward written out) instead of "
                             "autograd through the scorer module (the reference; same scores up to float rounding)")
    parser.add_argument("--release-memory", action="store_true",
                        help="leave the C library's memory defaults: large blocks freed to the system every step "
                             "(slower for many models on a CPU; by default freed memory is kept for reuse, "
                             "cbmil.accel.memory)")
    parser.add_argument("--cuda-graph", action="store_true",
                        help="CUDA only: record each training step once as a CUDA graph and replay it "
                             "(cbmil.accel.cudagraph; removes the kernel-launch overhead of small steps)")
    parser.add_argument("--device", default="auto")


def add_grid_arguments(parser, per: str, iterations: int, out: str, figures: str) -> None:
    """What the synthetic grid studies (imbalance, strength) share: preset, worlds, steps, output,
    arithmetic."""
    parser.add_argument("--preset", default="ci", choices=["ci", "full"], help="synthetic preset (default: ci)")
    parser.add_argument("--worlds", type=int, default=4, help=f"worlds (= seeds) per {per}")
    parser.add_argument("--iterations", type=int, default=iterations, help="training steps per model")
    parser.add_argument("--out", default=out, help="folder for the CSVs")
    parser.add_argument("--figures", help=f"folder for {figures} (default: the --out folder; 'none' to skip)")
    add_arithmetic_arguments(parser)


def add_imbalance_arguments(parser) -> None:
    # --out: None = results/imbalance, or results/xd_violence/imbalance with --dataset xd (imbalance.DEFAULT_OUT)
    add_grid_arguments(parser, "cell", 250, None, "the heat maps")
    parser.add_argument("--dataset", choices=["ucf", "xd"], default=None,
                        help="benchmark whose synthetic world the dial runs on: ucf (UCF-Crime, per-class AUC; the "
                             "default) or xd (XD-Violence, per-class AP; default --out results/xd_violence/imbalance); "
                             "with --replot: the run's own")
    parser.add_argument("--levels", nargs="+", default=None,
                        help="imbalance of the training split: uniform, ucf (UCF-Crime's counts; with --dataset xd: "
                             "xd, XD-Violence's), extreme (max/min ~50) or exponents of those counts "
                             "(default: all three named levels)")
    parser.add_argument("--overlaps", type=float, nargs="+", default=[0.0, 0.5, 0.9],
                        help="overlap of the class signatures (0 = class-specific evidence)")
    parser.add_argument("--betas", type=float, nargs="+", default=[0.9999],
                        help="betas of the class-balanced remedies (CB-MIL's weights, the sampler's draw)")
    parser.add_argument("--losses", nargs="+", choices=["ranking", "topk"], default=["ranking"],
                        help="MIL losses, each compared with itself balanced (default: ranking, the paper's hinge; "
                             "topk: BCE on each bag's top-3 mean)")
    parser.add_argument("--balance", nargs="+", choices=["weights", "sampler"], default=["weights"],
                        help="remedies for the imbalance, each vs the plain loss: weights (CB-MIL's class weights, "
                             "default) and/or sampler (class-balanced re-sampling, unit weights)")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--replot", action="store_true",
                        help="no training: redo the statistics, CSV of cells and figures from OUT/imbalance.csv "
                             "(levels, overlaps, betas, losses and remedies: the run's own)")


def add_strength_arguments(parser) -> None:
    add_grid_arguments(parser, "setting", 1000, "results/strength", "the figure")
    parser.add_argument("--contexts", type=float, nargs="+", default=[1.2, 0.0], help="values of the context parameter")
    parser.add_argument("--no-uncapped", action="store_true", help="skip the uncapped (v1) runs of each context")
    parser.add_argument("--replot", action="store_true",
                        help="no training: the figure and summary again from OUT/strength.csv (pass the run's "
                             "--preset and --iterations: they name the run in the figure)")


def add_dataset_argument(parser) -> None:
    """``--dataset ucf|xd`` of ``data prepare``, ``audit``, ``export-gt`` and ``evaluate``."""
    parser.add_argument("--dataset", default="ucf", choices=["ucf", "xd"],
                        help="benchmark of the files: UCF-Crime (default) or XD-Violence")


def add_list_arguments(parser, required: bool = True) -> None:
    """A public test .list, the annotations, and where the snippet counts come from (audit,
    export-gt; evaluate --frame-scores, which checks them itself)."""
    parser.add_argument("--list", required=required, help="public .list file: one test feature path per line")
    parser.add_argument("--annotations-dir", required=required,
                        help="folder with Temporal_Anomaly_Annotation_for_Testing_Videos.txt")
    counts = parser.add_mutually_exclusive_group(required=required)
    counts.add_argument("--features", help="test feature folder: snippets per video read from the file headers")
    counts.add_argument("--snippets", help="text file of 'name T' lines: snippets per video")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cbmil", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="inspect or prepare a dataset")
    data_sub = data.add_subparsers(dest="data_command", required=True)

    summary = data_sub.add_parser("summary", help="per-class video counts and test frame totals")
    summary.add_argument("--source", default="synthetic", help="'synthetic' or a cache folder (default: synthetic)")
    summary.add_argument("--preset", default="ci", choices=["ci", "full"], help="synthetic preset (default: ci)")
    summary.add_argument("--seed", type=int, default=0, help="synthetic seed (default: 0)")
    summary.add_argument("--dataset", default="ucf", choices=["ucf", "xd"],
                         help="synthetic: the UCF-Crime (default) or the XD-Violence world")
    summary.add_argument("--json", action="store_true", help="print one JSON object")
    summary.set_defaults(func=_summary)

    prep = data_sub.add_parser("prepare", help="stream feature folders into a memory-mappable cache")
    add_dataset_argument(prep)
    prep.add_argument("--train-dir", help="UCF-Crime (required): training feature folder")
    prep.add_argument("--test-dir", help="UCF-Crime (required): test feature folder")
    prep.add_argument("--annotations-dir",
                      help="UCF-Crime (required): folder with Anomaly_Train.txt and "
                           "Temporal_Anomaly_Annotation_for_Testing_Videos.txt; XD-Violence: annotations.txt or its "
                           "folder (default: the copy shipped with cbmil)")
    prep.add_argument("--features-dir", help="XD-Violence (required): folder holding every listed crop file "
                                             "Name__K.npy, searched recursively (e.g. its RGB/ and RGBTest/)")
    prep.add_argument("--train-list", help="XD-Violence: training feature list (default: the shipped rgb.list)")
    prep.add_argument("--test-list", help="XD-Violence: test feature list (default: the shipped rgb_test.list)")
    prep.add_argument("--out", required=True, help="cache folder to write")
    prep.add_argument("--crop-mean", action="store_true", help="average the crops instead of keeping them all")
    prep.add_argument("--frame-counts", help="UCF-Crime: 'path nframes ...' list of real test frame counts "
                                             "(needed for C3D)")
    prep.add_argument("--quiet", action="store_true", help="no progress bar")
    prep.set_defaults(func=_prepare)

    aud = data_sub.add_parser("audit", help="check a public frame ground truth (gt-ucf.npy, XD-Violence's gt.npy) "
                                            "against the annotations in a .list file's order")
    add_dataset_argument(aud)
    aud.add_argument("--gt", required=True, help="frame ground truth .npy: one 0/1 per frame, videos in list order")
    add_list_arguments(aud, required=False)  # --list, and --annotations-dir for UCF-Crime: checked in _audit
    aud.add_argument("--frame-counts", help="XD-Violence: 'name nframes' per line, the decoded frame counts: also "
                                            "compare under XDVioDet's make_gt.py convention")
    aud.add_argument("--json", action="store_true", help="print one JSON object")
    aud.set_defaults(func=_audit)

    exp = data_sub.add_parser("export-gt", help="write the frame ground truth of a .list file's videos, in its order")
    add_dataset_argument(exp)
    add_list_arguments(exp, required=False)  # --list, and --annotations-dir for UCF-Crime: checked in _export_gt
    exp.add_argument("--convention", choices=["snippets", "decoded"],
                     help="XD-Violence: video length of 16 * T frames (VadCLIP's make_gt_xd.py; the default) or "
                          "decoded frames less one, trimmed to whole snippets (XDVioDet's make_gt.py; the default "
                          "with --frame-counts)")
    exp.add_argument("--frame-counts", help="XD-Violence: 'name nframes' per line, the decoded frame counts "
                                            "(convention decoded)")
    exp.add_argument("--out", required=True, help=".npy file to write")
    exp.add_argument("--dtype", default="float32", choices=["float32", "float64", "uint8"],
                     help="dtype of the 0/1 labels (default float32, like the public arrays)")
    exp.set_defaults(func=_export_gt)

    rep = sub.add_parser("reproduce", help="train MIL and CB-MIL for every beta and seed, evaluate, write tables")
    add_reproduce_arguments(rep)

    imb = sub.add_parser("imbalance", help="MIL vs CB-MIL over a grid of training-split imbalance x class overlap")
    add_imbalance_arguments(imb)
    imb.set_defaults(func=_imbalance)

    st = sub.add_parser("strength", help="the generator examined: MIL's per-class AUC and localisation against "
                                         "class strength, for several values of context")
    add_strength_arguments(st)
    st.set_defaults(func=_strength)

    sch = sub.add_parser("schedule", help="the imbalance dial's changes at two schedules: which verdicts survive "
                                          "longer training (no training)")
    sch.add_argument("short", help="folder of a dial run (imbalance_cells.csv, imbalance_run.json)")
    sch.add_argument("long", help="folder of the same cells trained for more steps")
    sch.add_argument("--out", help="also write the markdown table here (and its CSV beside it)")
    sch.set_defaults(func=_schedule)

    tab = sub.add_parser("tables", help="rebuild Tables 1-2 and figures from a study's runs.json (no training)")
    tab.add_argument("runs", help="runs.json written by `cbmil reproduce`")
    tab.add_argument("--out", help="folder for the tables (default: the folder of runs.json)")
    tab.add_argument("--figures", help="folder for figures (default: the tables' folder; 'none' to skip)")
    tab.set_defaults(func=_tables)

    plan = sub.add_parser("plan-seeds", help="smallest number of paired seeds that resolves a difference")
    plan.add_argument("--sd", type=float, help="standard deviation of the per-seed differences")
    plan.add_argument("--delta", type=float, required=True, help="true mean difference to detect (same unit as SD)")
    plan.add_argument("--alpha", type=float, default=0.05, help="two-sided level (default 0.05)")
    plan.add_argument("--power", type=float, default=0.8, help="power to reach (default 0.8)")
    plan.add_argument("--runs", help="runs.json of a study: take SD (in pp) from its per-seed differences to MIL")
    plan.add_argument("--json", action="store_true", help="print JSON: {seeds, power} (a list of rows with --runs)")
    plan.set_defaults(func=_plan_seeds)

    ev = sub.add_parser("evaluate", help="saved scores under every evaluation protocol, and how far each choice "
                                         "moves the headline")
    source = ev.add_mutually_exclusive_group(required=True)
    source.add_argument("--scores", nargs="+", metavar="FILE",
                        help="scores.npz / scores_world<k>.npz written by `cbmil reproduce --save-scores`")
    source.add_argument("--frame-scores", metavar="S.npy",
                        help="another method's saved scores: one per frame (16 x snippets per video) or one per "
                             "snippet, videos in the order of --list")
    add_list_arguments(ev, required=False)
    add_dataset_argument(ev)
    ev.add_argument("--name", help="model name for --frame-scores (default: the file name)")
    ev.add_argument("--threshold", type=float, default=0.5, help="threshold of the false-alarm rate (default 0.5)")
    ev.add_argument("--json", action="store_true",
                    help="print one JSON object {model: {metric: value}} (metric names: cbmil/eval/protocols.py)")
    ev.set_defaults(func=_evaluate)

    sc = sub.add_parser("score", help="score one video's features with a saved model and draw its timeline")
    sc.add_argument("--checkpoint", required=True, metavar="FILE",
                    help="models file written by `cbmil reproduce --save-checkpoints` (models.pt)")
    sc.add_argument("--model", required=True, metavar="NAME",
                    help="model name in the file, e.g. 'CB-MIL 0.9999 / seed 0' (an unknown name lists them)")
    sc.add_argument("--features", required=True, metavar="FILE",
                    help="one video's feature file: Name_i3d.npy, Name__K.npy (its sibling crops are read), "
                         "Name.npy or a C3D Name.txt")
    sc.add_argument("--annotations-dir", help="folder with Temporal_Anomaly_Annotation_for_Testing_Videos.txt: "
                                              "shade the video's annotated events")
    sc.add_argument("--out", default="timeline.png", help="timeline figure to write (default: timeline.png)")
    sc.add_argument("--json", action="store_true",
                    help="print one JSON object to stdout: video, model, snippet_scores, events, ...")
    sc.set_defaults(func=_score)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, OSError) as exc:
        print(f"cbmil: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
