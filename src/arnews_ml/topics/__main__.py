"""`python -m arnews_ml.topics [overrides]`: the same as the `arnews-topics` command."""

from arnews_ml.cli import topics_main

if __name__ == "__main__":
    topics_main()
