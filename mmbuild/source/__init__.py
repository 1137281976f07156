"""The mmcv source: an sdist from the index (or the user's tree), checked and extracted."""
