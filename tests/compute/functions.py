"""Small substratools functions for the compute tests, each archived with its Dockerfile as a
Substra user would: they fail, sleep, or look at the container they run in."""

import zipfile
from pathlib import Path

DOCKERFILE = """FROM python:3.11-slim
RUN pip install substratools==1.0.0 numpy==2.4.6
COPY function.py /function.py
ENTRYPOINT ["python3", "function.py", "--function-name", "train"]
"""

# Each function reads the opener and the samples like a real train function, then does its part
# and writes its model output.
COMMON = """import json
import os
import time

import sys

import substratools as tools


# substratools gives the data the opener read from the samples.
def data_of(inputs):
    return inputs["datasamples"]


# The input files the worker passed in the argument file (`@file`, one argument a line).
def input_paths():
    lines = open(sys.argv[-1][1:]).read().splitlines()
    return {item["id"]: item["value"] for item in json.loads(lines[lines.index("--inputs") + 1])}
"""

FAILING = (
    COMMON
    + """

@tools.register
def train(inputs, outputs, task_properties):
    data_of(inputs)
    print("about to fail, on purpose")
    raise ValueError("deliberate failure inside the function")


if __name__ == "__main__":
    tools.execute()
"""
)

SLEEPER = (
    COMMON
    + """

@tools.register
def train(inputs, outputs, task_properties):
    data_of(inputs)
    time.sleep(float(open("/seconds").read()) if os.path.exists("/seconds") else 1.0)
    with open(outputs["model"], "w") as file:
        json.dump({"slept": True}, file)


if __name__ == "__main__":
    tools.execute()
"""
)

# What the container lets the function do: it must not reach any network, must not be root, and
# must not be able to change its inputs.
PROBE = (
    COMMON
    + """

def can_write(path):
    try:
        with open(path, "a"):
            pass
        return True
    except OSError:
        return False


@tools.register
def train(inputs, outputs, task_properties):
    data_of(inputs)
    paths = input_paths()
    sample_folder = paths["datasamples"]
    sample_file = os.path.join(sample_folder, sorted(os.listdir(sample_folder))[0])
    seen = {
        "uid": os.getuid(),
        "gid": os.getgid(),
        "interfaces": sorted(os.listdir("/sys/class/net")),
        "can_write_opener": can_write(paths["opener"]),
        "can_write_sample": can_write(sample_file),
        "can_create_in_inputs": can_write(os.path.join(sample_folder, "new-file")),
        "can_write_output": can_write(outputs["model"]),
    }
    with open(outputs["model"], "w") as file:
        json.dump(seen, file)


if __name__ == "__main__":
    tools.execute()
"""
)


def archive(folder: Path, name: str, source: str, dockerfile: str = DOCKERFILE, extra: dict | None = None) -> Path:
    """A zip with the Dockerfile and function.py (and `extra` files) at its root."""
    path = folder / f"{name}.zip"
    with zipfile.ZipFile(path, "w") as zipped:
        zipped.writestr("Dockerfile", dockerfile)
        zipped.writestr("function.py", source)
        for member, content in (extra or {}).items():
            zipped.writestr(member, content)
    return path


def sleeper_dockerfile(seconds: float) -> str:
    return DOCKERFILE.replace("COPY function.py", f"RUN echo {seconds} > /seconds\nCOPY function.py")


BROKEN_DOCKERFILE = """FROM python:3.11-slim
RUN echo "this build breaks on purpose" && exit 3
ENTRYPOINT ["python3", "function.py", "--function-name", "train"]
"""
