"""The shared GAN trainer: data, augmentation (ADA pipe, DiffAugment), networks, loss, loop, metrics.

It never imports ray: sweeps drive it through `trainer.hooks.Hooks`.
Importing this package is cheap; submodules pull in torch only when used.
"""
