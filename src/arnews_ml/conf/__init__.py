"""Hydra configs shipped with the package (a package so Hydra can find them when installed)."""
