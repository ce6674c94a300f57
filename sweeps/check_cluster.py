"""`python -m sweeps.check_cluster [FILE ...]`: check a Ray cluster config offline, before `ray up` touches a cloud.

Two layers (docs/ray-notes.md "Cluster launcher", issue #8 "Security"):

1. Ray's own validator (`prepare_config` + `validate_config`, what `ray up` runs
   first): unknown keys such as `setup_comands`, an undefined `head_node_type`,
   a node type without `resources`.
2. Rules of this project that Ray does not check: every node type states `CPU`
   and `GPU` (offline validation cannot ask the cloud), the dashboard binds to
   127.0.0.1 and token auth is on for head and workers, and no security-group
   rule opens Ray's ports (6379, 8265, 10001) or anything to the whole internet
   (ShadowRay, CVE-2023-48022).

3. The biggest trial fits (sweeps/gang_fit.py): its run.workers bundles of the per-worker CPU/GPU
   (default: the catalog's paper scale, 4 CPU + 1 GPU, one worker; `--workers 8` for an 8-GPU trial)
   can be placed at once, as one gang, on the largest cluster the config lets the autoscaler build.

Exit 0 with one "ok" line per file, or 2 with one line naming the file and the
culprit.  `ray.autoscaler._private` is private API: ray is pinned to 2.60.
"""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from trainer.errors import OneLineArgumentParser, UserInputError

RAY_PORTS = frozenset({6379, 8265, 10001})
_WORLD = re.compile(r"^(0\.0\.0\.0/0|::/0)$")


def _ray_schema(cfg: dict[str, Any]) -> None:
    import jsonschema
    from ray.autoscaler._private.util import prepare_config, validate_config

    logging.getLogger("ray.autoscaler").setLevel(logging.WARNING)   # prepare_config logs INFO lines on stderr
    try:
        validate_config(prepare_config(cfg))
    except jsonschema.ValidationError as exc:
        where = ".".join(str(p) for p in exc.absolute_path) or "top level"
        raise UserInputError(f"{where}: {exc.message}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise UserInputError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None


def _security(cfg: dict[str, Any]) -> None:
    for name, node in (cfg.get("available_node_types") or {}).items():
        missing = {"CPU", "GPU"} - set(node.get("resources") or {})
        if missing:
            raise UserInputError(f"available_node_types.{name}.resources: state {', '.join(sorted(missing))} explicitly "
                                 f"(offline validation cannot ask the cloud)")
    head = " ".join(cfg.get("head_start_ray_commands") or [])
    if "--dashboard-host=127.0.0.1" not in head:
        raise UserInputError("head_start_ray_commands: start the head with --dashboard-host=127.0.0.1 "
                             "(reach the dashboard through `ray dashboard cluster.yaml`)")
    for key in ("head_start_ray_commands", "worker_start_ray_commands"):
        if "RAY_AUTH_MODE=token" not in " ".join(cfg.get(key) or []):
            raise UserInputError(f"{key}: keep Ray's token authentication on (RAY_AUTH_MODE=token)")
    rules = ((cfg.get("provider") or {}).get("security_group") or {}).get("IpPermissions") or []
    for i, rule in enumerate(rules):
        lo, hi = int(rule.get("FromPort", 0)), int(rule.get("ToPort", 65535))
        where = f"provider.security_group.IpPermissions[{i}]"
        if any(lo <= port <= hi for port in RAY_PORTS):
            raise UserInputError(f"{where}: opens Ray's ports {sorted(RAY_PORTS)} (ports {lo}-{hi}); use SSH tunnels")
        ranges = [r.get("CidrIp", "") for r in rule.get("IpRanges") or []] + \
                 [r.get("CidrIpv6", "") for r in rule.get("Ipv6Ranges") or []]
        if any(_WORLD.match(c) for c in ranges):
            raise UserInputError(f"{where}: open to the whole internet; allow only your own address (/32)")


def _gang(cfg: dict[str, Any], trial: dict[str, Any]) -> None:
    from sweeps.gang_fit import gang_problem
    problem = gang_problem(cfg, **trial)
    if problem is not None:
        raise UserInputError(f"cannot place the biggest trial, {problem}")


def check_file(path: Path, trial: dict[str, Any] | None = None) -> None:
    """Raise a one-line UserInputError (prefixed with the file name) if `path` is not a launchable, private config."""
    try:
        cfg = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise UserInputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise UserInputError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(cfg, dict):
        raise UserInputError(f"{path}: not a mapping of cluster settings")
    try:
        _ray_schema(cfg)
        _security(cfg)
        _gang(cfg, trial or {"cpu": 4.0, "gpu": 1.0, "workers": 1, "strategy": "PACK"})
    except UserInputError as exc:
        raise UserInputError(f"{path}: {exc}") from None


def main(argv: list[str] | None = None) -> int:
    parser = OneLineArgumentParser(prog="python -m sweeps.check_cluster",
                                   description="Validate Ray cluster configs offline (Ray's schema + port and auth rules).")
    parser.add_argument("files", nargs="*", type=Path, default=[Path("cluster.yaml"), Path("cluster-local.yaml")],
                        help="cluster configs (default: cluster.yaml cluster-local.yaml)")
    parser.add_argument("--workers", type=int, default=1, help="run.workers of the biggest trial to place (default 1)")
    parser.add_argument("--cpu", type=float, default=4.0, help="CPUs per worker (default 4, the catalog's paper scale)")
    parser.add_argument("--gpu", type=float, default=1.0, help="GPUs per worker (default 1)")
    parser.add_argument("--placement", default="PACK", choices=("PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"),
                        help="the trial's placement strategy (sweep resources' placement; default PACK)")
    try:
        args = parser.parse_args(argv)
        if args.workers < 1 or args.cpu <= 0 or args.gpu < 0:
            raise UserInputError("--workers must be >= 1, --cpu > 0 and --gpu >= 0")
        trial = {"cpu": args.cpu, "gpu": args.gpu, "workers": args.workers, "strategy": args.placement}
        for f in args.files:
            check_file(f, trial)
            print(f"ok: {f} (places {args.workers} x {{CPU: {args.cpu:g}, GPU: {args.gpu:g}}}, {args.placement})")
    except UserInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
