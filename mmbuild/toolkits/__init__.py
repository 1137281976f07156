"""CUDA toolkits fetched from the package index: the store (store.py) and provisioning (provision.py)."""
