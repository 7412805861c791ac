"""Model clients: what stands in for the model servers NeMo Gym configs name under `responses_api_models:`."""
