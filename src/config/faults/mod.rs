//! The words of every diagnostic, one file per area of the language, so no
//! message text sits where a fault is found: the finder passes spans and
//! names, and these functions say what is wrong and what to write instead.

pub(crate) mod test_files;
