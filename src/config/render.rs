//! Diagnostics drawn for people: miette's graphical report, plain ASCII so it
//! survives git's `remote: ` prefix, colour only for a terminal. Each
//! diagnostic is drawn against the file its primary span falls in; a related
//! place in another file is drawn after it, against that file.

use std::fmt;
use std::io::IsTerminal;
use std::sync::Arc;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, Severity, SourceCode,
    ThemeCharacters, ThemeStyles,
};

use super::diagnostic::{Diagnostic, Label, Level};
use super::sources::{SourceFile, SourceMap};
use super::span::Span;

/// Lines are wrapped to fit an 80-column terminal after git's `remote: `.
pub const RENDER_WIDTH: usize = 72;

/// Diagnostics together with the files they point into.
#[derive(Debug, Clone)]
pub struct Report {
    sources: Arc<SourceMap>,
    diagnostics: Vec<Diagnostic>,
}

impl Report {
    /// Bundles diagnostics with the config's files.
    pub fn new(sources: Arc<SourceMap>, diagnostics: Vec<Diagnostic>) -> Self {
        Report {
            sources,
            diagnostics,
        }
    }

    /// The files the diagnostics point into.
    pub fn sources(&self) -> &SourceMap {
        &self.sources
    }

    /// The diagnostics, in file order.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// The name of the first file the diagnostics point into (the only
    /// one for a `.test` file's report).
    pub fn source_name(&self) -> &str {
        self.sources.root().map_or("", |file| file.name.as_str())
    }

    /// The text of that file.
    pub fn source_text(&self) -> &str {
        self.sources.root().map_or("", |file| file.text.as_str())
    }

    /// How many there are.
    pub fn len(&self) -> usize {
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
        let mut text = String::new();
        for diagnostic in &self.diagnostics {
            let drawable = Drawable::of(diagnostic, &self.sources);
            let mut one = String::new();
            if handler.render_report(&mut one, &drawable).is_err() {
                one = format!("{}: {}\n", drawable.file_name(), diagnostic);
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
pub fn stderr_wants_color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// One diagnostic seen through miette's protocol, its labels moved into
/// the offsets of the file it is drawn against.
struct Drawable<'a> {
    diagnostic: &'a Diagnostic,
    /// The file drawn against (none for a config without files).
    source: Option<NamedSource<String>>,
    /// The labels in that file, in its own offsets; the first is primary.
    labels: Vec<(Label, bool)>,
    /// Places in other files, each drawn after this one against its file.
    elsewhere: Vec<Drawable<'a>>,
    /// Whether this is one of those places (no code, no help of its own).
    nested: bool,
}

impl<'a> Drawable<'a> {
    fn of(diagnostic: &'a Diagnostic, sources: &SourceMap) -> Self {
        let anchor = diagnostic
            .primary
            .iter()
            .chain(&diagnostic.related)
            .next()
            .map(|label| label.span.start);
        let home = anchor
            .and_then(|at| sources.locate(at))
            .or_else(|| sources.root());
        let mut labels = Vec::new();
        let mut elsewhere: Vec<Drawable<'a>> = Vec::new();
        let tagged = diagnostic
            .primary
            .iter()
            .map(|label| (label, true))
            .chain(diagnostic.related.iter().map(|label| (label, false)));
        for (label, primary) in tagged {
            match sources.locate(label.span.start) {
                Some(file) if home.is_some_and(|home| Arc::ptr_eq(home, file)) => {
                    labels.push((local(label, file), primary));
                }
                Some(file) => {
                    let existing = elsewhere.iter_mut().find(|other| {
                        other
                            .source
                            .as_ref()
                            .is_some_and(|source| source.name() == file.name)
                    });
                    match existing {
                        Some(other) => other.labels.push((local(label, file), true)),
                        None => elsewhere.push(Drawable {
                            diagnostic,
                            source: Some(named(file)),
                            labels: vec![(local(label, file), true)],
                            elsewhere: Vec::new(),
                            nested: true,
                        }),
                    }
                }
                None => {}
            }
        }
        Drawable {
            diagnostic,
            source: home.map(|file| named(file)),
            labels,
            elsewhere,
            nested: false,
        }
    }

    fn file_name(&self) -> &str {
        self.source
            .as_ref()
            .map_or("proxy.conf", |source| source.name())
    }
}

fn named(file: &SourceFile) -> NamedSource<String> {
    NamedSource::new(&file.name, file.text.clone())
}

fn local(label: &Label, file: &SourceFile) -> Label {
    Label {
        span: Span::new(
            label.span.start.saturating_sub(file.base),
            label.span.end.saturating_sub(file.base),
        ),
        text: label.text.clone(),
    }
}

impl fmt::Debug for Drawable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.diagnostic, f)
    }
}

impl fmt::Display for Drawable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nested {
            write!(f, "see also {}", self.file_name())
        } else {
            f.write_str(&self.diagnostic.message)
        }
    }
}

impl std::error::Error for Drawable<'_> {}

impl miette::Diagnostic for Drawable<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        (!self.nested).then(|| Box::new(self.diagnostic.code) as Box<dyn fmt::Display + 'b>)
    }

    fn severity(&self) -> Option<Severity> {
        Some(match (self.nested, self.diagnostic.level) {
            (true, _) => Severity::Advice,
            (false, Level::Error) => Severity::Error,
            (false, Level::Warning) => Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        if self.nested {
            return None;
        }
        self.diagnostic
            .help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display + 'b>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|source| source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            return None;
        }
        Some(Box::new(self.labels.iter().map(|(label, primary)| {
            if *primary {
                LabeledSpan::new_primary_with_span(Some(label.text.clone()), label.span)
            } else {
                LabeledSpan::new_with_span(Some(label.text.clone()), label.span)
            }
        })))
    }

    fn related<'b>(&'b self) -> Option<Box<dyn Iterator<Item = &'b dyn miette::Diagnostic> + 'b>> {
        if self.elsewhere.is_empty() {
            return None;
        }
        Some(Box::new(
            self.elsewhere
                .iter()
                .map(|other| other as &dyn miette::Diagnostic),
        ))
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
