//! switchyard: one link of an edge platform's proxy chain.
//!
//! The modules follow the pipeline: `config` turns `proxy.conf` into a
//! `rules::RuleSet`; `proxy` serves HTTP and applies it per request; `log`
//! writes the access and error logs; `ops` wires the server together,
//! reloads and handles signals; `suite` runs the tests that ship with the
//! config; `cli` holds one file per command.

pub mod cli;
pub mod config;
pub mod log;
pub mod ops;
pub mod proxy;
pub mod rules;
pub mod suite;
