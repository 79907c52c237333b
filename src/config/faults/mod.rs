//! The catalogue of faults: the message, label text and help of every
//! diagnostic `proxy.conf` can get, each built by one function here, one file
//! per area. The compiler finds a fault and calls the function with the
//! spans and names; no message text sits at a call site, so the words of a
//! fault are read, reviewed and changed in one place. The list of codes
//! itself is written once, in `codes!` (`diagnostic.rs`).
//!
//! A new fault: a line in `codes!`, a function in the file of its area
//! (a new file for a new area), a fixture and a docs heading.

pub(crate) mod actions;
pub(crate) mod conditions;
pub(crate) mod file_size;
pub(crate) mod files;
pub(crate) mod maps;
pub(crate) mod response;
pub(crate) mod rules;
pub(crate) mod settings;
pub(crate) mod strings;
pub(crate) mod syntax;
pub(crate) mod templates;
pub(crate) mod test_files;
