"""The SDK's list filters and orderings (docs/sdk-contract.md §5.2, §5.3), one module per family."""
