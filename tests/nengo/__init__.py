"""spikeshard.nengo: the Rust backend for nengo against nengo itself."""
