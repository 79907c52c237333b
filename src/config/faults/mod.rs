//! The words of diagnostics, kept apart from where they point: each area's
//! messages, labels and help are built by functions in one file, called
//! from the compiler with spans and names.

pub(crate) mod file_size;
pub(crate) mod maps;
pub(crate) mod response;
pub(crate) mod strings;
pub(crate) mod test_files;
