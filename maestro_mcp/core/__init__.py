"""The domain core: models, the SQLite store, the service layer (one write path), the feed."""
