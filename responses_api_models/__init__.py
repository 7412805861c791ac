"""Model servers NeMo Gym configs name under `responses_api_models:`; here, the clients that stand in for them."""
