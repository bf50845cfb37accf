"""Engine version: part of every compiled etag and every scorecard, so re-scoring knows what produced a record."""

ENGINE_VERSION = "0.1.0"
