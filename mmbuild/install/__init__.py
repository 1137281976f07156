"""Installing a wheel into the target Python, kept only once it verifies."""
