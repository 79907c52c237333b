//! `switchyard test [DIR]`: runs the config's `*.test` files for people and
//! CI (spec §16, contract §5): one line a test, failures in detail, the
//! `N passed, M failed` line and the rules no test made fire; `--json` for
//! machines. The same suite `validate` runs, on the server's evaluator.

mod json;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Args;

use super::ConfigDirArg;
use crate::config::{self, LoadError};
use crate::rules::RuleSet;
use crate::suite::{self, Run, Suite};

/// Arguments of `switchyard test`.
#[derive(Debug, Args)]
#[command(
    after_help = "Compile DIR/proxy.conf and run the tests in every DIR/*.test file against it, \
on the server's own evaluator, with no network: the next hop's answer is what each test's \
`upstream` lines say.\n\n\
Prints one line a test, then each failure in detail (what was expected, what happened, which \
rules fired), then `N passed, M failed` and the rules that no test made fire.\n\n\
Exit 0 when every test passes (also when there is none); 1 when a test fails, a .test file has \
an error or the configuration does not compile (its diagnostics on stderr); 2 when a file \
cannot be read.\n\n\
--json prints one JSON object instead, for CI systems."
)]
pub(crate) struct TestArgs {
    /// The directory holding proxy.conf and the .test files.
    #[command(flatten)]
    pub(crate) config: ConfigDirArg,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Runs the command.
pub(crate) fn run(args: TestArgs) -> ExitCode {
    let dir = &args.config.dir;
    let compiled = match config::load_dir(dir) {
        Ok(compiled) => compiled,
        Err(LoadError::Invalid(invalid)) => {
            eprint!("{}", invalid.render(config::stderr_wants_color()));
            if args.json {
                println!("{}", json::config_invalid(&invalid.report));
            }
            return ExitCode::from(1);
        }
        Err(error @ LoadError::Io { .. }) => {
            eprintln!("switchyard test: {error}");
            return ExitCode::from(2);
        }
    };
    let sources = match suite::read_dir(dir) {
        Ok(sources) => sources,
        Err(error) => {
            eprintln!("switchyard test: {error}");
            return ExitCode::from(2);
        }
    };
    let suite = Suite::load(sources);
    let served = compiled.rule_set.prepare();
    let run = suite::run(&served, &suite);
    if args.json {
        println!("{}", json::report(&suite, &run, &served));
    } else {
        if !suite.faults.is_empty() {
            eprint!(
                "{}",
                suite::render(&suite.faults, config::stderr_wants_color())
            );
        }
        print!("{}", text(&suite, &run, &served, stdout_wants_color()));
    }
    let (_, failed) = run.counts();
    if failed == 0 && suite.faults.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The report for people: a line a test, failures, counts, unfired rules.
pub(crate) fn text(suite: &Suite, run: &Run, rule_set: &RuleSet, color: bool) -> String {
    let mut out = String::new();
    let width = run
        .cases
        .iter()
        .filter_map(|result| suite.files.get(result.file).map(|file| (result, file)))
        .filter_map(|(result, file)| {
            file.cases
                .get(result.case)
                .map(|case| file.position(case.name_span).len())
        })
        .max()
        .unwrap_or(0);
    for result in &run.cases {
        let Some(file) = suite.files.get(result.file) else {
            continue;
        };
        let Some(case) = file.cases.get(result.case) else {
            continue;
        };
        let verdict = if result.passed() { "ok  " } else { "FAIL" };
        let at = file.position(case.name_span);
        out.push_str(&format!("{verdict}  {at:<width$}  {}\n", case.name));
    }
    let reports = run.reports(suite, rule_set);
    if !reports.is_empty() {
        out.push_str("\nfailures:\n\n");
        out.push_str(&suite::render(&reports, color));
    }
    let (passed, failed) = run.counts();
    if !run.cases.is_empty() {
        out.push('\n');
    }
    out.push_str(&format!("{passed} passed, {failed} failed\n"));
    if !rule_set.rules.is_empty() {
        let unfired: Vec<&str> = run
            .unfired
            .iter()
            .filter_map(|&at| rule_set.rules.get(at).map(|rule| rule.name.as_str()))
            .collect();
        if unfired.is_empty() {
            out.push_str("every rule fired in at least one test\n");
        } else {
            out.push_str(&format!(
                "rules no test made fire ({}): {}\n",
                unfired.len(),
                unfired.join(", ")
            ));
        }
    }
    out
}

/// Whether stdout should get colour: a terminal, and `NO_COLOR` not set.
fn stdout_wants_color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
