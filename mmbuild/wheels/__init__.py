"""Built wheels: the store kept by fingerprint, wheelhouses, embedded build metadata, fitness for a node."""
