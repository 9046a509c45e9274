"""Structured logs (orchestrator_client/logs.py): text by default, JSON lines with LOG_FORMAT=json,
and every line logged inside an `about` block carries its keys."""

import io
import json
import logging
import logging.config

import pytest

from orchestrator_client.logs import about, logging_config


def logger_writing_to(stream, monkeypatch, log_format: str, **options) -> logging.Logger:
    """A logger of its own set up by logging_config, as the processes set up their root logger."""
    monkeypatch.setenv("LOG_FORMAT", log_format)
    config = logging_config(**options)
    handler = config["handlers"]["stderr"]
    config["handlers"]["stderr"] = {**handler, "class": "logging.StreamHandler", "stream": stream}
    config["loggers"] = {"story": {"handlers": ["stderr"], "level": "INFO", "propagate": False}}
    del config["root"]  # the test process's own logging stays as it is
    logging.config.dictConfig(config)
    return logging.getLogger("story")


def test_json_lines_carry_the_keys_of_every_enclosing_block_and_only_inside(monkeypatch):
    stream = io.StringIO()
    log = logger_writing_to(stream, monkeypatch, "json", process="worker", organization="MyOrg1MSP")

    with about(plan="p1", channel="mychannel"):
        with about(task="t1"):
            log.info("task %s: running", "t1")
        log.warning("plan done")
    log.info("idle")

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["message"], line.get("task"), line.get("plan")) for line in lines] == [
        ("task t1: running", "t1", "p1"),
        ("plan done", None, "p1"),
        ("idle", None, None),
    ]
    assert {(line["process"], line["organization"]) for line in lines} == {("worker", "MyOrg1MSP")}
    assert lines[0]["level"] == "INFO" and lines[0]["time"].endswith("+00:00")


def test_an_exception_is_one_json_line_with_its_traceback(monkeypatch):
    stream = io.StringIO()
    log = logger_writing_to(stream, monkeypatch, "json")

    try:
        raise ValueError("boom\non two lines")
    except ValueError:
        with about(task="t2"):
            log.exception("task failed")

    (line,) = stream.getvalue().splitlines()
    parsed = json.loads(line)
    assert (parsed["task"], parsed["message"]) == ("t2", "task failed")
    assert "ValueError: boom" in parsed["exception"]


def test_text_is_the_default_and_names_the_keys_at_the_end_of_the_line(monkeypatch):
    stream = io.StringIO()
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    log = logger_writing_to(stream, monkeypatch, "")

    with about(task="t3", plan="p3"):
        log.info("task t3: done")

    assert stream.getvalue().rstrip().endswith("INFO story task t3: done [task=t3 plan=p3]")


def test_an_unknown_log_format_is_refused(monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "xml")

    with pytest.raises(ValueError, match="LOG_FORMAT must be one of text, json"):
        logging_config()
