//! Diagnostics as data: one type for every fault and warning `proxy.conf` can
//! have, a stable code per fault, the message apart from where it points.

use std::fmt;

use super::span::Span;

/// The stable identity of a fault: users search for it, docs list it, tests
/// and tools match on it. Never renumber or rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// The grammar could not read the file.
    Syntax,
    /// `=` written where `==` was meant.
    SingleEquals,
    /// A string in single quotes.
    SingleQuotes,
    /// A string that runs to the end of its line.
    UnterminatedString,
    /// A `{` that is never closed, or a block that runs into the next one.
    MissingBrace,
    /// An action keyword that does not exist.
    UnknownAction,
    /// The file is not UTF-8.
    NotUtf8,
    /// The file is larger than the cap.
    FileTooLarge,
    /// Parentheses or `not` nested beyond the cap.
    TooDeep,
    /// A rule name that breaks the naming rule.
    InvalidRuleName,
    /// Two rules with one name.
    DuplicateRule,
    /// A rule with no action.
    NoAction,
    /// Two `when` lines in one rule.
    DuplicateWhen,
    /// `when` after an action.
    WhenNotFirst,
    /// Two terminal actions in one rule.
    DuplicateTerminal,
    /// An action after the terminal one.
    ActionAfterTerminal,
    /// A field name that does not exist.
    UnknownField,
    /// `header`, `cookie` or `arg` without its `("name")`, or a plain field with one.
    FieldArgument,
    /// `exists` on a field other than `header`, `cookie`, `arg`.
    ExistsOnPlainField,
    /// `in []`.
    EmptyList,
    /// A list where one string belongs, or one string where a list belongs.
    ValueShape,
    /// A regex the regex crate refuses.
    InvalidRegex,
    /// A regex whose compiled form exceeds the size cap.
    RegexTooBig,
    /// A named group that has a field's name.
    GroupShadowsField,
    /// A named group defined by two regexes of one rule.
    DuplicateGroup,
    /// A client_ip value that is not an address or CIDR block.
    InvalidCidr,
    /// A status code of the wrong shape or range.
    InvalidStatus,
    /// A header name that is not an RFC 9110 token.
    InvalidHeaderName,
    /// A header the proxy manages itself.
    ManagedHeader,
    /// CR, LF or NUL in a header value or target.
    HeaderValueLineBreak,
    /// Another control character in a header value.
    InvalidHeaderValue,
    /// `set`/`add` without a value, or `remove` with one.
    HeaderValueArity,
    /// A rewrite target that does not start with `/`.
    RewriteNotAbsolute,
    /// `{name}` that names nothing.
    UnknownTemplateName,
    /// A numbered group where the rule does not have exactly one `~`.
    AmbiguousGroupNumber,
    /// A group that the regex does not have.
    NoSuchGroup,
    /// A group that may not have matched when the rule fires.
    UncertainGroup,
    /// `{` without `}` in a template, or a lone `}`.
    TemplateBrace,
    /// A setting that does not exist.
    UnknownSetting,
    /// A setting given twice.
    DuplicateSetting,
    /// Two `settings` blocks.
    DuplicateSettingsBlock,
    /// A setting value of the wrong type.
    InvalidSettingValue,
    /// A setting value outside its range.
    SettingOutOfRange,
    /// Warning: a rule below an unconditional terminal rule.
    UnreachableRule,
    /// Warning: a redirect whose target satisfies its own condition.
    RedirectLoop,
}

impl Code {
    /// Every code, for documentation and its tests.
    pub const ALL: [Code; 45] = [
        Code::Syntax,
        Code::SingleEquals,
        Code::SingleQuotes,
        Code::UnterminatedString,
        Code::MissingBrace,
        Code::UnknownAction,
        Code::NotUtf8,
        Code::FileTooLarge,
        Code::TooDeep,
        Code::InvalidRuleName,
        Code::DuplicateRule,
        Code::NoAction,
        Code::DuplicateWhen,
        Code::WhenNotFirst,
        Code::DuplicateTerminal,
        Code::ActionAfterTerminal,
        Code::UnknownField,
        Code::FieldArgument,
        Code::ExistsOnPlainField,
        Code::EmptyList,
        Code::ValueShape,
        Code::InvalidRegex,
        Code::RegexTooBig,
        Code::GroupShadowsField,
        Code::DuplicateGroup,
        Code::InvalidCidr,
        Code::InvalidStatus,
        Code::InvalidHeaderName,
        Code::ManagedHeader,
        Code::HeaderValueLineBreak,
        Code::InvalidHeaderValue,
        Code::HeaderValueArity,
        Code::RewriteNotAbsolute,
        Code::UnknownTemplateName,
        Code::AmbiguousGroupNumber,
        Code::NoSuchGroup,
        Code::UncertainGroup,
        Code::TemplateBrace,
        Code::UnknownSetting,
        Code::DuplicateSetting,
        Code::DuplicateSettingsBlock,
        Code::InvalidSettingValue,
        Code::SettingOutOfRange,
        Code::UnreachableRule,
        Code::RedirectLoop,
    ];

    /// The text users see and search for, `switchyard::…`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Syntax => "switchyard::syntax",
            Code::SingleEquals => "switchyard::single_equals",
            Code::SingleQuotes => "switchyard::single_quotes",
            Code::UnterminatedString => "switchyard::unterminated_string",
            Code::MissingBrace => "switchyard::missing_brace",
            Code::UnknownAction => "switchyard::unknown_action",
            Code::NotUtf8 => "switchyard::not_utf8",
            Code::FileTooLarge => "switchyard::file_too_large",
            Code::TooDeep => "switchyard::too_deep",
            Code::InvalidRuleName => "switchyard::invalid_rule_name",
            Code::DuplicateRule => "switchyard::duplicate_rule",
            Code::NoAction => "switchyard::no_action",
            Code::DuplicateWhen => "switchyard::duplicate_when",
            Code::WhenNotFirst => "switchyard::when_not_first",
            Code::DuplicateTerminal => "switchyard::duplicate_terminal",
            Code::ActionAfterTerminal => "switchyard::action_after_terminal",
            Code::UnknownField => "switchyard::unknown_field",
            Code::FieldArgument => "switchyard::field_argument",
            Code::ExistsOnPlainField => "switchyard::exists_on_plain_field",
            Code::EmptyList => "switchyard::empty_list",
            Code::ValueShape => "switchyard::value_shape",
            Code::InvalidRegex => "switchyard::invalid_regex",
            Code::RegexTooBig => "switchyard::regex_too_big",
            Code::GroupShadowsField => "switchyard::group_shadows_field",
            Code::DuplicateGroup => "switchyard::duplicate_group",
            Code::InvalidCidr => "switchyard::invalid_cidr",
            Code::InvalidStatus => "switchyard::invalid_status",
            Code::InvalidHeaderName => "switchyard::invalid_header_name",
            Code::ManagedHeader => "switchyard::managed_header",
            Code::HeaderValueLineBreak => "switchyard::header_value_line_break",
            Code::InvalidHeaderValue => "switchyard::invalid_header_value",
            Code::HeaderValueArity => "switchyard::header_value_arity",
            Code::RewriteNotAbsolute => "switchyard::rewrite_not_absolute",
            Code::UnknownTemplateName => "switchyard::unknown_template_name",
            Code::AmbiguousGroupNumber => "switchyard::ambiguous_group_number",
            Code::NoSuchGroup => "switchyard::no_such_group",
            Code::UncertainGroup => "switchyard::uncertain_group",
            Code::TemplateBrace => "switchyard::template_brace",
            Code::UnknownSetting => "switchyard::unknown_setting",
            Code::DuplicateSetting => "switchyard::duplicate_setting",
            Code::DuplicateSettingsBlock => "switchyard::duplicate_settings_block",
            Code::InvalidSettingValue => "switchyard::invalid_setting_value",
            Code::SettingOutOfRange => "switchyard::setting_out_of_range",
            Code::UnreachableRule => "switchyard::unreachable_rule",
            Code::RedirectLoop => "switchyard::redirect_loop",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a diagnostic stops the file from loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// The file is invalid.
    Error,
    /// Shown by `check` only; the file still loads.
    Warning,
}

/// A span with the words that go under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// Where, in bytes of the file.
    pub span: Span,
    /// What is wrong or notable there.
    pub text: String,
}

/// One fault or warning, ready to render against the file it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The stable code.
    pub code: Code,
    /// Error or warning.
    pub level: Level,
    /// One line saying what is wrong, without position.
    pub message: String,
    /// The exact place (absent only for whole-file faults).
    pub primary: Option<Label>,
    /// Other places that matter ("first defined here").
    pub related: Vec<Label>,
    /// How to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error pointing at one span.
    pub fn error(
        code: Code,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> Self {
        Diagnostic {
            code,
            level: Level::Error,
            message: message.into(),
            primary: Some(Label {
                span,
                text: label.into(),
            }),
            related: Vec::new(),
            help: None,
        }
    }

    /// An error about the whole file, with no place to point at.
    pub fn whole_file(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            level: Level::Error,
            message: message.into(),
            primary: None,
            related: Vec::new(),
            help: None,
        }
    }

    /// Turns the diagnostic into a warning.
    pub fn warning(mut self) -> Self {
        self.level = Level::Warning;
        self
    }

    /// Adds the fix.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a second place that matters.
    pub fn with_related(mut self, span: Span, text: impl Into<String>) -> Self {
        self.related.push(Label {
            span,
            text: text.into(),
        });
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// "did you mean `x`?" for the closest candidate, when one is close enough.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let word_lower = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|candidate| {
            (
                strsim::jaro_winkler(&word_lower, &candidate.to_ascii_lowercase()),
                candidate,
            )
        })
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| format!("did you mean `{candidate}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let fields = ["path", "host", "query"];
        assert_eq!(
            did_you_mean("paht", fields).as_deref(),
            Some("did you mean `path`?")
        );
        assert_eq!(
            did_you_mean("Host", fields).as_deref(),
            Some("did you mean `host`?")
        );
        assert_eq!(did_you_mean("zebra", fields), None);
    }

    #[test]
    fn codes_are_namespaced() {
        assert_eq!(Code::UnknownField.to_string(), "switchyard::unknown_field");
        assert_eq!(Code::RedirectLoop.as_str(), "switchyard::redirect_loop");
    }
}
