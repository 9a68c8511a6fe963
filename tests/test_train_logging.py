"""Training as a library: metrics.csv beside metrics.jsonl, TensorBoard (when installed), --config replays a run."""

import csv
import json

import pytest

from infogauss.cli import main
from infogauss.train.logs import flat_metrics, open_logs

SMOKE = ["train", "--preset", "smoke", "epochs=2", "source.n_train=128", "source.n_test=64", "--quiet"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("log") / "run"
    assert main([*SMOKE, "--out", str(out)]) == 0
    return out


def test_metrics_csv_matches_jsonl(run_dir):
    lines = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    with open(run_dir / "metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(lines) == 3  # epochs 0, 1, 2
    for row, line in zip(rows, lines, strict=True):
        assert int(row["epoch"]) == line["epoch"]
        assert float(row["backbone.raw.cv"]) == pytest.approx(line["backbone"]["raw"]["cv"], rel=1e-12)
        assert float(row["views.alignment"]) == pytest.approx(line["views"]["alignment"], rel=1e-12)
        assert float(row["data.raw.ad_mean"]) == pytest.approx(line["data"]["raw"]["ad_mean"], rel=1e-12)
    assert rows[0]["train_loss"] == "" and float(rows[2]["train_loss"]) > 0  # no training loss before epoch 1
    assert not any(k.endswith(".report") or ".report." in k for k in rows[0])  # full reports stay in the jsonl


def test_flat_metrics_joins_keys_and_drops_lists():
    assert flat_metrics({"a": {"b": 1, "c": [1, 2], "report": {"x": 1}}, "d": None}) == {"a.b": 1, "d": None}


def test_replay_from_config_gives_the_same_numbers(run_dir, tmp_path):
    replay = tmp_path / "replay"
    assert main(["train", "--config", str(run_dir / "config.json"), "--out", str(replay), "--quiet"]) == 0
    a = json.loads((run_dir / "report.json").read_text())
    b = json.loads((replay / "report.json").read_text())
    assert a["config"] == {**b["config"], "out": a["config"]["out"]}
    for key in ("backbone", "data", "views", "test_loss", "train_loss"):
        assert a[key] == b[key]
    # overrides still apply on top of the replayed config
    other = tmp_path / "other"
    assert main(["train", "--config", str(run_dir / "config.json"), "epochs=1", "--out", str(other), "--quiet"]) == 0
    c = json.loads((other / "report.json").read_text())
    assert c["epoch"] == 1 and c["config"]["d"] == a["config"]["d"]


def test_config_errors_are_one_line(tmp_path, capsys):
    bad = tmp_path / "config.json"
    bad.write_text('{"source": "laplace", "nonsense": 1}')
    assert main(["train", "--config", str(bad), "--out", str(tmp_path / "r"), "--quiet"]) == 2
    assert "unknown training option 'nonsense'" in capsys.readouterr().err
    assert main(["train", "--config", str(tmp_path / "missing.json"), "--quiet"]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["train", "--config", str(bad), "--preset", "smoke", "--quiet"]) == 2
    assert "not both" in capsys.readouterr().err


def test_tensorboard_logging_or_its_missing_package(tmp_path, capsys):
    try:
        import torch.utils.tensorboard  # noqa: F401
    except ImportError:
        rc = main([*SMOKE, "epochs=1", "--log", "tensorboard", "--out", str(tmp_path / "tb")])
        err = capsys.readouterr().err
        assert rc == 2 and "pip install tensorboard" in err and len(err.strip().splitlines()) == 1
        pytest.skip("tensorboard is not installed (its error message was checked)")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    assert main([*SMOKE, "epochs=1", "--log", "tensorboard", "--out", str(tmp_path / "tb")]) == 0
    acc = EventAccumulator(str(tmp_path / "tb"))
    acc.Reload()
    assert [e.step for e in acc.Scalars("backbone.raw.cv")] == [0, 1]


def test_unknown_logger():
    with pytest.raises(Exception, match="unknown --log 'wandb'"):
        open_logs(["wandb"], None)
