"""A pydantic ValidationError as the one line a user reads: the dotted field, what is wrong, what was given.

Bad input ends in one line on stderr and exit 2 (trainer/errors.py); this is the
text of that line for every config error, wherever the config was read.
"""

from __future__ import annotations

from pydantic import ValidationError


def first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err.get("loc", ()))
    msg = err.get("msg", "invalid value")
    ctx = err.get("ctx") or {}
    if err.get("type") == "literal_error" and "expected" in ctx:
        msg = f"must be one of {ctx['expected']}"
    if err.get("type") == "extra_forbidden":
        msg = "unknown key"
    elif "input" in err and not isinstance(err["input"], (dict, list)):
        msg = f"{msg} (got {err['input']!r})"
    msg = msg.replace("Value error, ", "")
    if loc.startswith("augment.") and loc.split(".")[1] in ("none", "fixed", "ada", "diffaugment"):
        loc = "augment." + ".".join(loc.split(".")[2:])   # drop the union's tag: augment.fixed.p -> augment.p
    return f"{loc}: {msg}" if loc and not msg.startswith(loc + ".") else msg
