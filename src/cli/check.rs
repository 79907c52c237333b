//! `switchyard check [DIR]`: `validate` for people — the same diagnostics,
//! plus warnings (unreachable rules, redirect loops), the `*.test` files run
//! as `validate` runs them, and a summary line.

use std::process::ExitCode;

use clap::Args;

use super::ConfigDirArg;
use crate::config::{self, LoadError};
use crate::suite;

/// Arguments of `switchyard check`.
#[derive(Debug, Args)]
#[command(
    after_help = "Check DIR/proxy.conf like `validate`, and also show warnings: a rule that can \
never fire because an unconditional `redirect`/`respond` stands above it, and a redirect whose \
target satisfies its own rule's condition (a loop). Then run DIR/*.test as `validate` does: \
a failing test is an error.\n\n\
Diagnostics and warnings go to stderr; when the file is valid a one-line summary \
(`proxy.conf: 6 rules, 0 warnings`) goes to stdout.\n\
Exit 0 when valid (warnings do not fail), 1 when invalid, 2 when unreadable."
)]
pub(crate) struct CheckArgs {
    /// The directory holding proxy.conf.
    #[command(flatten)]
    pub(crate) config: ConfigDirArg,
}

/// Exit codes as `validate`'s, so a person's check and the hook agree.
pub(crate) fn run(args: CheckArgs) -> ExitCode {
    let color = config::stderr_wants_color();
    match config::load_dir(&args.config.dir) {
        Ok(compiled) => {
            if !compiled.warnings.is_empty() {
                eprint!("{}", compiled.warnings.render(color));
            }
            let gate = match suite::gate(&compiled.rule_set, &args.config.dir) {
                Ok(gate) => gate,
                Err(error) => {
                    eprintln!("switchyard check: {error}");
                    return ExitCode::from(2);
                }
            };
            if !gate.passed() {
                eprint!("{}", suite::render(&gate.reports, color));
                let count: usize = gate.reports.iter().map(|report| report.len()).sum();
                eprintln!("*.test: {count} {}", plural(count, "error", "errors"));
                return ExitCode::from(1);
            }
            let mut line = summary(compiled.rule_set.rules.len(), compiled.warnings.len());
            if gate.tests > 0 {
                line.push_str(&format!("; {}", tests_summary(gate.tests)));
            }
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(LoadError::Invalid(invalid)) => {
            eprint!("{}", invalid.render(color));
            let count = invalid.diagnostics().len();
            eprintln!(
                "{}: {count} {}",
                config::CONFIG_FILE,
                plural(count, "error", "errors")
            );
            ExitCode::from(1)
        }
        Err(error @ LoadError::Io { .. }) => {
            eprintln!("switchyard check: {error}");
            ExitCode::from(2)
        }
    }
}

/// The summary line of a valid file.
pub(crate) fn summary(rules: usize, warnings: usize) -> String {
    format!(
        "{}: {rules} {}, {warnings} {}",
        config::CONFIG_FILE,
        plural(rules, "rule", "rules"),
        plural(warnings, "warning", "warnings")
    )
}

/// The tests' part of a valid directory's summary: `3 tests passed`.
pub fn tests_summary(tests: usize) -> String {
    format!("{tests} {} passed", plural(tests, "test", "tests"))
}

fn plural<'a>(count: usize, one: &'a str, many: &'a str) -> &'a str {
    if count == 1 { one } else { many }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_in_words() {
        assert_eq!(summary(6, 0), "proxy.conf: 6 rules, 0 warnings");
        assert_eq!(summary(1, 1), "proxy.conf: 1 rule, 1 warning");
        assert_eq!(tests_summary(3), "3 tests passed");
        assert_eq!(tests_summary(1), "1 test passed");
    }
}
