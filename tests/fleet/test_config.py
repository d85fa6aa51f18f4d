"""ndaa-scan.toml: what it accepts, and one line naming the file and line for what it does not."""

import pytest

from scanner.cli import main
from scanner.fleet.config import ConfigError, cron_fields, load_config

GOOD = """\
store = "sqlite:////tmp/never-opened.db"
broker = "redis://127.0.0.1:1/0"

[sites.city-hall]
scopes = [{ cidr = "198.18.0.0/24", use = "video surveillance of the lobby" }]
exclude = ["198.18.0.1"]
rate = 200
budget = 600
schedule = "0 2 * * 1"

[sites.library]
scopes = [{ cidr = "10.0.0.0/24" }]
allow_private = true
"""


def write(tmp_path, text):
    path = tmp_path / "ndaa-scan.toml"
    path.write_text(text)
    return path


def test_a_good_file(tmp_path):
    config = load_config(write(tmp_path, GOOD))
    hall = config.site("city-hall")
    assert hall.queue == "ndaa-scan.site.city-hall"
    assert [str(n) for n in hall.scope().networks] == ["198.18.0.0/24"]
    assert config.site("library").allow_private
    assert config.redelivery_after == 2 * 900 + 60
    with pytest.raises(ConfigError, match=r"no site 'pool'.*city-hall, library"):
        config.site("pool")


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        (
            ('schedule = "0 2 * * 1"', 'schedule = "0 25 * * 1"'),
            9,
            "cron hour '25' is outside 0-23",
        ),
        (("rate = 200", "rate = -1"), 7, "sites.city-hall.rate: Input should be greater than 0"),
        (("rate = 200", "rate = 200\ncolour = 1"), 8, "sites.city-hall.colour: Extra inputs"),
        (("allow_private = true", ""), 11, "sites.library: scopes: 10.0.0.0/24 is a private"),
        (('broker = "', 'broker = 5 "'), 2, "Expected newline"),
        (("[sites.library]", "[sites.'bad name']"), 1, "site name 'bad name'"),
    ],
)
def test_mistakes_name_the_file_and_line(tmp_path, change, line, message):
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert text.startswith(f"{path}:{line}: "), text
    assert message in text
    assert "\n" not in text


def test_cron_fields():
    assert cron_fields("*/15 1-5 * * 0,6") == ("*/15", "1-5", "*", "*", "0,6")
    for bad in ("* * * *", "60 * * * *", "* * 0 * *", "a * * * *"):
        with pytest.raises(ValueError, match="cron"):
            cron_fields(bad)


@pytest.mark.parametrize(
    "argv",
    [
        ["worker", "--site", "city-hall"],
        ["schedule"],
        ["scans", "submit", "--site", "city-hall"],
        ["scans", "list"],
        ["sweep", "--site", "city-hall"],
    ],
)
def test_a_bad_config_is_one_line_and_exit_2(tmp_path, capsys, argv):
    path = write(tmp_path, GOOD.replace("rate = 200", "rate = fast"))
    flag = ["--config", str(path)]
    assert main([*argv, *flag]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"ndaa-scan: error: {path}:7: ")


def test_a_missing_config_and_an_unknown_site(tmp_path, capsys):
    assert main(["scans", "list", "--config", str(tmp_path / "nope.toml")]) == 2
    assert "cannot read" in capsys.readouterr().err
    path = write(tmp_path, GOOD)
    assert main(["worker", "--site", "pool", "--config", str(path)]) == 2
    assert "no site 'pool'" in capsys.readouterr().err
    assert main(["sweep", "--config", str(path)]) == 2
    assert "--config needs --site" in capsys.readouterr().err
    assert main(["sweep"]) == 2
    assert "give TARGETS" in capsys.readouterr().err


def test_schedule_dry_run_prints_the_cron_table(tmp_path, capsys):
    assert main(["schedule", "--config", str(write(tmp_path, GOOD)), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "city-hall" in out
    assert "0 2 * * 1" in out
    assert "library" not in out


def test_the_example_config_loads():
    from pathlib import Path

    config = load_config(Path(__file__).parents[2] / "examples" / "ndaa-scan.toml")
    assert sorted(config.sites) == ["city-hall", "library"]
