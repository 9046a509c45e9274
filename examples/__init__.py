"""Examples of federated-learning workflows written as Substra users write them."""
