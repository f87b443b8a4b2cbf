"""cifarbench.config and cifarbench.scripts: schema defaults and errors, the checks beyond it, failing a rule."""
import subprocess
import sys

import pytest
import yaml

from cifarbench import config

OFFICIAL_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"


def test_defaults_come_from_the_schema():
    defaults = config.defaults()
    assert defaults["data_url"] == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert defaults["data_sha256"] == OFFICIAL_SHA256 and defaults["data_md5"] is None
    assert defaults["download"] == {"retries": 3, "timeout": 60}
    assert (defaults["device"], defaults["models"], defaults["threads"], defaults["seed"]) == (
        "cpu", ["mlp", "cnn"], None, 42,
    )  # fmt: skip
    assert (defaults["mlp"]["mem_mb"], defaults["cnn"]["runtime"]) == (2048, 360)
    defaults["mlp"]["hidden"].append(7)
    assert config.defaults()["mlp"]["hidden"] == [100]  # each call a fresh copy


def test_config_yaml_holds_the_schemas_defaults():
    written = yaml.safe_load((config.SCHEMA.parents[2] / "config.yaml").read_text())
    defaults = config.defaults()
    assert written == {key: defaults[key] for key in written}


def test_validated_fills_in_and_names_the_bad_key():
    assert config.validated({"mlp": {"epochs": 3}})["mlp"]["epochs"] == 3
    with pytest.raises(ValueError, match=r"^threads: 0 is less than or equal to the minimum of 0$"):
        config.validated({"threads": 0})
    with pytest.raises(ValueError, match=r"^cnn\.conv\.1\.filters: 'x' is not of type 'integer'$"):
        config.validated({"cnn": {"conv": [{"filters": 1, "filter_size": 1, "pool_size": 1},
                                           {"filters": "x", "filter_size": 1, "pool_size": 1}]}})


def test_conv_sides_follow_valid_convolution_and_pooling():
    stages = [{"filters": 16, "filter_size": 3, "pool_size": 2}, {"filters": 32, "filter_size": 2, "pool_size": 2}]
    assert config.conv_sides(stages) == [15, 7]  # (32 - 3 + 1) // 2, (15 - 2 + 1) // 2
    deep = [{"filters": 8, "filter_size": 5, "pool_size": 4}] * 2
    with pytest.raises(ValueError, match=r"conv stage 2 \(5x5 filters, 4x4 pool\) leaves no pixels of the 32x32"):
        config.conv_sides(deep)


def test_check_config():
    good = config.defaults()
    config.check_config(good)
    with pytest.raises(ValueError, match="data_sha256 and data_md5 are both null"):
        config.check_config({**good, "data_sha256": None})
    too_deep = {**good, "cnn": {"conv": [{"filters": 8, "filter_size": 30, "pool_size": 4}]}}
    with pytest.raises(ValueError, match=r"^config: cnn: conv stage 1 \(30x30 filters"):
        config.check_config(too_deep)


def test_command_line_strings_get_the_schema_types():
    schema = yaml.safe_load(config.SCHEMA.read_text())
    given = {"threads": "null", "seed": "7", "models": "mlp, cnn", "mlp": {"epochs": "3", "shuffle": "True",
             "learning_rate": "0.5", "hidden": ["10", "20"]}, "data_md5": "null", "device": "cpu"}
    assert config.coerce_cli_strings(given, schema) == {
        "threads": None, "seed": 7, "models": ["mlp", "cnn"], "device": "cpu", "data_md5": None,
        "mlp": {"epochs": 3, "shuffle": True, "learning_rate": 0.5, "hidden": [10, 20]},
    }
    assert config.coerce_cli_strings({"seed": "seven"}, schema) == {"seed": "seven"}  # for the schema to reject


def test_fail_writes_one_line_to_the_log_and_the_real_stderr(tmp_path):
    code = ("import sys; sys.stderr = open(sys.argv[1], 'w')\n"
            "from cifarbench.scripts import fail\nfail('stage', ValueError('two\\n  lines'), hint='; try x')")
    log = tmp_path / "log"
    result = subprocess.run([sys.executable, "-c", code, str(log)], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr == log.read_text() == "stage: two lines; try x\n"


def test_download_and_aggregate_modules_import_neither_aenet_nor_aesara():
    code = ("import sys, cifarbench.data, cifarbench.download, cifarbench.report, cifarbench.config, "
            "cifarbench.scripts; assert 'aesara' not in sys.modules and 'aenet' not in sys.modules, "
            "sorted(m for m in sys.modules if m.startswith(('aenet', 'aesara')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
