"""The ``sangkien`` command line: offline work (data, embedder, training, evaluation, audit).

Errors from the core library are turned into a one-line message and exit code 2 here, at the
boundary; nothing below prints or exits.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from model.errors import SangkienError

ROOT = Path(__file__).resolve().parent.parent


def _print_json(obj: object) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2))


def cmd_build_data(args: argparse.Namespace) -> int:
    from training.dataset import build

    _print_json(build(Path(args.data), seed=args.seed))
    return 0


def cmd_validate_data(args: argparse.Namespace) -> int:
    from training.dataset import check_readings, load_all, load_pairs, load_readings, load_splits

    taxonomy, records = load_all(Path(args.data))
    readings = load_readings(Path(args.data))
    check_readings(records, readings, taxonomy.codes)
    splits = load_splits(Path(args.data))
    missing = [r.id for r in records if r.id not in splits]
    if missing:
        raise SangkienError(f"records without a split: {missing[:5]}; run `sangkien build-data`")
    print(f"ok: {len(records)} records ({len(readings)} read twice), {len(taxonomy.codes)} "
          f"fields, {len(load_pairs(Path(args.data)))} pairs")
    return 0


def cmd_build_embedder(args: argparse.Namespace) -> int:
    from training.build_embedder import build_static_model
    from training.dataset import records_by_split
    from model.normalize import normalize

    train = records_by_split(Path(args.data))["train"]
    card = build_static_model([normalize(r.text) for r in train], Path(args.out), dim=args.dim)
    _print_json(card)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from training.train import load_config, train

    overrides = {"C": args.C, "embedding_weight": args.embedding_weight}
    card = train(Path(args.out), load_config(args.config, overrides), args.feedback, Path(args.data))
    summary = {k: v for k, v in card.items() if k != "metrics"}
    summary["test"] = {k: v for k, v in card["metrics"]["test"].items()
                       if k not in ("per_field", "primary_confusion")}
    summary["cross_validated_train_dev"] = card["metrics"]["cross_validated_train_dev"]
    _print_json(summary)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from model.artifact import load_artifact
    from training.dataset import records_by_split
    from training.evaluate import evaluate_classifier

    clf, card = load_artifact(args.model)
    records = records_by_split(Path(args.data))[args.split]
    _print_json({"model_version": card["version"], "split": args.split,
                 **evaluate_classifier(clf, records)})
    return 0


def cmd_train_dedup(args: argparse.Namespace) -> int:
    from model.embed import StaticEmbedder
    from training.dedup import train_dedup

    card = train_dedup(Path(args.out), StaticEmbedder().fit(), Path(args.data))
    _print_json(card)
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from training.audit import AuditModels, StepTimer, run_audit, tqdm_progress
    from training.export_reader import TARGETS, load_column_config, read_export

    overrides = load_column_config(args.config) if args.config else {}
    overrides.update({t: v for t in TARGETS if (v := getattr(args, f"{t}_column")) is not None})
    timer = StepTimer()
    with timer.step("reading"):          # before loading models: a broken export fails at once
        export = read_export(args.export, overrides)
    with timer.step("loading models"):
        models = AuditModels.load(args.classifier, args.dedup_rule)
    result = run_audit(export, Path(args.out), models, workers=args.workers,
                       progress=tqdm_progress, timings=timer.seconds)
    _print_json({"out": str(result.out_dir), "files": [p.name for p in result.files],
                 "counts": result.summary["counts"],
                 "problems_by_kind": result.summary["problems_by_kind"],
                 "seconds": result.timings})
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sangkien", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build-data", help="derive splits, copies and duplicate pairs from data/records")
    p.add_argument("--data", default=str(ROOT / "data"))
    p.add_argument("--seed", type=int, default=13)
    p.set_defaults(func=cmd_build_data)

    p = sub.add_parser("validate-data", help="check taxonomy, records, splits and pairs")
    p.add_argument("--data", default=str(ROOT / "data"))
    p.set_defaults(func=cmd_validate_data)

    p = sub.add_parser("build-embedder", help="distil the fast static embedding model from e5")
    p.add_argument("--data", default=str(ROOT / "data"))
    p.add_argument("--out", default=str(ROOT / "model" / "assets" / "static-e5-vi"))
    p.add_argument("--dim", type=int, default=256)
    p.set_defaults(func=cmd_build_embedder)

    p = sub.add_parser("train", help="train the field classifier into a versioned artifact folder")
    p.add_argument("--data", default=str(ROOT / "data"))
    p.add_argument("--out", default=str(ROOT / "artifacts" / "classifier"))
    p.add_argument("--config", help="TOML file with a [classifier] table of parameters")
    p.add_argument("--feedback", help="JSONL of reviewer corrections exported by the service")
    p.add_argument("--C", type=float, help="inverse regularisation of the logistic regressions")
    p.add_argument("--embedding-weight", type=float, help="weight of the embedding features (0: off)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="per-field and overall metrics of a trained classifier")
    p.add_argument("--model", default=str(ROOT / "artifacts" / "classifier"))
    p.add_argument("--data", default=str(ROOT / "data"))
    p.add_argument("--split", choices=("train", "dev", "test"), default="test")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("train-dedup", help="fit the duplicate decision rule on the labelled pairs")
    p.add_argument("--data", default=str(ROOT / "data"))
    p.add_argument("--out", default=str(ROOT / "artifacts" / "dedup"))
    p.set_defaults(func=cmd_train_dedup)

    p = sub.add_parser("audit", help="audit a portal export: duplicate groups, fields, row problems")
    p.add_argument("export", help="the export file: .csv/.tsv/.txt, .xlsx or .jsonl")
    p.add_argument("--out", required=True, help="folder for report.html, summary.json, groups.csv, rows.csv")
    p.add_argument("--config", help="TOML/JSON column mapping (text = \"Nội dung\"), kept beside the export")
    for target in ("id", "title", "text", "unit", "author", "field", "date"):
        p.add_argument(f"--{target}-column", help=f"exact header of the {target} column (overrides --config)")
    p.add_argument("--classifier", default=str(ROOT / "artifacts" / "classifier"))
    p.add_argument("--dedup-rule", default=str(ROOT / "artifacts" / "dedup" / "rule.json"))
    p.add_argument("--workers", type=int, default=2, help="processes for normalising and classifying")
    p.set_defaults(func=cmd_audit)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (SangkienError, FileNotFoundError) as exc:
        print(f"sangkien {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
