import subprocess
import sys

from infogauss.cli import main


def test_help_lists_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("analyze", "train", "reproduce"):
        assert name in out


def test_unknown_command_exits_2():
    proc = subprocess.run([sys.executable, "-m", "infogauss.cli", "nonsense"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "unknown command" in proc.stderr
