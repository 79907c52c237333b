//! Log rotation by renaming: `access.log` → `access.log.1` → … → `.24`, the
//! oldest dropped; the server then reopens the names it writes to.

use std::io;
use std::path::Path;

/// The log files the server writes, both rotated.
pub(crate) const LOG_FILES: [&str; 2] = ["access.log", "error.log"];
/// How many rotated generations are kept.
pub(crate) const KEEP: u32 = 24;

/// Shifts `NAME.1`…`NAME.23` up by one (dropping `.24`) and renames `NAME` to
/// `NAME.1`, for each log file present in `dir`.
pub(crate) fn rotate(dir: &Path) -> io::Result<()> {
    for name in LOG_FILES {
        let current = dir.join(name);
        if !current.exists() {
            continue;
        }
        for index in (1..KEEP).rev() {
            let from = dir.join(format!("{name}.{index}"));
            if from.exists() {
                std::fs::rename(&from, dir.join(format!("{name}.{}", index + 1)))?;
            }
        }
        std::fs::rename(&current, dir.join(format!("{name}.1")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_twenty_four() {
        let dir = std::env::temp_dir().join(format!("switchyard-rot-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        for round in 0..30 {
            std::fs::write(dir.join("access.log"), format!("{round}\n")).expect("write");
            rotate(&dir).expect("rotate");
        }
        assert!(!dir.join("access.log").exists());
        assert_eq!(
            std::fs::read_to_string(dir.join("access.log.1")).expect("1"),
            "29\n"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("access.log.24")).expect("24"),
            "6\n"
        );
        assert!(!dir.join("access.log.25").exists());
        assert!(!dir.join("error.log.1").exists());
    }
}
