//! The catalogue of diagnostic texts, one file per area: message, label and
//! help are built here, so the compiler only says where and about what.

pub(crate) mod response;
