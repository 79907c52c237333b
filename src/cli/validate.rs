//! `switchyard validate [DIR]`: the git pre-receive hook's check (contract §4).
//! Silent and exit 0 when valid; every diagnostic on stderr and exit 1 when
//! not; a one-line reason and exit 2 when the file cannot be read. After a
//! successful compile it runs the directory's `*.test` files (spec §16): a
//! failing test refuses the push like any other fault.

use std::process::ExitCode;

use clap::Args;

use super::ConfigDirArg;
use crate::config::{self, LoadError};
use crate::suite;

/// Arguments of `switchyard validate`.
#[derive(Debug, Args)]
#[command(
    after_help = "Check DIR/proxy.conf, with the files it includes and its map files, without \
touching the network or a running server.\n\n\
Then run the tests of every DIR/*.test file against the compiled rules.\n\n\
Valid (or no proxy.conf, or no DIR) and every test passing: exit 0 and print nothing.\n\
Invalid, or a test failing: exit 1 and print every diagnostic to stderr, with file, line, \
column and a caret.\n\
Unreadable: exit 2 with a one-line reason.\n\n\
Warnings are not shown; use `switchyard check` for them.\n\
Colour is used only when stderr is a terminal and NO_COLOR is not set."
)]
pub struct ValidateArgs {
    /// The directory holding proxy.conf.
    #[command(flatten)]
    pub config: ConfigDirArg,
}

/// Runs the command.
pub fn run(args: ValidateArgs) -> ExitCode {
    match config::load_dir(&args.config.dir) {
        Ok(compiled) => {
            let gate = suite::gate(&compiled.rule_set, &args.config.dir);
            // The process ends here: freeing a large rule set is wasted work.
            std::mem::forget(compiled);
            match gate {
                Ok(gate) if gate.passed() => ExitCode::SUCCESS,
                Ok(gate) => {
                    eprint!(
                        "{}",
                        suite::render(&gate.reports, config::stderr_wants_color())
                    );
                    ExitCode::from(1)
                }
                Err(error) => {
                    eprintln!("switchyard validate: {error}");
                    ExitCode::from(2)
                }
            }
        }
        Err(LoadError::Invalid(invalid)) => {
            eprint!("{}", invalid.render(config::stderr_wants_color()));
            ExitCode::from(1)
        }
        Err(error @ LoadError::Io { .. }) => {
            eprintln!("switchyard validate: {error}");
            ExitCode::from(2)
        }
    }
}
