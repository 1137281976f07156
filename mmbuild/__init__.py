"""mmbuild: build, install and verify mmcv with compiled ops for this machine."""

__version__ = "0.1.0"
