//! Diagnostics drawn for people: miette's graphical report, plain ASCII so it
//! survives git's `remote: ` prefix, colour only for a terminal.

use std::fmt;
use std::io::IsTerminal;
use std::sync::Arc;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, Severity, SourceCode,
    ThemeCharacters, ThemeStyles,
};

use super::diagnostic::{Diagnostic, Level};

/// Lines are wrapped to fit an 80-column terminal after git's `remote: `.
pub(crate) const RENDER_WIDTH: usize = 72;

/// The text a diagnostic is drawn against.
#[derive(Debug)]
pub struct SourceFile {
    /// The name shown in reports (`proxy.conf`).
    pub(crate) name: String,
    /// The text (for a non-UTF-8 file, with the bad bytes replaced).
    pub(crate) text: String,
}

/// Diagnostics together with the file they point into.
#[derive(Debug, Clone)]
pub struct Report {
    source: Arc<SourceFile>,
    diagnostics: Vec<Diagnostic>,
}

impl Report {
    /// Bundles diagnostics with their file.
    pub(crate) fn new(source: Arc<SourceFile>, diagnostics: Vec<Diagnostic>) -> Self {
        Report {
            source,
            diagnostics,
        }
    }

    /// The diagnostics, in file order.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// The name of the file the diagnostics point into.
    pub fn source_name(&self) -> &str {
        &self.source.name
    }

    /// The text of that file.
    pub fn source_text(&self) -> &str {
        &self.source.text
    }

    /// How many there are.
    pub(crate) fn len(&self) -> usize {
        self.diagnostics.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.diagnostics.is_empty()
    }

    /// Every diagnostic drawn with carets, separated by blank lines.
    pub fn render(&self, color: bool) -> String {
        let styles = if color {
            ThemeStyles::ansi()
        } else {
            ThemeStyles::none()
        };
        let handler = GraphicalReportHandler::new_themed(GraphicalTheme {
            characters: ThemeCharacters::ascii(),
            styles,
        })
        .with_links(false)
        .with_urls(false)
        .with_width(RENDER_WIDTH)
        .with_word_splitter(textwrap::WordSplitter::NoHyphenation)
        .with_word_separator(textwrap::WordSeparator::AsciiSpace);
        let named = NamedSource::new(&self.source.name, self.source.text.clone());
        let mut text = String::new();
        for diagnostic in &self.diagnostics {
            let drawable = Drawable {
                diagnostic,
                source: &named,
            };
            let mut one = String::new();
            if handler.render_report(&mut one, &drawable).is_err() {
                one = format!("{}: {}\n", self.source.name, diagnostic);
            }
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(one.trim_end());
            text.push('\n');
        }
        text
    }
}

impl<'a> IntoIterator for &'a Report {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.diagnostics.iter()
    }
}

/// Whether stderr should get colour: a terminal, and `NO_COLOR` not set.
pub(crate) fn stderr_wants_color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// One diagnostic seen through miette's protocol.
struct Drawable<'a> {
    diagnostic: &'a Diagnostic,
    source: &'a NamedSource<String>,
}

impl fmt::Debug for Drawable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.diagnostic, f)
    }
}

impl fmt::Display for Drawable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for Drawable<'_> {}

impl miette::Diagnostic for Drawable<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.diagnostic.code))
    }

    fn severity(&self) -> Option<Severity> {
        Some(match self.diagnostic.level {
            Level::Error => Severity::Error,
            Level::Warning => Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display + 'b>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let primary =
            self.diagnostic.primary.iter().map(|label| {
                LabeledSpan::new_primary_with_span(Some(label.text.clone()), label.span)
            });
        let related = self
            .diagnostic
            .related
            .iter()
            .map(|label| LabeledSpan::new_with_span(Some(label.text.clone()), label.span));
        let labels: Vec<LabeledSpan> = primary.chain(related).collect();
        if labels.is_empty() {
            None
        } else {
            Some(Box::new(labels.into_iter()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{CONFIG_FILE, compile_source};

    fn rendered(color: bool) -> String {
        match compile_source(
            CONFIG_FILE,
            b"rule a {\n  when paht == \"/\"\n  respond 200\n}\n",
        ) {
            Ok(_) => panic!("compiled"),
            Err(invalid) => invalid.render(color),
        }
    }

    #[test]
    fn plain_rendering_is_ascii_without_escapes() {
        let text = rendered(false);
        assert!(text.is_ascii(), "{text}");
        assert!(!text.contains('\u{1b}'));
        assert!(text.contains("[proxy.conf:2:8]"), "{text}");
        assert!(text.contains("^^|^"), "{text}");
    }

    #[test]
    fn colour_is_only_added_on_request() {
        assert!(rendered(true).contains('\u{1b}'));
        // Never hyperlinks (OSC 8), even with colour.
        assert!(!rendered(true).contains("\u{1b}]8;"));
    }
}
