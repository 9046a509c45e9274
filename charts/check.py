"""make charts-check: render both charts as Helm does, then validate every manifest against the
Kubernetes API schemas, offline.

    .venv/bin/python charts/check.py [--kube-version 1.30.0] [--show NAME]

No `helm` binary can be installed from the package registries this project uses (PyPI, Debian,
npm), so the charts are rendered by Helm itself as a library: helm-python-sdk embeds Helm's Go SDK
(`libhelm_c`), the same template engine, value coalescing and `required`/`fail` handling as
`helm template`. kubernetes-validate carries the Kubernetes JSON schemas, so nothing is fetched.

Each case renders one chart with its default values or with one values file of
charts/examples/ (as `helm install -f FILE` would), and a few `--set`s of its own (the backend
with its optional web frontend on, beside the examples with it off), and:
  - `helm lint --strict` must find no error;
  - every rendered document must validate, strictly (no unknown field), against the schemas of
    the oldest Kubernetes version the charts support (--kube-version);
  - a kind the schemas do not know is an error.
"""

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

CHARTS = Path(__file__).resolve().parent
KUBE_VERSION = "1.30.0"


@dataclass(frozen=True)
class Case:
    chart: str
    values_file: str = ""  # relative to charts/; empty: the chart's defaults
    release: str = ""
    sets: tuple[str, ...] = ()  # over the values, as `helm install --set KEY=VALUE` would

    @property
    def name(self) -> str:
        return " ".join([f"{self.chart} with {self.values_file or 'default values'}", *self.sets])

    def values(self) -> dict:
        values = (yaml.safe_load((CHARTS / self.values_file).read_text()) or {}) if self.values_file else {}
        for assignment in self.sets:
            key, _, value = assignment.partition("=")
            *parents, leaf = key.split(".")
            node = values
            for parent in parents:
                node = node.setdefault(parent, {})
            node[leaf] = yaml.safe_load(value)
        return values


CASES = [
    Case("orchestrator", release="orchestrator"),
    Case("backend", release="org"),
    Case("orchestrator", "examples/two-orgs/orchestrator.yaml", "orchestrator"),
    Case("backend", "examples/two-orgs/org1.yaml", "org1"),
    Case("backend", "examples/two-orgs/org2.yaml", "org2"),
    # The web frontend at `/` of the Ingress, the API under /api (the examples have it off).
    Case("backend", "examples/two-orgs/org1.yaml", "org1", ("frontend.enabled=true",)),
    Case("backend", release="org", sets=("frontend.enabled=true", "urlPrefix=/substra/api/")),
]


def render(chart: str, values: dict | None = None, release: str = "release", namespace: str = "default") -> list[dict]:
    """The chart's manifests as `helm template` makes them (an install), one dict per document,
    each with its template's path under the key `__template__`."""
    import helm_python as helm

    with helm.Chart.load(CHARTS / chart) as loaded:
        rendered = loaded.render(values or {}, name=release, namespace=namespace, is_install=True)
    documents = []
    for template, text in sorted(rendered.items()):
        if not template.endswith((".yaml", ".yml")):
            continue  # NOTES.txt
        for document in yaml.safe_load_all(text):
            if document:
                documents.append({**document, "__template__": template})
    return documents


def lint(chart: str, values: dict | None, kube_version: str) -> list[str]:
    import helm_python as helm

    report = helm.lint(CHARTS / chart, values or None, strict=True, kube_version=f"v{kube_version}")
    errors = list(report.get("errors") or [])
    # Severity 3 is an error; 2 (a warning) fails --strict too. 1 is information ("icon is recommended").
    errors += [f"{m['path']}: {m['error']}" for m in report.get("messages") or [] if m.get("severity", 0) >= 2]
    return errors


def validate(documents: list[dict], kube_version: str) -> list[str]:
    import kubernetes_validate

    errors = []
    for document in documents:
        manifest = {key: value for key, value in document.items() if key != "__template__"}
        where = f"{document['__template__']}: {manifest.get('kind')}/{manifest.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(manifest, kube_version, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(item) for item in error.path)
            errors.append(f"{where}: {path}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            errors.append(f"{where}: {error.message}")
    return errors


def check(case: Case, kube_version: str) -> tuple[int, list[str]]:
    values = case.values()
    errors = lint(case.chart, values, kube_version)
    try:
        documents = render(case.chart, values, case.release)
    except Exception as error:  # a template that fails (`required`, `fail`) is the finding
        return 0, [*errors, f"render: {error}"]
    return len(documents), errors + validate(documents, kube_version)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kube-version", default=KUBE_VERSION)
    parser.add_argument("--show", metavar="CASE", help="print the rendered manifests of the cases whose name has CASE")
    args = parser.parse_args(argv)
    if args.show:
        for case in CASES:
            if args.show in case.name:
                for document in render(case.chart, case.values(), case.release):
                    template = document.pop("__template__")
                    print(f"---\n# {case.name}: {template}\n{yaml.safe_dump(document, sort_keys=False)}", end="")
        return 0
    failed = 0
    for case in CASES:
        started = time.monotonic()
        count, errors = check(case, args.kube_version)
        seconds = time.monotonic() - started
        outcome = "FAIL" if errors else "ok  "
        print(f"{outcome} {case.name}: {count} manifests, Kubernetes {args.kube_version} ({seconds:.1f} s)")
        for error in errors:
            print(f"     {error}")
        failed += bool(errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
