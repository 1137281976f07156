"""Compiling the wheel: compilers, compiler cache, precompiled header, preflight, the build, its progress."""
