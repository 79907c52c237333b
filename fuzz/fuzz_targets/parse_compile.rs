//! Fuzzes the whole config front end: any bytes through parse, analysis,
//! compilation, warnings and rendering must end in Ok or diagnostics, never
//! a panic, a stack overflow or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard::config::{CONFIG_FILE, compile_source};

fuzz_target!(|data: &[u8]| {
    match compile_source(CONFIG_FILE, data) {
        Ok(compiled) => {
            let _ = compiled.warnings.render(false);
        }
        Err(invalid) => {
            let _ = invalid.render(false);
        }
    }
});
