"""What the demo shows once the plan is done: accuracy by round as a table and as a PNG plot."""

import dataclasses
from pathlib import Path

from examples.fedavg import workflow


@dataclasses.dataclass(frozen=True)
class RoundResult:
    round: int
    per_org: dict[str, float]  # data organization -> accuracy of the shared model on its test data
    federated: float  # the same model on the pooled test data
    centralized: float  # the centralized baseline trained for as many epochs


def round_results(files, assets, scores: dict[tuple[str, int], float], rounds: int) -> list[RoundResult]:
    return [
        RoundResult(
            round=r,
            per_org={org: scores[(org, r)] for org in assets.data_orgs},
            federated=workflow.pooled_accuracy(files, assets, scores, r),
            centralized=workflow.centralized_baseline(files, rounds=r),
        )
        for r in range(1, rounds + 1)
    ]


def percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def format_table(results: list[RoundResult]) -> str:
    orgs = list(results[0].per_org)
    header = ["round", *orgs, "federated", "centralized"]
    rows = [
        [str(result.round), *(percent(result.per_org[org]) for org in orgs), percent(result.federated),
         percent(result.centralized)]
        for result in results
    ]  # fmt: skip
    widths = [max(len(line[i]) for line in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)) for line in [header, *rows]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def save_plot(results: list[RoundResult], path: Path) -> Path:
    """Accuracy by round: each data organization, the pooled federated accuracy and the baseline."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display is needed, or wanted
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    rounds = [result.round for result in results]
    figure, axes = plt.subplots(figsize=(8, 5), dpi=120)
    for org in results[0].per_org:
        axes.plot(rounds, [r.per_org[org] for r in results], marker="o", markersize=4, linewidth=1, alpha=0.7,
                  label=f"{org} (its own test data)")  # fmt: skip
    axes.plot(rounds, [r.federated for r in results], marker="o", linewidth=2.5, color="tab:red",
              label="federated (pooled test data)")  # fmt: skip
    axes.plot(rounds, [r.centralized for r in results], linestyle="--", linewidth=2, color="black",
              label="centralized baseline (pooled train data)")  # fmt: skip
    values = [value for r in results for value in (*r.per_org.values(), r.federated, r.centralized)]
    axes.set_ylim(max(0.0, min(values) - 0.01), min(1.0, max(values) + 0.01) + 0.005)
    axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("round")
    axes.set_ylabel("accuracy on test data")
    axes.set_title(f"FedAvg on breast cancer data held by {len(results[0].per_org)} organizations: accuracy by round")
    axes.grid(alpha=0.3)
    # Below the axes: inside, it would hide some curve sooner or later.
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path
