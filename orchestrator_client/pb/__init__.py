"""Generated gRPC stubs. Regenerate with `make protos`; tests fail when they are stale."""
