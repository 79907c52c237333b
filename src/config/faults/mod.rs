//! The text of diagnostics — message, labels and help — built in one place
//! per area, so call sites pass only spans and names.

pub(crate) mod maps;
