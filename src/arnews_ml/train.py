"""`python -m arnews_ml.train [overrides]`: the same as the `arnews-train` command."""

from arnews_ml.cli import train_main

if __name__ == "__main__":
    train_main()
