#!/usr/bin/python3
"""Prints a Markdown table of simulate.landuse's hold-out assessments (assessment.csv of each folder given as
LABEL=FOLDER): the model's mean (and range over its runs) beside the null model and the random allocation."""
import csv
import statistics
import sys


def load(folder):
    rows = list(csv.DictReader(open(folder + "/assessment.csv", encoding="utf-8-sig")))
    by = {}
    for row in rows:
        by.setdefault(row["model"], []).append(row)
    return by


def figure(rows, key, digits=3):
    values = [float(r[key]) for r in rows if r[key] != ""]
    mean = statistics.mean(values)
    if len(values) > 1 and max(values) > min(values):
        return f"{mean:.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"
    return f"{mean:.{digits}f}"


print("| pair, predicted half | cells | observed change | simulated change | model | kappa | figure of merit | quantity dis. | allocation dis. |")
print("|---|---:|---:|---:|---|---:|---:|---:|---:|")
for argument in sys.argv[1:]:
    label, folder = argument.split("=", 1)
    by = load(folder)
    model = by["simulate.landuse"]
    for name, rows in [("simulate.landuse", model), ("null (no change)", by["null (no change)"]), ("random allocation", by["random allocation"])]:
        print(f"| {label} | {model[0]['cells']} | {model[0]['observed_change']} | {rows[0]['simulated_change']} | {name} "
              f"(n={len(rows)}) | {figure(rows, 'kappa')} | {figure(rows, 'figure_of_merit')} | {figure(rows, 'quantity_disagreement')} | "
              f"{figure(rows, 'allocation_disagreement')} |")
    m = statistics.mean(float(r["figure_of_merit"]) for r in model)
    r = statistics.mean(float(x["figure_of_merit"]) for x in by["random allocation"])
    km = statistics.mean(float(x["kappa"]) for x in model)
    kn = float(by["null (no change)"][0]["kappa"])
    wins = sum(1 for a, b in zip(model, by["random allocation"]) if float(a["figure_of_merit"]) > float(b["figure_of_merit"]))
    print(f"|  |  |  |  | **FoM model − random {m - r:+.3f}; model above random in {wins}/{len(model)} paired runs; kappa model − null {km - kn:+.3f}** |  |  |  |  |", flush=True)
