//! `respond STATUS file "PATH"` (section 13): the file read once, at compile
//! time, from inside the config directory — never an absolute path, a `..`
//! or a link that leads out — with its `Content-Type` from the extension.

use std::io::Read;
use std::path::{Component, Path};
use std::sync::Arc;

use bytes::Bytes;
use http::HeaderValue;

use super::super::diagnostic::Diagnostic;
use super::super::faults::response::{self as faults, OutsideReason};
use super::super::string_literal::StringLiteral;
use crate::rules::FileBody;

/// The largest file body: it is held in memory for as long as the config is served.
pub const MAX_FILE_BODY_BYTES: u64 = 1024 * 1024;

/// Reads the file a `respond … file` names; `dir` is the config directory
/// (`None` when the text was compiled without one, so no file can be read).
pub fn read(literal: &StringLiteral, dir: Option<&Path>) -> Result<Arc<FileBody>, Diagnostic> {
    let path = literal.value.as_str();
    let span = literal.span;
    let relative = Path::new(path);
    if relative.is_absolute() {
        return Err(faults::file_outside(path, span, OutsideReason::Absolute));
    }
    if relative
        .components()
        .any(|component| matches!(component, Component::ParentDir))
    {
        return Err(faults::file_outside(
            path,
            span,
            OutsideReason::ParentComponent,
        ));
    }
    let Some(dir) = dir else {
        return Err(faults::file_missing(path, span, false));
    };
    let joined = dir.join(relative);
    let resolved = match joined.canonicalize() {
        Ok(resolved) => resolved,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(faults::file_missing(path, span, true));
        }
        Err(error) => return Err(faults::file_unreadable(path, span, &error)),
    };
    let root = dir
        .canonicalize()
        .map_err(|error| faults::file_unreadable(path, span, &error))?;
    if !resolved.starts_with(&root) {
        return Err(faults::file_outside(path, span, OutsideReason::LinkOut));
    }
    let metadata = std::fs::metadata(&resolved)
        .map_err(|error| faults::file_unreadable(path, span, &error))?;
    if !metadata.is_file() {
        return Err(faults::file_not_regular(path, span));
    }
    if metadata.len() > MAX_FILE_BODY_BYTES {
        return Err(faults::file_too_large(
            path,
            span,
            metadata.len(),
            MAX_FILE_BODY_BYTES,
        ));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    std::fs::File::open(&resolved)
        .and_then(|file| file.take(MAX_FILE_BODY_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|error| faults::file_unreadable(path, span, &error))?;
    // The file grew between the check and the read.
    if bytes.len() as u64 > MAX_FILE_BODY_BYTES {
        return Err(faults::file_too_large(
            path,
            span,
            bytes.len() as u64,
            MAX_FILE_BODY_BYTES,
        ));
    }
    Ok(Arc::new(FileBody {
        path: path.to_owned(),
        bytes: Bytes::from(bytes),
        content_type: HeaderValue::from_static(content_type(path)),
    }))
}

/// The `Content-Type` of a file body, by its extension (section 13).
pub fn content_type(path: &str) -> &'static str {
    let extension = Path::new(path)
        .extension()
        .and_then(|ext| ext.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        Some("json") => "application/json",
        Some("css") => "text/css",
        Some("js") => "text/javascript",
        Some("svg") => "image/svg+xml",
        Some("xml") => "application/xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::super::diagnostic::Code;
    use super::super::super::span::Span;
    use super::*;

    fn literal(path: &str) -> StringLiteral {
        StringLiteral::unescape(path, 1, Span::new(0, path.len() + 2))
    }

    fn code(path: &str, dir: Option<&Path>) -> Option<Code> {
        read(&literal(path), dir).err().map(|d| d.code)
    }

    #[test]
    fn types_come_from_the_extension() {
        assert_eq!(content_type("errors/down.HTML"), "text/html; charset=utf-8");
        assert_eq!(content_type("a.jpeg"), "image/jpeg");
        assert_eq!(content_type("robots"), "application/octet-stream");
        assert_eq!(content_type("x.tar.gz"), "application/octet-stream");
    }

    #[test]
    fn reads_inside_and_refuses_the_rest() {
        let base = std::env::temp_dir().join(format!("switchyard-fb-{}", std::process::id()));
        let dir = base.join("conf");
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(dir.join("errors")).unwrap();
        std::fs::write(dir.join("errors/down.html"), "<h1>down</h1>").unwrap();
        std::fs::write(base.join("secret.txt"), "no").unwrap();
        std::os::unix::fs::symlink("../secret.txt", dir.join("out.txt")).unwrap();
        std::os::unix::fs::symlink("errors/down.html", dir.join("in.html")).unwrap();
        let big = std::fs::File::create(dir.join("big.bin")).unwrap();
        big.set_len(MAX_FILE_BODY_BYTES + 1).unwrap();
        let body = read(&literal("errors/down.html"), Some(&dir)).unwrap();
        assert_eq!(&body.bytes[..], b"<h1>down</h1>");
        assert_eq!(body.content_type, "text/html; charset=utf-8");
        assert!(read(&literal("in.html"), Some(&dir)).is_ok());
        assert_eq!(code("out.txt", Some(&dir)), Some(Code::FileBodyOutside));
        assert_eq!(
            code("../secret.txt", Some(&dir)),
            Some(Code::FileBodyOutside)
        );
        assert_eq!(code("/etc/passwd", Some(&dir)), Some(Code::FileBodyOutside));
        assert_eq!(code("nope.html", Some(&dir)), Some(Code::FileBodyMissing));
        assert_eq!(code("errors", Some(&dir)), Some(Code::FileBodyNotRegular));
        assert_eq!(code("big.bin", Some(&dir)), Some(Code::FileBodyTooLarge));
        assert_eq!(code("errors/down.html", None), Some(Code::FileBodyMissing));
        let _ = std::fs::remove_dir_all(&base);
    }
}
