"""`nsga-lightning --help` names every command, and every command answers its own --help."""

import pytest

from nsga_lightning.cli import EXTRA_COMMANDS, main

COMMANDS = ("fit", "validate", "test", "predict", *EXTRA_COMMANDS)


def test_the_overview_lists_every_command(capsys):
    assert main(["--help"]) == 0
    # a command line starts with two spaces; a continued description with more
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()
              if line.startswith("  ") and not line.startswith("   ")]
    assert sorted(listed) == sorted(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    usage = capsys.readouterr().out.splitlines()[0].split()
    assert usage[:2] == ["usage:", "nsga-lightning"] and command in usage[2:4]  # LightningCLI: "[options] fit"


def test_no_command_is_one_line_naming_them(capsys):
    assert main([]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("nsga-lightning: error: give a command:") and all(c in line for c in COMMANDS)


def test_help_draw_and_report_start_without_torch(tmp_path):
    """Command modules load on use: the overview and the drawing commands never import torch or Lightning."""
    import subprocess
    import sys

    script = (
        "import sys; from nsga_lightning.cli import main; "
        f"assert main(['--help']) == 0; assert main(['draw', 'NSGANet', '-o', {str(tmp_path / 'a.png')!r}]) == 0; "
        "loaded = [m for m in ('torch', 'lightning') if m in sys.modules]; assert not loaded, loaded"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "a.png").stat().st_size > 0
