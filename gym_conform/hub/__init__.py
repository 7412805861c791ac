"""Dataset downloads from the Hugging Face Hub."""
