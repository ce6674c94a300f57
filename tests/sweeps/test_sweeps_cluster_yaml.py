"""cluster.yaml and cluster-local.yaml pass Ray's own offline validator, and keep Ray's ports off the internet."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

ROOT = Path(__file__).resolve().parents[2]
FILES = ("cluster.yaml", "cluster-local.yaml")


def _load(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text())


@pytest.mark.parametrize("name", FILES)
def test_ray_validator_accepts(name: str) -> None:
    validate_config(prepare_config(_load(name)))


@pytest.mark.parametrize("name", FILES)
def test_typo_key_is_rejected(name: str) -> None:
    cfg = _load(name)
    cfg["setup_comands"] = cfg.pop("setup_commands")
    with pytest.raises(Exception, match="setup_comands"):
        validate_config(prepare_config(cfg))


def test_undefined_head_type_and_missing_resources_are_rejected() -> None:
    cfg = _load("cluster.yaml")
    bad = copy.deepcopy(cfg)
    bad["head_node_type"] = "hed"
    with pytest.raises(Exception):
        validate_config(prepare_config(bad))
    bad = copy.deepcopy(cfg)
    del bad["available_node_types"]["gpu_1x"]["resources"]
    with pytest.raises(Exception):
        validate_config(prepare_config(bad))


@pytest.mark.parametrize("name", FILES)
def test_every_node_type_states_cpu_and_gpu(name: str) -> None:
    for node, spec in _load(name)["available_node_types"].items():
        assert {"CPU", "GPU"} <= set(spec["resources"]), node


def test_aws_has_cpu_head_and_gpu_spot_workers() -> None:
    cfg = _load("cluster.yaml")
    types = cfg["available_node_types"]
    assert cfg["provider"]["type"] == "aws"
    assert types[cfg["head_node_type"]]["resources"]["GPU"] == 0
    workers = [t for n, t in types.items() if n != cfg["head_node_type"]]
    assert sorted(t["resources"]["GPU"] for t in workers) == [1, 4]
    assert all(t["node_config"]["InstanceMarketOptions"]["MarketType"] == "spot" for t in workers)
    assert any("torch==2.14.1 torchvision==0.29.1" in c for c in cfg["setup_commands"])
    assert any("pip install -e ." in c for c in cfg["setup_commands"])


def test_local_provider_has_placeholders() -> None:
    cfg = _load("cluster-local.yaml")
    assert cfg["provider"]["type"] == "local" and cfg["provider"]["head_ip"] and cfg["provider"]["worker_ips"]


@pytest.mark.parametrize("name", FILES)
def test_ports_stay_private_and_token_auth_is_on(name: str) -> None:
    text = (ROOT / name).read_text()
    assert "0.0.0.0/0" not in text and "::/0" not in text
    assert "--dashboard-host=0.0.0.0" not in text
    cfg = _load(name)
    head = " ".join(cfg["head_start_ray_commands"])
    assert "--dashboard-host=127.0.0.1" in head and "RAY_AUTH_MODE=token" in head
    assert "RAY_AUTH_MODE=token" in " ".join(cfg["worker_start_ray_commands"])
    for rule in cfg["provider"].get("security_group", {}).get("IpPermissions", []):
        opened = set(range(rule["FromPort"], rule["ToPort"] + 1))
        assert not opened & {6379, 8265, 10001}, rule
        assert all(not re.match(r"0\.0\.0\.0/", r["CidrIp"]) for r in rule.get("IpRanges", []))


def _broken(tmp_path: Path, edit) -> Path:
    cfg = _load("cluster.yaml")
    edit(cfg)
    path = tmp_path / "cluster.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.parametrize(("edit", "culprit"), [
    (lambda c: c["provider"]["security_group"]["IpPermissions"].append(
        {"FromPort": 8265, "ToPort": 8265, "IpProtocol": "tcp", "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}), "IpPermissions[1]"),
    (lambda c: c["provider"]["security_group"]["IpPermissions"][0]["IpRanges"].append({"CidrIp": "0.0.0.0/0"}),
     "whole internet"),
    (lambda c: c.update(head_start_ray_commands=[x.replace("--dashboard-host=127.0.0.1", "--dashboard-host=0.0.0.0")
                                                 for x in c["head_start_ray_commands"]]), "dashboard-host"),
    (lambda c: c.update(worker_start_ray_commands=[x.replace("RAY_AUTH_MODE=token ", "")
                                                   for x in c["worker_start_ray_commands"]]), "worker_start_ray_commands"),
    (lambda c: c["available_node_types"]["gpu_1x"]["resources"].pop("GPU"), "gpu_1x.resources"),
])
def test_check_cluster_refuses_exposed_or_unauthenticated_configs(tmp_path: Path, edit, culprit: str,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from sweeps.check_cluster import main

    assert main([str(_broken(tmp_path, edit))]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and culprit in err, err


def test_check_cluster_accepts_the_shipped_configs(capsys: pytest.CaptureFixture[str]) -> None:
    from sweeps.check_cluster import main

    assert main([str(ROOT / f) for f in FILES]) == 0
    assert capsys.readouterr().out.count("ok: ") == 2


def test_check_cluster_places_an_8_gpu_trial_as_one_gang(capsys: pytest.CaptureFixture[str]) -> None:
    """cluster.yaml's 8 GPU nodes (2 x 4-GPU, 8 x 1-GPU, at most 8 worker nodes: 14 one-GPU bundles) hold an
    8-worker trial when it may span nodes (PACK), not on one node (STRICT_PACK: 4 at most), not 15 workers."""
    from sweeps.check_cluster import main

    assert main([str(ROOT / "cluster.yaml"), "--workers", "8"]) == 0
    assert "places 8 x {CPU: 4, GPU: 1}, PACK" in capsys.readouterr().out
    for extra, culprit in ((["--workers", "8", "--placement", "STRICT_PACK"], "no node holds all of them (the largest holds 4)"),
                           (["--workers", "15"], "the largest cluster this config allows holds 14")):
        assert main([str(ROOT / "cluster.yaml"), *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and culprit in err, err
