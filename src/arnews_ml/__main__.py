"""`python -m arnews_ml` runs the demo (the main job)."""

from arnews_ml.demo import main

if __name__ == "__main__":
    main()
