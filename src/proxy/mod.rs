//! The data plane: listener, per-request service, upstream client, error mapping.
