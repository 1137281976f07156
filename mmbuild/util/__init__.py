"""Plumbing used by every stage: console output, subprocesses, atomic files, command lines, data folders."""
