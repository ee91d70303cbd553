"""One DSE trial: data -> train (or fetch from cache) -> convert -> C-simulate -> cost -> result."""
