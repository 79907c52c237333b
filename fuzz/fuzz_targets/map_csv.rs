//! Fuzzes map files: any bytes as a CSV map file through the RFC 4180 reader,
//! the map builder and the rendering of its diagnostics must end in a map or
//! diagnostics, never a panic or a hang; a map that builds finds every key
//! the reader read.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use switchyard::config::compile::map_build;
use switchyard::config::csv::CsvReader;
use switchyard::config::{Report, SourceMap};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut out = Vec::new();
    let map = map_build::from_csv("fuzz", text, 0, &mut out);
    if let Some(map) = &map {
        for record in CsvReader::new(text).flatten() {
            if let [key, _] = record.fields.as_slice() {
                assert!(map.contains(&key.value), "key {:?} lost", key.value);
            }
        }
    } else {
        assert!(!out.is_empty(), "a refused map file says why");
    }
    let sources = Arc::new(SourceMap::single("redirects.csv", text.to_owned()));
    let _ = Report::new(sources, out).render(false);
});
