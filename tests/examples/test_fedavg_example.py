"""The FedAvg example: its opener and functions in-process, then whole plans with the substra SDK's
own local subprocess backend (each task a `python fedavg.py @args` process, as the SDK runs it)."""

import json
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest
import substra
from substra.sdk.schemas import ComputePlanTaskSpec

from examples.fedavg import fedavg
from examples.fedavg.opener import BreastCancerOpener
from examples.fedavg.workflow import (
    FedAvgAssets,
    centralized_baseline,
    fedavg_tasks,
    local_clients,
    prepare_files,
    run,
    run_local,
    split_data,
)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return prepare_files(tmp_path_factory.mktemp("fedavg-files"), data_orgs=2)


def test_the_split_is_deterministic_disjoint_and_standardized_on_the_train_rows_only():
    first, second = split_data(3), split_data(3)
    for (train, test), (train_again, test_again) in zip(first, second, strict=True):
        np.testing.assert_array_equal(train[0], train_again[0])
        np.testing.assert_array_equal(test[1], test_again[1])
    pooled_train = np.concatenate([train[0] for train, _ in first])
    pooled_test = np.concatenate([test[0] for _, test in first])
    assert len(pooled_train) + len(pooled_test) == 569
    np.testing.assert_allclose(pooled_train.mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(pooled_train.std(axis=0), 1)
    assert not np.allclose(pooled_test.mean(axis=0), 0, atol=1e-3)
    rows = {row.tobytes() for row in pooled_train}
    assert not any(row.tobytes() in rows for row in pooled_test)


def test_the_opener_concatenates_folders_and_fakes_data(files):
    opener = BreastCancerOpener()
    one = opener.get_data([str(files.train_samples[0])])
    both = opener.get_data([str(folder) for folder in files.train_samples])
    fake = opener.fake_data(7)

    assert len(both["y"]) == len(one["y"]) + len(np.load(files.train_samples[1] / "y.npy"))
    assert both["x"].shape == (len(both["y"]), 30)
    assert set(np.unique(both["y"])) == {0.0, 1.0}
    assert fake["x"].shape == (7, 30) and fake["y"].shape == (7,)


def test_each_archive_holds_a_dockerfile_whose_entrypoint_names_its_function(files):
    for name, archive in files.archives.items():
        with zipfile.ZipFile(archive) as zipped:
            assert sorted(zipped.namelist()) == ["Dockerfile", "fedavg.py"]
            dockerfile = zipped.read("Dockerfile").decode()
        assert dockerfile.startswith("FROM python:3.11-slim\n")
        assert "RUN pip install substratools==1.0.0 numpy==2.4.6\n" in dockerfile
        assert f'ENTRYPOINT ["python3", "fedavg.py", "--function-name", "{name}"]' in dockerfile
    assert prepare_files(files.root / "again").archives["train"].read_bytes() == files.archives["train"].read_bytes()


def test_a_train_pause_is_an_image_environment_that_delays_train_and_nothing_else(tmp_path, files, monkeypatch):
    paused = prepare_files(tmp_path / "paused", train_pause=0.25)
    for archive in paused.archives.values():
        with zipfile.ZipFile(archive) as zipped:
            dockerfile = zipped.read("Dockerfile").decode()
        assert dockerfile.count("ENV FEDAVG_TRAIN_PAUSE_SECONDS=0.25\n") == 1
        assert dockerfile.index("ENV ") < dockerfile.index("ENTRYPOINT")
    with zipfile.ZipFile(files.archives["train"]) as zipped:
        assert "ENV" not in zipped.read("Dockerfile").decode()

    samples = BreastCancerOpener().get_data([str(files.train_samples[0])])
    monkeypatch.setenv("FEDAVG_TRAIN_PAUSE_SECONDS", "0.25")
    started = time.monotonic()
    fedavg.train({"datasamples": samples}, {"local": str(tmp_path / "local")}, {})
    assert time.monotonic() - started >= 0.25
    assert fedavg.load_model(tmp_path / "local")["n_samples"][0] == len(samples["y"])


def test_train_aggregate_evaluate_in_process(tmp_path, files):
    opener = BreastCancerOpener()
    data = [opener.get_data([str(folder)]) for folder in files.train_samples]
    test = opener.get_data([str(folder) for folder in files.test_samples])

    locals_ = []
    for i, samples in enumerate(data):
        locals_.append(tmp_path / f"local{i}")
        fedavg.train({"datasamples": samples}, {"local": str(locals_[-1])}, {})
    fedavg.aggregate({"models": [str(path) for path in locals_]}, {"shared": str(tmp_path / "shared")}, {})
    fedavg.train({"datasamples": data[0], "shared": str(tmp_path / "shared")}, {"local": str(tmp_path / "next")}, {})
    fedavg.evaluate({"datasamples": test, "shared": str(tmp_path / "shared")}, {"performance": str(tmp_path / "p")}, {})

    assert not list(tmp_path.glob("*.np*")), "numpy must not add an extension to the output paths"
    shared = fedavg.load_model(tmp_path / "shared")
    assert shared["n_samples"][0] == sum(len(samples["y"]) for samples in data)
    assert 0.9 < json.loads((tmp_path / "p").read_text())["all"] <= 1.0


def test_the_function_runs_from_the_command_line_as_substratools_does(tmp_path, files):
    source = files.root / "functions"
    (tmp_path / "fedavg.py").write_bytes(zipfile.ZipFile(source / "train.zip").read("fedavg.py"))
    arguments = [
        "--function-name",
        "train",
        "--inputs",
        json.dumps(
            [
                {"id": "opener", "value": str(files.opener), "multiple": False},
                {"id": "datasamples", "value": str(files.train_samples[0]), "multiple": True},
            ]
        ),
        "--outputs",
        json.dumps([{"id": "local", "value": str(tmp_path / "out" / "model"), "multiple": False}]),
    ]
    (tmp_path / "out").mkdir()
    (tmp_path / "args.txt").write_text("\n".join(arguments) + "\n")
    subprocess.run([sys.executable, "fedavg.py", f"@{tmp_path / 'args.txt'}"], cwd=tmp_path, check=True)

    assert fedavg.load_model(tmp_path / "out" / "model")["coef"].shape == (30,)


def test_the_plan_has_the_tasks_and_permissions_of_fedavg():
    assets = FedAvgAssets(
        aggregator="agg",
        data_orgs=["a", "b"],
        organization_ids={"agg": "AggMSP", "a": "AMSP", "b": "BMSP"},
        datasets={"a": "da", "b": "db"},
        train_samples={"a": "ta", "b": "tb"},
        test_samples={"a": "sa", "b": "sb"},
        functions={"train": "ft", "aggregate": "fa", "evaluate": "fe"},
    )
    tasks = fedavg_tasks(assets, rounds=10)

    assert len(tasks) == 50 and all(isinstance(task, ComputePlanTaskSpec) for task in tasks)
    by_id = {task.task_id: task for task in tasks}
    second_train = [t for t in tasks if t.function_key == "ft" and t.metadata["round_idx"] == "2"]
    assert [t.worker for t in second_train] == ["AMSP", "BMSP"]
    parent = by_id[next(i.parent_task_key for i in second_train[0].inputs if i.identifier == "shared")]
    assert (parent.function_key, parent.worker, parent.metadata["round_idx"]) == ("fa", "AggMSP", "1")
    assert parent.outputs["shared"].permissions.authorized_ids == ["AggMSP", "AMSP", "BMSP"]
    assert second_train[0].outputs["local"].permissions.authorized_ids == ["AMSP", "AggMSP"]
    evaluate = [t for t in tasks if t.function_key == "fe"]
    assert all(t.outputs["performance"].permissions.public for t in evaluate)
    assert {(t.worker, t.metadata["round_idx"]) for t in evaluate} == {
        (org, str(r)) for org in ("AMSP", "BMSP") for r in range(1, 11)
    }


def test_fedavg_with_the_sdk_local_subprocess_backend_matches_the_centralized_baseline(tmp_path):
    result = run_local("subprocess", tmp_path, rounds=3)

    baseline = centralized_baseline(prepare_files(tmp_path / "files"), rounds=3)
    assert result["status"] == substra.models.ComputePlanStatus.done.value
    assert result["tasks"] == 15
    assert len(result["accuracies"]) == 6
    assert result["accuracy"] > 0.9
    assert abs(result["accuracy"] - baseline) <= 0.02


def test_one_local_client_can_stand_for_several_organizations(tmp_path):
    (client,) = local_clients("subprocess", 1, tmp_path).values()
    files = prepare_files(tmp_path / "files")

    result = run({"agg": client, "a": client, "b": client}, ["a", "b"], "agg", files, rounds=1)

    assert result["tasks"] == 5
    assert set(result["accuracies"]) == {("a", 1), ("b", 1)}
