"""Typed configuration of one training run: its models, presets and `key=value` overrides.

One job per module:
  models.py           the frozen pydantic models (data, model, loss, metrics, run; augment in trainer/config/augment.py)
  presets.py          one preset per scale: smoke, tiny, paper
  overrides.py        `key=value` overrides and validation of a nested dict, each error one line
  error_line.py       a pydantic ValidationError as that one line
  display.py          the settings a sweep's --dry-run shows once for every trial
  parquet_columns.py  the config's values in the tick and trial rows' config columns

The names used across the repository are re-exported here, so `from trainer.config import X` keeps working.
Nothing here imports torch or ray, so the sweep driver validates a whole grid before anything heavy starts.
"""

from resultsformat import SCHEMA_VERSION  # noqa: F401  (re-exported: the format owns its version)
from resultsformat.dotted import flatten_dotted  # noqa: F401  (re-exported: trainer.checkpoint, sweeps.trainable)
from trainer.config.augment import AUGPIPE_SPECS, DIFFAUG_OPS, AdaAugment, AugmentConfig  # noqa: F401
from trainer.config.display import SUMMARY_KEYS, shared_settings  # noqa: F401
from trainer.config.models import (DataConfig, LossConfig, MetricsConfig, ModelConfig, RunConfig,  # noqa: F401
                                   TrainConfig, d_layer_count, ticks_total)
from trainer.config.overrides import apply_overrides, parse_overrides, parse_value, set_path, validate_config  # noqa: F401
from trainer.config.parquet_columns import flat_columns  # noqa: F401
from trainer.config.presets import PRESETS, preset  # noqa: F401
