//! Running-server operations: logs, signals, reload, control of a running server.
