"""Datasets for the GAN trainer: the embedded procedural set and readers of real data (docs/architecture.md "Datasets").

`load_dataset(cfg.data)` returns a `DatasetBundle`: the training subset (seeded
shuffle then the first N, doubled by x-flips with `mirror`), held-out
validation reals for r_v (ADA §3.1), and the full dataset as the FID reference.
Images are uint8 NCHW tensors from `ImageSet.batch`; `to_float` maps them to
[-1, 1].  Datasets are materialised once into a cache dir (`default_cache_dir`)
and memory-mapped, so large sets are never loaded whole.
"""

from trainer.data.cache import default_cache_dir
from trainer.data.imagesets import ImageSet
from trainer.data.loader import DatasetBundle, check_split, dataset_count, load_dataset, subset_permutation, to_float

__all__ = ["DatasetBundle", "ImageSet", "check_split", "dataset_count", "default_cache_dir", "load_dataset", "subset_permutation", "to_float"]
