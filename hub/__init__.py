"""Publishing to the Hugging Face Hub: model and dataset repositories, cards, and a local
Hub-compatible server for tests and offline demos."""
