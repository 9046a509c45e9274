"""The ledger's rules, one module per asset family. Functions named `register_*`, `apply_*`,
`cancel_*` change state and record events in the same transaction; `get_*` read one asset."""
