"""The orchestrator: the network's central ledger, a gRPC service over one SQL database."""
